"""A message repeated with its idempotency key (a channel delivering it again, a turn run again after
a lost reply) has its effect once: a subscription, a ticket, a delivery request (issue 19). Real
reference API, real Redis."""

from __future__ import annotations

import random
from pathlib import Path

import redis.asyncio as aioredis
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.delivery import ActionChuyenPhat
from actions.feedback import ActionPhanAnh
from actions.notifications import ActionDangKyThongBao, ActionHuyDangKy
from common import subscriptions
from dossier_api.db import Database
from tests.actions.conftest import make_tracker


def _keyed(tracker: Tracker, key: str) -> Tracker:
    tracker.latest_message["metadata"] = {"idempotency_key": key}
    return tracker


def _texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["text"] for m in dispatcher.messages]


async def test_a_repeated_subscribe_message_does_not_undo_a_later_unsubscribe(
        api_url: str, seeded_db: Path, redis_url: str) -> None:
    [dossier], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    sender = f"telegram:{random.randint(10**8, 10**9)}"
    code = {"entity": "ma_ho_so", "value": dossier.code}

    def subscribe() -> Tracker:
        return _keyed(make_tracker(f"đăng ký nhận thông báo {dossier.code}", "dang_ky_thong_bao", [code],
                                   sender_id=sender), f"{sender}:1001")

    first, repeat = CollectingDispatcher(), CollectingDispatcher()
    await ActionDangKyThongBao().run(first, subscribe(), {})
    redis = aioredis.from_url(redis_url)
    try:
        assert sender in await subscriptions.subscribers(redis, dossier.code)
        leave = _keyed(make_tracker(f"hủy đăng ký {dossier.code}", "huy_dang_ky", [code], sender_id=sender),
                       f"{sender}:1002")
        left = CollectingDispatcher()
        await ActionHuyDangKy().run(left, leave, {})
        assert _texts(left) == [f"Đã hủy nhận thông báo cho hồ sơ {dossier.code}."]

        await ActionDangKyThongBao().run(repeat, subscribe(), {})  # the first message, delivered again
        assert sender not in await subscriptions.subscribers(redis, dossier.code)
        assert _texts(repeat) == _texts(first)  # answered as the first time

        left_again = CollectingDispatcher()
        await ActionHuyDangKy().run(left_again, leave, {})  # the unsubscribe, delivered again: same answer
        assert _texts(left_again) == _texts(left)
        fresh = _keyed(make_tracker(f"đăng ký nhận thông báo {dossier.code}", "dang_ky_thong_bao", [code],
                                    sender_id=sender), f"{sender}:1003")
        await ActionDangKyThongBao().run(CollectingDispatcher(), fresh, {})  # a new message acts again
        assert sender in await subscriptions.subscribers(redis, dossier.code)
    finally:
        await subscriptions.unsubscribe(redis, sender)
        await redis.close()


async def test_a_repeated_complaint_files_one_ticket(api_url: str, seeded_db: Path) -> None:
    sender = f"zalo:{random.randint(10**8, 10**9)}"
    text = "Cửa hàng điện máy trên đường Lê Duẩn bán hàng giả, đề nghị Sở kiểm tra xử lý giúp"
    replies = []
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        tracker = _keyed(make_tracker(text, "phan_anh_kien_nghi", sender_id=sender), f"zalo:msg-{sender}")
        events = await ActionPhanAnh().run(dispatcher, tracker, {})
        replies.append((_texts(dispatcher), [e for e in events if e.get("name") == "phieu_gan_nhat"]))
    assert replies[0] == replies[1] and "PA" in replies[0][0][0]
    with Database(seeded_db).connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets WHERE owner = ?", (sender,)).fetchone()[0] == 1
    other = CollectingDispatcher()
    await ActionPhanAnh().run(other, _keyed(make_tracker(text, "phan_anh_kien_nghi", sender_id=sender),
                                            f"zalo:msg-{sender}-2"), {})  # another message: another ticket
    with Database(seeded_db).connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tickets WHERE owner = ?", (sender,)).fetchone()[0] == 2


def _undelivered_result(seeded_db: Path) -> str:
    db = Database(seeded_db)
    with db.connect() as conn:
        taken = {r[0] for r in conn.execute("SELECT dossier_code FROM deliveries")}
    ready = [d.code for d in db.dossiers("da_co_ket_qua", 500, 0)[0] if d.code not in taken]
    return random.choice(ready)


async def test_a_repeated_delivery_request_is_one_request_told_the_same_way(api_url: str, seeded_db: Path) -> None:
    sender = f"telegram:{random.randint(10**8, 10**9)}"
    slots = {"cp_ma_ho_so": _undelivered_result(seeded_db), "cp_ten": "Phạm Thị Hoa", "cp_sdt": "84935000111",
             "cp_dia_chi": "08 Bạch Đằng, phường Hải Châu"}
    said = []
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        tracker = _keyed(make_tracker(slots["cp_dia_chi"], "chuyen_phat_ket_qua", slots=slots, sender_id=sender),
                         f"{sender}:2001")
        await ActionChuyenPhat().run(dispatcher, tracker, {})
        said.append(_texts(dispatcher))
    assert said[0] == said[1] and "Mã vận đơn: BD" in said[0][0]
    again = CollectingDispatcher()  # the citizen asks again in a new message: told it exists already
    await ActionChuyenPhat().run(again, _keyed(make_tracker(slots["cp_dia_chi"], "chuyen_phat_ket_qua", slots=slots,
                                                            sender_id=sender), f"{sender}:2002"), {})
    assert "đã có yêu cầu chuyển phát" in _texts(again)[0]
    with Database(seeded_db).connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM deliveries WHERE owner = ?", (sender,)).fetchone()[0] == 1
