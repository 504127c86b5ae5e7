"""The stack as `make run` starts it (the Procfile under honcho, .env from scripts/init_env.py):
only loopback listens, every internal wants its credential, no secret on a command line, nothing
personal in the logs (issue 15: H1, H2, M1, M2, M8)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from aiohttp import web

from scripts import init_env
from tests.conftest import ROOT, Conversation, free_port

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
PHONE, ID_NUMBER, NAME = "0905123456", "048092001234", "Trần Thị Bích Ngọc"


class Fakes:
    """The Telegram Bot API and Zalo OA API stand-ins (tests/fakes), served from a thread of their own."""

    TELEGRAM_TOKEN = "123456789:AAH-fake-token-for-the-privacy-test-x"

    def __init__(self) -> None:
        from tests.fakes.telegram_api import FakeTelegram
        from tests.fakes.zalo_api import FakeZalo

        self.telegram, self.zalo = FakeTelegram(self.TELEGRAM_TOKEN), FakeZalo()
        self.ports = {"telegram": free_port(), "zalo": free_port()}
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        assert self._ready.wait(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        for name, app in (("telegram", self.telegram.app()), ("zalo", self.zalo.app())):
            runner = web.AppRunner(app)
            self.loop.run_until_complete(runner.setup())
            self.loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.ports[name]).start())
        self._ready.set()
        self.loop.run_forever()

    def call(self, fn, *args):
        """Run a fake's method on its loop (their events belong to it)."""
        return asyncio.run_coroutine_threadsafe(_call(fn, *args), self.loop).result(10)

    def settings(self) -> dict[str, str]:
        from tests.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET

        zalo = f"http://127.0.0.1:{self.ports['zalo']}"
        return {"TELEGRAM_TOKEN": self.TELEGRAM_TOKEN, "TELEGRAM_API_URL": f"http://127.0.0.1:{self.ports['telegram']}",
                "ZALO_APP_ID": APP_ID, "ZALO_OA_SECRET_KEY": OA_SECRET, "ZALO_APP_SECRET_KEY": APP_SECRET,
                "ZALO_ACCESS_TOKEN": "access-1", "ZALO_REFRESH_TOKEN": "refresh-1",
                "ZALO_API_URL": zalo, "ZALO_OAUTH_URL": zalo}


async def _call(fn, *args):
    return fn(*args)


@dataclass
class RunStack:
    proc: subprocess.Popen
    env: dict[str, str]
    work: Path
    log: Path
    fakes: Fakes

    def url(self, port_var: str) -> str:
        return f"http://127.0.0.1:{self.env[port_var]}"

    def pids(self) -> list[int]:
        """Every process of the stack: honcho and its descendants."""
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except OSError:
                    continue
        tree = {self.proc.pid}
        while grown := {pid for pid, parent in parents.items() if parent in tree} - tree:
            tree |= grown
        return sorted(tree)


def _env_text(example: str, values: dict[str, str]) -> str:
    lines = []
    for line in example.splitlines():
        name = line.split("=", 1)[0]
        lines.append(f"{name}={values.pop(name)}" if "=" in line and name in values else line)
    return "\n".join(lines + [f"{k}={v}" for k, v in values.items()]) + "\n"


