"""The staff console's work from the command line:

    python -m bot.staff create-user <name> --role admin|editor|annotator   (asks for the password)
    python -m bot.staff list-users
    python -m bot.staff disable-user <name>      (its open sessions end; never the last active admin)
    python -m bot.staff enable-user <name>
    python -m bot.staff set-password <name>      (asks for the new password; its open sessions end)
    python -m bot.staff train            train a candidate and compare it with the live model
    python -m bot.staff models           the live model, the previous ones, the candidates
    python -m bot.staff promote <job>    load a candidate into the running Rasa server
    python -m bot.staff rollback         put the previous model back
    python -m bot.staff live-model       the path of the live model (for starting Rasa)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from bot.staff import models
from bot.staff.accounts import AccountError, Accounts, Role
from common.dates import local_now
from common.settings import Settings, get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-user", help="add a staff account")
    create.add_argument("username")
    create.add_argument("--role", choices=[r.value for r in Role], required=True)
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sub.add_parser("list-users", help="list staff accounts")
    for name, text in (("disable-user", "disable an account (its sessions end)"), ("enable-user", "re-enable one"),
                       ("set-password", "set a new password for an account (its sessions end)")):
        account = sub.add_parser(name, help=text)
        account.add_argument("username")
        if name == "set-password":
            account.add_argument("--password-stdin", action="store_true", help="read it from standard input")
    sub.add_parser("train", help="train a candidate model and compare it with the live one")
    run_job = sub.add_parser("run-job", help=argparse.SUPPRESS)
    run_job.add_argument("job")
    sub.add_parser("models", help="the live model, the previous ones and the candidates")
    promote = sub.add_parser("promote", help="load a candidate into the running Rasa server")
    promote.add_argument("job")
    sub.add_parser("rollback", help="put the previous model back")
    sub.add_parser("live-model", help="print the path of the live model")
    args = parser.parse_args()
    settings = get_settings()
    if args.command in MODEL_COMMANDS:
        sys.exit(MODEL_COMMANDS[args.command](args, settings))
    accounts = Accounts(settings.staff_db_path, settings.staff_max_failures, settings.staff_lock_minutes)
    if args.command == "list-users":
        for account in accounts.accounts():
            print(f"{account.username}\t{account.role.value}" + ("\tdisabled" if account.disabled_since else ""))
        return
    if args.command in ("disable-user", "enable-user"):
        disabled = args.command == "disable-user"
        try:
            accounts.set_disabled(CLI_ACTOR, args.username, disabled, local_now())
        except AccountError as exc:
            sys.exit(str(exc))
        print(f"Đã {'khóa' if disabled else 'mở khóa'} tài khoản {args.username}.")
        if disabled:
            _end_sessions(settings, args.username)
        return
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            sys.exit("Hai lần nhập mật khẩu không khớp.")
    if args.command == "set-password":
        try:
            accounts.set_password(CLI_ACTOR, args.username, password, local_now())
        except AccountError as exc:
            sys.exit(str(exc))
        print(f"Đã đặt mật khẩu mới cho tài khoản {args.username}.")
        _end_sessions(settings, args.username)
        return
    try:
        staff = accounts.create(args.username, password, Role(args.role), local_now())
    except AccountError as exc:
        sys.exit(str(exc))
    print(f"Đã tạo tài khoản {staff.username} ({staff.role.value}).")


CLI_ACTOR = "(dòng lệnh)"  # who the audit names for a change made on the command line


def _end_sessions(settings: Settings, username: str) -> None:
    """End the account's open console sessions (they live in Redis)."""
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    from bot.staff.sessions import Sessions

    async def end() -> int:
        client = aioredis.from_url(settings.redis_url)
        try:
            return await Sessions(client, int(settings.staff_session_hours * 3600),
                                  int(settings.staff_session_max_hours * 3600)).end_all(username)
        finally:
            await client.close()

    try:
        ended = asyncio.run(end())
    except (RedisError, OSError):
        sys.exit("Không kết nối được Redis: các phiên đăng nhập đang mở của tài khoản chưa kết thúc; "
                 "chạy lại lệnh khi Redis hoạt động.")
    print(f"Đã kết thúc {ended} phiên đăng nhập đang mở.")


def _train(args: argparse.Namespace, settings: Settings) -> int:
    """Start a job like the console's button, and follow it with a progress bar."""
    import redis.asyncio as aioredis

    async def follow() -> models.Job | None:
        client = aioredis.from_url(settings.redis_url)
        try:
            job = await models.start_job(client, "cli")
            while job is not None and job.public()["state"] not in ("done", "failed"):
                print(f"\r[{'#' * int(job.progress * 30):<30}] {job.progress:4.0%} {job.message:<60}", end="",
                      flush=True)
                await asyncio.sleep(1)
                job = await models.get_job(client, job.id)
            print()
            return job
        finally:
            await client.close()

    job = asyncio.run(follow())
    if job is None:
        print("Một lượt huấn luyện khác đang chạy.", file=sys.stderr)
        return 1
    if job.public()["state"] == "failed":
        print(f"Huấn luyện thất bại: {job.public()['error']} (nhật ký: var/training-{job.id}.log)", file=sys.stderr)
        return 1
    _print_report(models.Registry.from_settings(settings).report(job.id) or {})
    print(f"Đưa vào sử dụng: python -m bot.staff promote {job.id}")
    return 0


def _run_job(args: argparse.Namespace, settings: Settings) -> int:
    import redis

    return 0 if models.run_job(args.job, settings, redis.Redis.from_url(settings.redis_url)) is not None else 1


def _print_report(report: dict) -> None:
    live, cand = report["live"], report["candidate"]
    print(f"{'':<22}{'đang chạy':>12}{'ứng viên':>12}")
    for name, key in (("độ chính xác", "accuracy"), ("không dấu", "plain_accuracy"), ("ngoài phạm vi", "out_of_scope")):
        print(f"{name:<22}{live[key]:>12.3f}{cand[key]:>12.3f}")
    for intent in sorted(cand["f1"]):
        print(f"  F1 {intent:<19}{live['f1'].get(intent, 0):>12.3f}{cand['f1'][intent]:>12.3f}")
    print(f"mới đúng: {len(report['fixed'])}, mới sai: {len(report['broken'])} (trên {report['examples']} câu)")
    for row in report["broken"]:
        print(f"  mới sai: {row['text']} ({row['expected']} -> {row['candidate']})")


def _models(args: argparse.Namespace, settings: Settings) -> int:
    registry = models.Registry.from_settings(settings)
    print(f"đang chạy: {registry.live()}")
    for path in registry.previous():
        print(f"trước đó:  {path}")
    for report in registry.reports():
        print(f"ứng viên {report['job']}: độ chính xác {report['candidate']['accuracy']:.3f} "
              f"(đang chạy {report['live']['accuracy']:.3f})")
    return 0


def _change(args: argparse.Namespace, settings: Settings) -> int:
    import redis.asyncio as aioredis

    async def change():
        client = aioredis.from_url(settings.redis_url)
        try:
            if args.command == "promote":
                return await models.promote(client, settings, args.job, "cli")
            return await models.rollback(client, settings, "cli")
        finally:
            await client.close()

    try:
        model = asyncio.run(change())
    except models.ModelError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"Mô hình đang chạy: {model}")
    return 0


def _live_model(args: argparse.Namespace, settings: Settings) -> int:
    print(models.Registry.from_settings(settings).live())
    return 0


MODEL_COMMANDS = {"train": _train, "run-job": _run_job, "models": _models, "promote": _change,
                  "rollback": _change, "live-model": _live_model}


if __name__ == "__main__":
    main()
