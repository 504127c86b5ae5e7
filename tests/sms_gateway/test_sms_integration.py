"""The SMS gateway against a real SMPP server (node-smpp), with the real stack behind it."""

from __future__ import annotations

import time

import pytest
import redis
import requests

from common import stats
from common.sms_text import to_gsm7
from sms_gateway.encoding import udh
from sms_gateway.router import help_text
from tests.conftest import Stack, start_redis, stop
from tests.sms_gateway.conftest import GatewayProcess, Smsc, wait_until

pytestmark = pytest.mark.e2e


def _codes(stack: Stack, status: str, n: int = 1) -> list[str]:
    page = stack.api_session().get(f"{stack.api_url}/api/v1/dossiers", params={"status": status, "limit": n},
                                   timeout=10)
    return [d["code"] for d in page.json()["items"]]


def test_hs_lookup_returns_the_real_status_and_records_the_receipt(
    stack: Stack, smsc: Smsc, gateway: GatewayProcess, redis_db: str
) -> None:
    [code] = _codes(stack, "dang_xu_ly")
    r = redis.Redis.from_url(redis_db)
    figures = {f: stats.key(stats.local_now().date(), f) for f in (stats.LOOKUPS, stats.DLR)}
    found, delivered = (int(r.hget(figures[f], k) or 0) for f, k in ((stats.LOOKUPS, "found"), (stats.DLR, "DELIVRD")))
    assert smsc.send_text("84901234567", f"hs {code.lower()}") == 0
    [reply] = smsc.wait_replies(1)["84901234567"]
    assert code in reply and "DANG XU LY" in reply
    assert reply == to_gsm7(reply)  # folded to ASCII
    submits = smsc.submits()
    assert all(s["source"] == "8283" and s["registered_delivery"] == 1 and s["data_coding"] == 0 for s in submits)
    expected = {str(i).encode(): b"DELIVRD" for i in range(1, len(submits) + 1)}
    wait_until(lambda: [k for k in r.keys("sms:mt:state:*") if r.hgetall(k) == expected], 10, "receipts recorded")
    assert int(r.hget(figures[stats.LOOKUPS], "found")) == found + 1  # the dashboard's figures
    assert int(r.hget(figures[stats.DLR], "DELIVRD")) == delivered + len(submits)
    assert "sms_smpp_bound 1.0" in gateway.metrics()
    assert r.pfcount(stats.key(stats.local_now().date(), stats.CONVERSATIONS, "sms")) == 1  # one sender today


def test_receipts_reported_in_decimal_are_matched(stack: Stack, smsc: Smsc, gateway: GatewayProcess,
                                                   redis_db: str) -> None:
    smsc.configure(receipt_id_format="dec")
    smsc.send_text("84901234568", "HD")
    smsc.wait_replies(1)
    r = redis.Redis.from_url(redis_db)
    wait_until(lambda: r.keys("sms:mt:state:*"), 10, "receipt recorded")
    states = [v for key in r.keys("sms:mt:state:*") for v in r.hgetall(key).values()]
    assert states and set(states) == {b"DELIVRD"}


def test_long_reply_is_concatenated_with_udh_within_three_parts(smsc: Smsc, gateway: GatewayProcess) -> None:
    smsc.send_text("84901234569", "HD")
    [reply] = smsc.wait_replies(1)["84901234569"]
    parts = smsc.submits()
    assert 1 < len(parts) <= 3 and all(p["udh"] for p in parts)
    assert reply == to_gsm7(help_text())


def test_vietnamese_ucs2_question_is_answered(smsc: Smsc, gateway: GatewayProcess) -> None:
    question = "Lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu?"
    assert smsc.send_text("84901234570", question, ucs2=True) == 0
    [reply] = smsc.wait_replies(1, timeout=60)["84901234570"]
    assert "1.200.000" in reply


@pytest.mark.parametrize("mode", ["udh", "sar"])
def test_three_part_mo_is_reassembled(stack: Stack, smsc: Smsc, gateway: GatewayProcess, mode: str) -> None:
    [code] = _codes(stack, "da_co_ket_qua")
    text = f"HS {code}"
    chunks = [text[:9], text[9:20], text[20:]]
    for index, chunk in enumerate(chunks, 1):
        body = chunk.encode("latin-1")
        if mode == "udh":
            status = smsc.deliver("84901234571", udh(77, 3, index) + body, esm_class=0x40)
        else:
            tlvs = {"sar_msg_ref_num": 300, "sar_total_segments": 3, "sar_segment_seqnum": index}
            status = smsc.deliver("84901234571", body, tlvs=tlvs)
        assert status == 0
    [reply] = smsc.wait_replies(1)["84901234571"]
    assert code in reply and "DA CO KET QUA" in reply


