"""A person answers over SMS: the SMS gateway bound to the node-smpp SMSC, a chat gateway (the
console, the timeouts, delivery of staff replies through the MT queue) and the whole stack behind
them, on a Redis database of the test's own. An SMS citizen asks for a person, a staff member claims
the conversation over HTTP with a signed-in session and answers; the answer arrives as an MT; a
lookup by code is answered while handed off; the give-back and the satisfaction question arrive by
SMS, and the next SMS is the bot's again. "1" (the hand-over SMS's option) leaves the queue. With
nobody answering, the timeout reaches the phone."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.staff.accounts import Accounts, Role
from common import handoff, stats
from common.settings import Settings
from common.sms_text import to_gsm7
from content.texts import text as citizen_text
from tests.bot.conftest import ANNOTATOR_PASSWORD, NOW, ThreadedGateway, signed_in_session
from tests.conftest import Stack, seeded_dossier
from tests.sms_gateway.conftest import (  # noqa: F401 (fixtures)
    GatewayProcess,
    Smsc,
    gateway,
    gateway_env,
    redis_db,
    smsc,
    wait_until,
)

pytestmark = pytest.mark.e2e

STAFF = "minh.tran"
FEE_QUESTION = "le phi cap giay chung nhan cua hang ban le xang dau la bao nhieu"


class Phone:
    """One handset texting the short code; its replies as the SMSC received them (folded, parts joined)."""

    def __init__(self, smsc: Smsc) -> None:  # noqa: F811
        self.smsc = smsc
        self.msisdn = f"8490{random.randint(10**6, 10**7 - 1)}"

    def received(self) -> list[str]:
        return self.smsc.replies().get(self.msisdn, [])

    def next_sms(self, seen: int, timeout: float = 60.0) -> str:
        """The first SMS after the ``seen`` first ones."""
        wait_until(lambda: len(self.received()) > seen, timeout, f"SMS #{seen + 1} to the phone")
        return self.received()[seen]

    def say(self, text: str, timeout: float = 60.0) -> str:
        seen = len(self.received())
        assert self.smsc.send_text(self.msisdn, text) == 0
        return self.next_sms(seen, timeout)


def _chat_gateway(stack: Stack, redis_url: str, staff_db: Path, **extra: object) -> ThreadedGateway:
    return ThreadedGateway(Settings(_env_file=None, rasa_url=stack.rasa_url, redis_url=redis_url,
                                    dossier_api_url=stack.api_url, staff_db_path=str(staff_db), hotline="1022",
                                    **extra)).start()


@pytest.fixture
def desk(stack: Stack, redis_db: str, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    """A chat gateway on the SMS gateway's Redis, with a staff member's account; its URL."""
    Accounts(tmp_path / "staff.sqlite3", 5, 15).create(STAFF, ANNOTATOR_PASSWORD, Role.ANNOTATOR, NOW)
    chat = _chat_gateway(stack, redis_db, tmp_path / "staff.sqlite3")
    yield chat.url
    chat.stop()


def test_an_sms_citizen_reaches_a_person_and_gets_the_bot_back(
        stack: Stack, smsc: Smsc, gateway: GatewayProcess, redis_db: str, desk: str) -> None:  # noqa: F811
    phone = Phone(smsc)
    sender = f"sms:{phone.msisdn}"
    r = redis.Redis.from_url(redis_db)

    handed = phone.say("cho toi gap can bo")
    assert "chuyen cuoc tro chuyen cho can bo" in handed and "1022" in handed
    assert "1. Quay lai tro ly ao" in handed and handed == to_gsm7(handed)
    assert handoff.state_key(sender).encode() in r.keys("handoff:state:*")
    assert r.hget(stats.key(stats.local_now().date(), stats.HANDOFFS), "sms") == b"1"  # the dashboard's figure
    question = "toi hoi ve giay phep ban le ruou, so toi la 0905 123 456"
    assert phone.say(question) == to_gsm7(citizen_text("handoff.still_waiting"))

    # A staff member sees it in the queue (the number masked), claims it, reads it and answers.
    http, token = signed_in_session(desk, STAFF, ANNOTATOR_PASSWORD)
    headers = {"X-CSRF-Token": token}
    queue = http.get(f"{desk}/staff/handoffs", timeout=10).text
    assert "<td>SMS</td>" in queue and "so toi la &lt;SĐT&gt;" in queue and "0905 123 456" not in queue
    seen = len(phone.received())
    assert http.post(f"{desk}/staff/api/handoffs/claim", json={"sender": sender}, headers=headers,
                     timeout=10).status_code == 200
    assert phone.next_sms(seen) == to_gsm7(citizen_text("handoff.claimed"))
    lines = http.get(f"{desk}/staff/api/handoffs/transcript", params={"sender": sender}, timeout=10).json()["lines"]
    texts = [line["text"] for line in lines]
    assert "cho toi gap can bo" in texts  # Rasa's tracker
    assert "toi hoi ve giay phep ban le ruou, so toi la <SĐT>" in texts  # the handoff log, masked
    assert not any("0905" in t for t in texts)
    answer = ("Chào anh/chị, hồ sơ xin giấy phép bán lẻ rượu cần bản sao giấy chứng nhận đăng ký kinh doanh "
              "và bản cam kết bảo đảm điều kiện kinh doanh.")
    seen = len(phone.received())
    too_long = http.post(f"{desk}/staff/api/handoffs/reply", json={"sender": sender, "text": answer * 5},
                         headers=headers, timeout=10)
    assert too_long.status_code == 400 and "rút gọn" in too_long.json()["error"]  # not sent cut short
    sent = http.post(f"{desk}/staff/api/handoffs/reply", json={"sender": sender, "text": answer},
                     headers=headers, timeout=10)
    assert sent.status_code == 200
    assert phone.next_sms(seen) == to_gsm7(answer)  # through the MT queue, folded to ASCII

    # While handed off: a lookup by code is the bot's; other texts go to staff, the bot stays silent.
    dossier = seeded_dossier(stack, "dang_xu_ly")
    lookup = phone.say(f"ho so {dossier['code']} den dau roi")
    assert dossier["code"] in lookup and "DANG XU LY" in lookup.upper()
    seen = len(phone.received())
    assert smsc.send_text(phone.msisdn, "cam on, toi se bo sung") == 0
    wait_until(lambda: "cam on, toi se bo sung" in [line["text"] for line in http.get(
        f"{desk}/staff/api/handoffs/transcript", params={"sender": sender}, timeout=10).json()["lines"]],
               20, "the citizen's SMS in the transcript")
    time.sleep(1)
    assert len(phone.received()) == seen

    # End and give back: the citizen is told and asked how it went, answers by number; the bot is back.
    seen = len(phone.received())
    assert http.post(f"{desk}/staff/api/handoffs/end", json={"sender": sender}, headers=headers,
                     timeout=10).status_code == 200
    ended = phone.next_sms(seen)
    assert ended.startswith(to_gsm7(citizen_text("handoff.ended")))
    assert to_gsm7(citizen_text("handoff.csat.question")) in ended
    assert "1. Hai long" in ended and "3. Khong hai long" in ended
    assert phone.say("1") == to_gsm7(citizen_text("handoff.csat.thanks"))
    assert b'"channel": "sms"' in r.lindex(handoff.CSAT, 0) and b'"score": 1' in r.lindex(handoff.CSAT, 0)
    back = phone.say(FEE_QUESTION)
    assert "1.200.000" in back and "chua hieu" not in back
    assert not r.exists(handoff.state_key(sender))


def test_an_sms_citizen_leaves_the_queue_by_number(smsc: Smsc, gateway: GatewayProcess,  # noqa: F811
                                                   redis_db: str) -> None:  # noqa: F811
    phone = Phone(smsc)
    assert "1. Quay lai tro ly ao" in phone.say("cho toi noi chuyen voi nguoi")
    assert phone.say("1") == to_gsm7(citizen_text("handoff.left"))
    assert not redis.Redis.from_url(redis_db).exists(handoff.state_key(f"sms:{phone.msisdn}"))
    assert "1.200.000" in phone.say(FEE_QUESTION)


def test_nobody_answers_an_sms_citizen_the_timeout_reaches_the_phone(
        stack: Stack, smsc: Smsc, gateway_env: dict, redis_db: str, tmp_path: Path) -> None:  # noqa: F811
    # The gateway that queues the conversation fixes its due time: both time out after six seconds.
    sms = GatewayProcess({**gateway_env, "HANDOFF_TIMEOUT_MIN": "0.1"}, tmp_path)
    sms.start()
    chat = _chat_gateway(stack, redis_db, tmp_path / "staff.sqlite3", handoff_timeout_min=0.1)
    try:
        phone = Phone(smsc)
        assert "chuyen cuoc tro chuyen cho can bo" in phone.say("muon noi chuyen voi nguoi that")
        seen = len(phone.received())
        told = phone.next_sms(seen, timeout=30)  # the chat gateway's timeout loop checks every two seconds
        assert told.startswith(to_gsm7(citizen_text("handoff.timed_out", hotline="1022"))) and "1. Gui phan anh" in told
        assert "1.200.000" in phone.say(FEE_QUESTION)
    finally:
        chat.stop()
        sms.stop()
