"""Staff accounts from the command line:

    python -m bot.staff create-user <name> --role admin|annotator   (asks for the password)
    python -m bot.staff list-users
"""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.staff.accounts import AccountError, Accounts, Role
from common.dates import local_now
from common.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-user", help="add a staff account")
    create.add_argument("username")
    create.add_argument("--role", choices=[r.value for r in Role], required=True)
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    sub.add_parser("list-users", help="list staff accounts")
    args = parser.parse_args()
    settings = get_settings()
    accounts = Accounts(settings.staff_db_path, settings.staff_max_failures, settings.staff_lock_minutes)
    if args.command == "list-users":
        for staff in accounts.list():
            print(f"{staff.username}\t{staff.role.value}")
        return
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Mật khẩu: ")
        if getpass.getpass("Nhập lại mật khẩu: ") != password:
            sys.exit("Hai lần nhập mật khẩu không khớp.")
    try:
        staff = accounts.create(args.username, password, Role(args.role), local_now())
    except AccountError as exc:
        sys.exit(str(exc))
    print(f"Đã tạo tài khoản {staff.username} ({staff.role.value}).")


if __name__ == "__main__":
    main()