def test_duplicate_deliver_sm_gets_one_reply(smsc: Smsc, gateway: GatewayProcess) -> None:
    # The SMSC sends the very PDU again (same sequence number), as after a lost deliver_sm_resp.
    assert smsc.deliver("84901234572", b"HD", resend=True) == 0
    time.sleep(1.0)
    assert len(smsc.wait_replies(1)["84901234572"]) == 1
    assert 'sms_mo_total{outcome="duplicate"} 1.0' in gateway.metrics()


def test_the_same_answer_sent_again_later_is_answered_again(smsc: Smsc, gateway: GatewayProcess) -> None:
    """Issue 13 class 8: "1" to a numbered menu, and later "1" again, is two messages, not a resend."""
    citizen = "84901234573"
    for turn, text in enumerate(["xin chao", "1", "xin chao", "1", "HD", "HD"], 1):
        smsc.send_text(citizen, text)
        replies = smsc.wait_replies(turn, timeout=60)[citizen]
        if turn == 1:
            assert "1. Tra cuu ho so" in replies[0]  # the assistant's buttons as numbered lines
    assert len(replies) == 6 and all(r.strip() for r in replies)
    assert replies[4] == replies[5] == to_gsm7(help_text())  # the keyword path too
    assert 'sms_mo_total{outcome="duplicate"}' not in gateway.metrics()


def test_poison_mo_with_a_truncated_udh_gets_one_unreadable_reply(stack: Stack, smsc: Smsc, gateway: GatewayProcess,
                                                                  redis_db: str) -> None:
    """Issue 15 M5: UDHI set and a UDH cut short (05 00 03) was retried every minute, forever."""
    citizen = "84901234574"
    assert smsc.deliver(citizen, bytes.fromhex("050003"), esm_class=0x40) == 0
    [reply] = smsc.wait_replies(1)[citizen]
    assert "khong doc duoc" in reply and reply == to_gsm7(reply)
    [code] = _codes(stack, "dang_xu_ly")
    smsc.send_text(citizen, f"HS {code}")
    replies = smsc.wait_replies(2)[citizen]
    assert len(replies) == 2 and code in replies[1] and "DANG XU LY" in replies[1]
    r = redis.Redis.from_url(redis_db)
    wait_until(lambda: r.xpending("sms:mo", "sms-workers")["pending"] == 0, 10, "every MO acknowledged")
    assert r.xlen("sms:dead") == 0  # answered, not dead-lettered
    health = requests.get(f"http://127.0.0.1:{gateway.http_port}/health", timeout=5).json()
    assert health["loops"] == {"mo-worker": True, "mo-parts-sweeper": True, "mt-sender": True}
    wait_until(lambda: 'sms_stream_lag{stream="sms:mo"} 0.0' in gateway.metrics(), 10, "lag exported")
    assert 'sms_dead_letters{stream="sms:dead"} 0.0' in gateway.metrics()


def test_throttling_loses_nothing(stack: Stack, smsc: Smsc, gateway: GatewayProcess) -> None:
    smsc.configure(throttle_every=3)
    codes = _codes(stack, "da_tra_ket_qua", 12)
    for i, code in enumerate(codes):
        smsc.send_text(f"8491000{i:04d}", f"HS {code}")
    replies = smsc.wait_replies(12)
    assert sorted(replies) == sorted(f"8491000{i:04d}" for i in range(12))
    assert all(len(texts) == 1 for texts in replies.values())
    assert any(e["event"] == "throttled" for e in smsc.entries())
    assert "sms_throttling_errors_total" in gateway.metrics()