@pytest.fixture(scope="module")
def run_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunStack]:
    work = tmp_path_factory.mktemp("make-run")
    var = work / "var"
    ports = {n: str(free_port()) for n in ("REDIS_PORT", "DOSSIER_API_PORT", "RASA_PORT", "ACTION_SERVER_PORT",
                                           "CHAT_PORT", "SMS_SMSC_PORT", "SMS_SIM_CONTROL_PORT", "SMS_HTTP_PORT",
                                           "SMS_WORKER_HTTP_PORT")}
    overrides = {
        **ports,
        "VAR_DIR": str(var),
        "REDIS_URL": f"redis://127.0.0.1:{ports['REDIS_PORT']}/0",
        "DOSSIER_API_URL": f"http://127.0.0.1:{ports['DOSSIER_API_PORT']}",
        "DOSSIER_DB_PATH": str(var / "dossiers.sqlite3"),
        "RASA_URL": f"http://127.0.0.1:{ports['RASA_PORT']}",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['ACTION_SERVER_PORT']}/webhook",
        "DOSSIER_EVENTS_WEBHOOK_URL": f"http://127.0.0.1:{ports['CHAT_PORT']}/webhooks/dossier-events",
        "SMS_SIM_CONTROL_URL": f"http://127.0.0.1:{ports['SMS_SIM_CONTROL_PORT']}",
        "STAFF_DB_PATH": str(var / "staff.sqlite3"),
        "NLU_DATA_DIR": str(work / "nlu_inbox"),
        "MODELS_DIR": str(work / "models"),
        "HANDOFF_HOURS": "",
    }
    fakes = Fakes()
    overrides.update(fakes.settings())
    env_file = work / ".env"
    env_file.write_text(_env_text((ROOT / ".env.example").read_text(encoding="utf-8"), overrides), encoding="utf-8")
    init_env.main(["--env", str(env_file), "--var", str(var)])  # what `make run` does first
    env = init_env.read_env(env_file.read_text(encoding="utf-8"))
    log = work / "honcho.log"
    # `make run`: umask 077 && honcho start -f Procfile (with .env)
    proc = subprocess.Popen(
        ["sh", "-c", f"umask 077 && exec {BIN / 'honcho'} start -f Procfile -e {env_file}"],
        cwd=ROOT, env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
        stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    stack = RunStack(proc, env, work, log, fakes)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if requests.get(f"{stack.url('CHAT_PORT')}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        yield stack
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _listening(pids: list[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state held by ``pids``."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for row in Path(table).read_text().splitlines()[1:]:
            cols = row.split()
            address, port = cols[1].split(":")
            if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                found.add((_address(address, width), int(port, 16)))
    return found


def _address(hex_address: str, width: int) -> str:
    if width == 8:
        return ".".join(str(int(hex_address[i:i + 2], 16)) for i in (6, 4, 2, 0))
    words = [hex_address[i:i + 8] for i in range(0, 32, 8)]
    return ":".join("".join(w[j:j + 2] for j in (6, 4, 2, 0)) for w in words)


LOOPBACK = {"127.0.0.1", "00000000:00000000:00000000:01000000".replace(":", "")}


def test_only_loopback_listens_and_only_where_expected(run_stack: RunStack) -> None:
    sockets = _listening(run_stack.pids())
    expected_ports = {int(run_stack.env[n]) for n in ("REDIS_PORT", "DOSSIER_API_PORT", "RASA_PORT",
                                                       "ACTION_SERVER_PORT", "CHAT_PORT", "SMS_SMSC_PORT",
                                                       "SMS_SIM_CONTROL_PORT", "SMS_HTTP_PORT",
                                                       "SMS_WORKER_HTTP_PORT")}
    assert {port for _, port in sockets} == expected_ports, sockets
    public = int(run_stack.env["CHAT_PORT"])  # the chat gateway may face the outside (CHAT_HOST)
    exposed = {(a, p) for a, p in sockets if p != public and a not in ("127.0.0.1", "::1")
               and a.replace(":", "") not in LOOPBACK}
    assert exposed == set()


def test_no_secret_on_any_command_line(run_stack: RunStack) -> None:
    secrets = [run_stack.env[n] for n in init_env.GENERATED]
    assert all(len(s) >= 32 for s in secrets)
    for pid in run_stack.pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        assert not [s for s in secrets if s in cmdline], cmdline.replace("\0", " ")


def test_internals_refuse_callers_without_their_credential(run_stack: RunStack) -> None:
    rasa, actions = run_stack.url("RASA_PORT"), run_stack.url("ACTION_SERVER_PORT")
    api = run_stack.url("DOSSIER_API_PORT")
    speak = {"sender": "sms:84905123456", "message": "HUY"}
    # H1: Rasa's open REST channel is gone; the gateway channel wants the gateways' token.
    assert requests.post(f"{rasa}/webhooks/rest/webhook", json=speak, timeout=10).status_code == 404
    assert requests.post(f"{rasa}/webhooks/gateway/webhook", json=speak, timeout=10).status_code == 401
    forged = {"Authorization": f"Bearer {run_stack.env['RASA_TOKEN']}"}  # the API token is not the channel's
    assert requests.post(f"{rasa}/webhooks/gateway/webhook", json=speak, headers=forged, timeout=10).status_code == 401
    assert requests.get(f"{rasa}/conversations/sms:84905123456/tracker", timeout=10).status_code == 401
    assert requests.post(f"{rasa}/conversations/sms:84905123456/messages", json={"text": "HUY", "sender": "user"},
                         timeout=10).status_code == 401
    # H2: the action server answers only Rasa.
    call = {"next_action": "action_huy_dang_ky", "sender_id": "sms:84905123456", "tracker": {}, "domain": {}}
    assert requests.post(f"{actions}/webhook", json=call, timeout=10).status_code == 401
    assert requests.get(f"{actions}/actions", timeout=10).status_code == 401
    # M2: the dossier API wants a token; staff routes want the staff token.
    assert requests.get(f"{api}/api/v1/dossiers", timeout=10).status_code == 401
    service = {"Authorization": f"Bearer {run_stack.env['DOSSIER_API_TOKEN']}"}
    page = requests.get(f"{api}/api/v1/dossiers", params={"limit": 1}, headers=service, timeout=10)
    assert page.status_code == 200
    code = page.json()["items"][0]["code"]
    assert requests.post(f"{api}/api/v1/dossiers/{code}/status", json={"status": "tu_choi"}, headers=service,
                         timeout=10).status_code == 401
    assert requests.get(f"{api}/api/v1/tickets", headers=service, timeout=10).status_code == 401
    # M8: Redis wants its password.
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=int(run_stack.env["REDIS_PORT"])).ping()


def test_files_with_citizens_data_are_private(run_stack: RunStack) -> None:
    var = Path(run_stack.env["VAR_DIR"])
    private = [run_stack.work / ".env", var / "redis" / "redis.conf", var / "dossiers.sqlite3",
               *(var / "redis").rglob("*.aof*")]
    assert len(private) > 3
    for path in private:
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_a_conversation_with_personal_data_leaves_none_in_logs_and_expires(run_stack: RunStack) -> None:
    chat = Conversation(run_stack.url("CHAT_PORT"))
    say = chat.say

    say(f"tôi tên là {NAME}, số điện thoại {PHONE}, căn cước {ID_NUMBER}")
    # M1: a long procedure question (it made an 8.6 KB query string and a failed action) gets an answer.
    long_question = ("cho tôi hỏi thủ tục cấp giấy phép bán lẻ xăng dầu cần những giấy tờ gì " * 14)[:995]
    assert say(long_question).strip()
    time.sleep(1)  # let every process flush its log lines
    logs = run_stack.log.read_text(errors="replace")
    for secret in (PHONE, ID_NUMBER, NAME, "bán lẻ xăng dầu", *(run_stack.env[n] for n in init_env.GENERATED)):
        assert secret not in logs
    client = redis.Redis(port=int(run_stack.env["REDIS_PORT"]), password=run_stack.env["REDIS_PASSWORD"])
    [key] = client.keys(f"*tracker*web:{chat.session}")
    ttl = client.ttl(key)
    days = int(run_stack.env["TRACKER_RETENTION_DAYS"])
    assert 0 < ttl <= days * 86400, (key, ttl)
    stored = client.get(key)  # encrypted at rest: neither the number nor the name nor any word typed
    assert stored and all(w.encode() not in stored for w in (PHONE, ID_NUMBER, NAME, "xăng dầu", "xang"))
    assert not re.search(PHONE.encode(), b"".join(v for _, f in client.xrange("nlu:inbox") for v in f.values()))


def test_a_failing_action_returns_an_apology_not_the_tracker(run_stack: RunStack) -> None:
    """M1: rasa_sdk echoed the whole request (the tracker: what the citizen typed) in its error body,
    and Rasa logged it; the citizen got nothing."""
    token = {"Authorization": f"Bearer {run_stack.env['ACTION_SERVER_TOKEN']}"}
    call = {"next_action": "action_tra_cuu_ho_so", "sender_id": "web:x",
            "tracker": [{"sender_id": "web:x", "latest_message": {"text": PHONE}}],  # not a tracker: it raises
            "domain": {}, "version": "3.6.21"}
    resp = requests.post(f"{run_stack.url('ACTION_SERVER_PORT')}/webhook", json=call, headers=token, timeout=10)
    assert resp.status_code == 200 and PHONE not in resp.text
    assert resp.json()["responses"][0]["text"].startswith("Hệ thống tra cứu đang bận")


def _redis_dump(client: redis.Redis) -> bytes:
    """Every key and every value in the database, whatever its type."""
    chunks: list[bytes] = []
    for key in client.scan_iter(count=500):
        chunks.append(key)
        kind = client.type(key)
        if kind == b"string":
            chunks.append(client.get(key) or b"")
        elif kind == b"hash":
            chunks += [b for kv in client.hgetall(key).items() for b in kv]
        elif kind == b"list":
            chunks += client.lrange(key, 0, -1)
        elif kind == b"set":
            chunks += list(client.smembers(key))
        elif kind == b"zset":
            chunks += client.zrange(key, 0, -1)
        elif kind == b"stream":
            chunks += [b for _, fields in client.xrange(key) for kv in fields.items() for b in kv]
    return b"\n".join(chunks)


def test_phone_and_id_numbers_typed_on_every_channel_are_nowhere_in_clear(run_stack: RunStack) -> None:
    """Issue 15's privacy test: after web, SMS, Telegram and Zalo conversations that type a phone and
    an ID number (and a name), no log line and no Redis value holds the numbers, and no log the name
    or the bot token."""
    from sms_gateway.simulator.control import SimulatorControl

    web = Conversation(run_stack.url("CHAT_PORT"))
    web.say(f"em là {NAME}, sđt 0912 345 678, cccd 079201009876, hồ sơ của em sao rồi")
    sms = SimulatorControl(run_stack.env["SMS_SIM_CONTROL_URL"])
    since = time.time()
    sms.send_text("84987000111", f"toi la Tran Thi Bich Ngoc sdt {PHONE} cccd {ID_NUMBER} hoi thu tuc ban xang")
    assert sms.wait_reply("84987000111", since, timeout=60)
    from tests.fakes.zalo_api import signed, text_event

    telegram = run_stack.fakes.telegram
    run_stack.fakes.call(telegram.push_text, 5550001, f"tôi {NAME}, số 0933 111 222, cmnd 201234567, hỏi giờ làm việc")
    raw, headers = signed(text_event("zalo-user-77", f"mình là {NAME}, đt 0944555666, cccd 048300112233"))
    assert requests.post(f"{run_stack.url('CHAT_PORT')}/webhooks/zalo", data=raw, headers=headers,
                         timeout=10).status_code == 200
    deadline = time.monotonic() + 60
    while not (telegram.sent_to(5550001) and run_stack.fakes.zalo.sent_to("zalo-user-77")):
        assert time.monotonic() < deadline, "Telegram and Zalo replies"
        time.sleep(0.2)
    time.sleep(1)
    client = redis.Redis(port=int(run_stack.env["REDIS_PORT"]), password=run_stack.env["REDIS_PASSWORD"])
    dump = _redis_dump(client)
    assert len(dump) > 1000  # the stack did write: trackers, streams, counters
    for number in (PHONE, ID_NUMBER, "0912345678", "0912 345 678", "079201009876", "0933 111 222", "0933111222",
                   "201234567", "0944555666", "048300112233"):
        assert number.encode() not in dump, number
        assert number.encode().hex().encode() not in dump, f"{number} (hex, as an MO payload is stored)"
    ours = "\n".join(line for line in run_stack.log.read_text(errors="replace").splitlines()
                     if not line.split("|", 1)[0].strip().startswith("smsc"))  # the simulator is the operator's
    for secret in (PHONE, ID_NUMBER, "0912 345 678", "079201009876", NAME, "Tran Thi Bich Ngoc", "84987000111",
                   "0933 111 222", "201234567", "0944555666", "048300112233", Fakes.TELEGRAM_TOKEN):
        assert secret not in ours, secret
