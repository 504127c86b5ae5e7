"""An MT the SMSC kept refusing ends in ``sms:dead``, shows in the console's operations view, and an
admin's resend reaches the SMSC simulator (real node-smpp SMSC, the gateway as a process, real Redis)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.staff.accounts import Accounts, Role
from common.settings import Settings
from tests.bot.conftest import ADMIN_PASSWORD, NOW, ThreadedGateway, signed_in_session
from tests.sms_gateway.conftest import GatewayProcess, Smsc, wait_until

DEST = "84901230011"
TEXT = "Ho so 000.00.12.H17-261120-0001 da co ket qua"


@pytest.fixture
def ops_redis(redis_url: str) -> Iterator[str]:
    url = redis_url.rsplit("/", 1)[0] + "/12"
    redis.Redis.from_url(url).flushdb()
    yield url


@pytest.fixture
def console(ops_redis: str, tmp_path: Path) -> Iterator[ThreadedGateway]:
    accounts = Accounts(tmp_path / "staff.sqlite3", max_failures=3, lock_minutes=15)
    accounts.create("admin.so", ADMIN_PASSWORD, Role.ADMIN, NOW)
    gateway = ThreadedGateway(Settings(_env_file=None, rasa_url="http://127.0.0.1:9", redis_url=ops_redis,
                                       dossier_api_url="http://127.0.0.1:9", staff_db_path=str(accounts.path)))
    yield gateway.start()
    gateway.stop()


def test_a_dead_lettered_mt_is_resent_from_the_operations_view(smsc: Smsc, ops_redis: str, console: ThreadedGateway,
                                                               tmp_path: Path) -> None:
    smsc.configure(error_every=1, error_status=0x45)  # ESME_RSUBMITFAIL on every submit_sm
    env = {**os.environ, "REDIS_URL": ops_redis, "DOSSIER_API_URL": "http://127.0.0.1:9", "RASA_URL": "http://127.0.0.1:9",
           "SMS_SMSC_PORT": str(smsc.port), "SMS_SYSTEM_ID": "sct", "SMS_PASSWORD": "t3stpwd",
           "SMS_CONSUMER": "gw-ops", "SMS_THROTTLE_BACKOFF_S": "0.05", "SMS_SUBMIT_RETRIES": "1"}
    sms = GatewayProcess(env, tmp_path)
    sms.start()
    try:
        r = redis.Redis.from_url(ops_redis)
        r.xadd("sms:mt", {"dest": DEST, "text": TEXT, "origin": "notify"})
        [(_, [(dead_id, fields)])] = wait_until(lambda: r.xread({"sms:dead": "0"}), 20, "dead letter")
        dead_id = dead_id.decode()
        assert b"0x45" in fields[b"reason"] and smsc.replies().get(DEST) is None
        http, token = signed_in_session(console.url, "admin.so", ADMIN_PASSWORD)
        page = http.get(f"{console.url}/staff/ops", timeout=10).text
        row = re.search(rf'<tr data-dead="{dead_id}">.*?</tr>', page, re.S)
        assert row and "0x45" in row[0] and DEST not in page and "Gửi lại" in row[0]
        smsc.configure(error_every=0)  # the operator's fault is fixed
        resp = http.post(f"{console.url}/staff/api/ops/sms/{dead_id}", data={"action": "resend", "csrf_token": token},
                         timeout=10)
        assert resp.status_code == 200 and "Vận hành" in resp.text  # back on the operations view
        assert smsc.wait_replies(1)[DEST] == [TEXT]
        assert r.xlen("sms:dead") == 0
        assert f'data-dead="{dead_id}"' not in http.get(f"{console.url}/staff/ops", timeout=10).text
    finally:
        sms.stop()