def test_smsc_killed_and_restarted_loses_nothing(stack: Stack, smsc: Smsc, gateway: GatewayProcess) -> None:
    codes = _codes(stack, "tre_han", 10)
    for i, code in enumerate(codes[:5]):
        smsc.send_text(f"8492000{i:04d}", f"HS {code}")
    smsc.kill()
    smsc.start()
    wait_until(smsc.bound, 20, "gateway bound again")
    for i, code in enumerate(codes[5:], 5):
        smsc.send_text(f"8492000{i:04d}", f"HS {code}")
    replies = smsc.wait_replies(10)
    assert sorted(replies) == sorted(f"8492000{i:04d}" for i in range(10))
    assert all(len(texts) == 1 for texts in replies.values())


def test_gateway_sigkill_and_restart_loses_nothing_and_sends_no_duplicates(
    stack: Stack, smsc: Smsc, gateway: GatewayProcess
) -> None:
    codes = _codes(stack, "da_tra_ket_qua", 20)
    smsc.configure(throttle_every=1)  # the SMSC refuses every submit: the work piles up in Redis
    for i, code in enumerate(codes):
        assert smsc.send_text(f"8493000{i:04d}", f"HS {code}") == 0
    time.sleep(0.5)
    gateway.sigkill()
    smsc.configure(throttle_every=0)
    gateway.start()
    replies = smsc.wait_replies(20)
    assert sorted(replies) == sorted(f"8493000{i:04d}" for i in range(20))
    assert all(len(texts) == 1 for texts in replies.values())


def test_sigkill_while_sending_loses_nothing(stack: Stack, smsc: Smsc, gateway: GatewayProcess) -> None:
    codes = _codes(stack, "moi_tiep_nhan", 15)
    for i, code in enumerate(codes):
        smsc.send_text(f"8494000{i:04d}", f"HS {code}")
    wait_until(lambda: len(smsc.submits()) >= 3, 20, "some replies sent")
    gateway.sigkill()
    gateway.start()
    replies = smsc.wait_replies(15)
    assert sorted(replies) == sorted(f"8494000{i:04d}" for i in range(15))


@pytest.mark.parametrize(
    ("payload", "coding", "expected"),
    [
        (b"", 0, "HS <ma ho so>"),
        (("x" * 1600).encode(), 0, None),
        (b"\x00\x01\x02\xff", 4, "khong doc duoc"),
        ("Cho hỏi 😀 hồ sơ".encode("utf-16-be"), 8, None),
        (b"\xd8\x00\x00\x41", 8, "khong doc duoc"),
    ],
    ids=["empty", "1600-chars", "binary", "emoji", "invalid-utf16"],
)
def test_malformed_messages_get_a_reply_and_never_crash(
    smsc: Smsc, gateway: GatewayProcess, payload: bytes, coding: int, expected: str | None
) -> None:
    assert smsc.deliver("84901234580", payload, data_coding=coding) == 0
    [reply] = smsc.wait_replies(1, timeout=60)["84901234580"]
    if expected:
        assert expected in reply
    assert gateway.healthy()


def test_rate_limit_answers_once_then_stays_silent(smsc: Smsc, gateway_env: dict, tmp_path) -> None:
    limited = GatewayProcess({**gateway_env, "SMS_RATE_LIMIT_PER_MIN": "3"}, tmp_path)
    limited.start()
    try:
        for text in ["HD", "hd", "Hd", "hD", "HD.", "hd."]:  # six distinct messages, not resends
            smsc.send_text("84901234590", text)
            time.sleep(0.1)
        smsc.wait_replies(4)
        time.sleep(1.5)
        replies = smsc.replies()["84901234590"]
        assert len(replies) == 4  # three answers, one polite refusal, then silence
        assert sum("qua nhieu tin nhan" in r for r in replies) == 1
    finally:
        limited.stop()


def test_unknown_codes_are_limited_harder(smsc: Smsc, gateway_env: dict, tmp_path) -> None:
    limited = GatewayProcess({**gateway_env, "SMS_UNKNOWN_CODE_LIMIT_PER_HOUR": "2"}, tmp_path)
    limited.start()
    try:
        for serial in range(901, 905):
            smsc.send_text("84901234591", f"HS 000.00.12.H17-200115-0{serial}")
        replies = smsc.wait_replies(3)["84901234591"]
        time.sleep(1)
        replies = smsc.replies()["84901234591"]
        assert sum("Khong tim thay" in r for r in replies) == 2
        assert sum("khong ton tai" in r for r in replies) == 1
        assert len(replies) == 3
    finally:
        limited.stop()


def test_subscribe_and_unsubscribe(stack: Stack, smsc: Smsc, gateway: GatewayProcess, redis_db: str) -> None:
    [code] = _codes(stack, "dang_xu_ly")
    smsc.send_text("84901234595", f"DK {code}")
    assert "Da dang ky" in smsc.wait_replies(1)["84901234595"][0]
    r = redis.Redis.from_url(redis_db)
    assert r.smembers(f"subs:code:{code}") == {b"sms:84901234595"}
    smsc.send_text("84901234595", "HUY")
    smsc.wait_replies(2)
    assert r.smembers(f"subs:code:{code}") == set()


def test_rating_by_sms(stack: Stack, smsc: Smsc, gateway: GatewayProcess) -> None:
    [code] = _codes(stack, "da_tra_ket_qua")
    before = stack.api_session().get(f"{stack.api_url}/api/v1/ratings/summary", timeout=5).json().get("binh_thuong", 0)
    smsc.send_text("84901234596", f"DG {code} 2")
    assert "binh thuong" in smsc.wait_replies(1)["84901234596"][0]
    after = stack.api_session().get(f"{stack.api_url}/api/v1/ratings/summary", timeout=5).json()["binh_thuong"]
    assert after == before + 1


def test_other_submit_errors_are_retried_then_dead_lettered(smsc: Smsc, gateway_env: dict, tmp_path,
                                                             redis_db: str) -> None:
    smsc.configure(error_every=1, error_status=0x45)  # ESME_RSUBMITFAIL on every submit_sm
    failing = GatewayProcess({**gateway_env, "SMS_SUBMIT_RETRIES": "2"}, tmp_path)
    failing.start()
    try:
        smsc.send_text("84901234597", "HD")
        r = redis.Redis.from_url(redis_db)
        [(_, [(_, fields)])] = wait_until(lambda: r.xread({"sms:dead": "0"}), 20, "dead letter")
        assert b"0x45 after 3 attempts" in fields[b"reason"]
        assert sum(e["event"] == "error" for e in smsc.entries()) == 3
        assert 'sms_mt_total{outcome="dead_letter"} 1.0' in failing.metrics()
    finally:
        failing.stop()


def test_wrong_credentials_never_bind(smsc: Smsc, gateway_env: dict, tmp_path) -> None:
    wrong = GatewayProcess({**gateway_env, "SMS_PASSWORD": "wrong"}, tmp_path)
    with pytest.raises(TimeoutError):
        wrong.start_timeout = 3
        wrong.start()
    try:
        assert not wrong.healthy() and smsc.bound() == 0
        assert "bind failed" in (tmp_path / "gateway.log").read_text()
    finally:
        wrong.stop()


def test_nearby_places_by_ward_name_over_sms(smsc: Smsc, gateway: GatewayProcess) -> None:
    smsc.send_text("84901234598", "tim cay atm o phuong hoa khanh")
    [reply] = smsc.wait_replies(1, timeout=60)["84901234598"]
    lines = reply.splitlines()
    assert lines[0] == "Cac ATM gan phuong Hoa Khanh nhat:" and lines[1].startswith("1. ATM BIDV Ton Duc Thang")
    assert len(lines) == 4  # the three nearest


def test_a_redis_restart_mid_run_is_survived(stack: Stack, smsc: Smsc, gateway_env: dict, tmp_path) -> None:
    """Redis restarted under a running gateway (no persistence: the streams and groups are gone too)."""
    proc, url = start_redis(tmp_path)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    own = GatewayProcess({**gateway_env, "REDIS_URL": url}, tmp_path)
    own.start()
    try:
        first, second = _codes(stack, "da_co_ket_qua", 2)
        assert smsc.send_text("84901234599", f"HS {first}") == 0
        smsc.wait_replies(1)
        stop([proc])
        time.sleep(1)
        proc, _ = start_redis(tmp_path, port)
        # The first store after the restart may meet a dead connection: the SMSC is told to retry, and does.
        wait_until(lambda: smsc.send_text("84901234599", f"HS {second}") == 0, 20, "MO stored again")
        replies = smsc.wait_replies(2, timeout=30)["84901234599"]
        assert first in replies[0] and second in replies[1] and "DA CO KET QUA" in replies[1]
        assert own.healthy()
    finally:
        own.stop()
        stop([proc])
