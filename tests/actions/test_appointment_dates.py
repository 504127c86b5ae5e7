"""Days and times typed in the booking: real API (its calendar), real trackers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.appointments import ActionDatLichHen
from actions.base import dossier_client
from common.dates import local_now, vn_day
from tests.actions.conftest import make_tracker


def _next_week(weekday: int) -> dt.date:
    today = local_now().date()
    return today + dt.timedelta(days=7 + weekday - today.weekday())


async def test_next_week_monday_at_8_books_8_on_that_monday(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("đặt lịch 8h sáng thứ hai tuần tới", "dat_lich_hen", sender_id="web:dates-1")
    await ActionDatLichHen().run(dispatcher, tracker, {})
    text = dispatcher.messages[0]["text"]
    monday = _next_week(0)
    assert vn_day(monday) in text and "20:00" not in text
    assert f"lúc 08:00 {vn_day(monday)}" in text or "nghỉ" in text  # booked, unless a holiday closes it


async def test_a_date_beyond_the_window_says_the_window(api_url: str) -> None:
    far = local_now().date() + dt.timedelta(days=60)
    dispatcher = CollectingDispatcher()
    await ActionDatLichHen().run(dispatcher, make_tracker(f"đặt lịch ngày {far:%d/%m/%Y}", "dat_lich_hen"), {})
    assert "chỉ đặt được trong 30 ngày tới" in dispatcher.messages[0]["text"]
    assert len(dispatcher.messages[0]["buttons"]) == 5


async def test_a_change_of_day_read_as_a_goodbye_changes_the_day(api_url: str) -> None:
    today = local_now().date()
    friday = today + dt.timedelta(days=(4 - today.weekday()) % 7 or 7)
    dispatcher = CollectingDispatcher()
    await ActionDatLichHen().run(dispatcher, make_tracker("à thôi, cho em thứ sáu đi", "tam_biet"), {})
    [message] = dispatcher.messages
    assert vn_day(friday) in message["text"] and message.get("response") is None


async def test_a_real_goodbye_while_booking_is_a_goodbye(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    await ActionDatLichHen().run(dispatcher, make_tracker("thôi chào nhé", "tam_biet"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_tam_biet"]


async def test_a_time_typed_after_the_slots_of_a_day_books_that_day(api_url: str) -> None:
    days = await dossier_client().appointment_days(5)
    day = days[-1]
    offer = CollectingDispatcher()
    await ActionDatLichHen().run(offer, make_tracker(f"đặt lịch ngày {day:%d/%m/%Y}", "dat_lich_hen"), {})
    [slots] = offer.messages
    wanted = slots["buttons"][-1]["title"]
    tracker = make_tracker(f"cho em {wanted.replace(':', 'h')}", "dat_lich_hen", sender_id="web:dates-2")
    tracker.events.insert(0, {"event": "bot", "text": slots["text"], "data": {"buttons": slots["buttons"]}})
    dispatcher = CollectingDispatcher()
    await ActionDatLichHen().run(dispatcher, tracker, {})
    assert f"lúc {wanted} {vn_day(day)}" in dispatcher.messages[0]["text"]


async def test_a_day_typed_after_the_days_were_offered_is_the_booking_whatever_the_intent(api_url: str) -> None:
    from actions.procedures import ActionHuongDanThuTuc

    offer = CollectingDispatcher()
    await ActionDatLichHen().run(offer, make_tracker("đặt lịch hẹn", "dat_lich_hen", sender_id="web:dates-3"), {})
    [days] = offer.messages
    assert any(str(b["payload"]).startswith("/dat_lich_hen") for b in days["buttons"])
    day = (await dossier_client().appointment_days(5))[0]
    tracker = make_tracker(f"ngày {day:%d/%m}", "hoi_thu_tuc", sender_id="web:dates-3")  # read as a procedure
    tracker.events.insert(0, {"event": "bot", "text": days["text"], "data": {"buttons": days["buttons"]}})
    dispatcher = CollectingDispatcher()
    await ActionHuongDanThuTuc().run(dispatcher, tracker, {})
    text = dispatcher.messages[0]["text"]
    assert vn_day(day) in text and "thủ tục nào" not in text  # that day's slots, not "which procedure?"


async def test_a_time_typed_after_the_slots_read_as_out_of_scope_or_unclear_books(api_url: str) -> None:
    from actions.policy import ActionChuaHieu
    from actions.procedures import ActionNgoaiPhamVi

    days = await dossier_client().appointment_days(5)
    cases = ((ActionNgoaiPhamVi, "ngoai_pham_vi", days[-1]), (ActionChuaHieu, "nlu_fallback", days[-2]))
    for action, intent, day in cases:
        offer = CollectingDispatcher()
        await ActionDatLichHen().run(offer, make_tracker(f"đặt lịch ngày {day:%d/%m/%Y}", "dat_lich_hen"), {})
        [slots] = offer.messages
        wanted = slots["buttons"][0]["title"]
        tracker = make_tracker(wanted.replace(":", "h"), intent, sender_id=f"web:dates-{intent}")
        tracker.events.insert(0, {"event": "bot", "text": slots["text"], "data": {"buttons": slots["buttons"]}})
        dispatcher = CollectingDispatcher()
        await action().run(dispatcher, tracker, {})
        assert f"lúc {wanted} {vn_day(day)}" in (dispatcher.messages[0].get("text") or ""), intent


async def test_moving_a_booking_to_another_time_keeps_its_day_and_frees_the_old_place(api_url: str) -> None:
    client = dossier_client()
    day = (await client.appointment_days(5))[-1]
    owner = "web:dates-move"
    first = CollectingDispatcher()
    await ActionDatLichHen().run(first, make_tracker(f"đặt lịch 9h ngày {day:%d/%m/%Y}", "dat_lich_hen",
                                                     sender_id=owner), {})
    [held] = await client.appointments(owner)
    assert held.time == "09:00" and held.date == day
    moved = CollectingDispatcher()
    await ActionDatLichHen().run(moved, make_tracker("à thôi đổi qua 3h30 chiều được ko", "tam_biet",
                                                     sender_id=owner), {})
    [now] = await client.appointments(owner)  # one place: the new one
    assert (now.date, now.time) == (day, "15:30")
    assert f"lúc 15:30 {vn_day(day)}" in moved.messages[0]["text"] and "cũ" in moved.messages[1]["text"]
    # A move to another day "at the same time" keeps the time.
    same = (await client.appointment_days(5))[-3]
    await ActionDatLichHen().run(CollectingDispatcher(), make_tracker(
        f"chuyển sang ngày {same:%d/%m/%Y} cùng giờ đó nghe", "dat_lich_hen", sender_id=owner), {})
    [now] = await client.appointments(owner)
    assert (now.date, now.time) == (same, "15:30")
    # A move that names only a day offers that day's times; the chosen one replaces the place held.
    other = (await client.appointment_days(5))[-2]
    offer = CollectingDispatcher()
    await ActionDatLichHen().run(offer, make_tracker(f"dời lịch sang ngày {other:%d/%m/%Y}", "dat_lich_hen",
                                                     sender_id=owner), {})
    button = offer.messages[0]["buttons"][0]
    picked = make_tracker(button["payload"], "dat_lich_hen", sender_id=owner,
                          entities=[{"entity": k, "value": v} for k, v in
                                    json.loads(button["payload"][len("/dat_lich_hen"):]).items()])
    await ActionDatLichHen().run(CollectingDispatcher(), picked, {})
    [last] = await client.appointments(owner)
    assert (last.date, last.time) == (other, button["title"])


async def test_asking_the_hours_and_a_booking_on_a_closed_day_is_told_the_day_is_closed(api_url: str) -> None:
    from actions.handoff import ActionGapCanBo

    dispatcher = CollectingDispatcher()
    text = "chủ nhật này sở có làm việc không, cho mình hẹn lên lúc 9h"
    await ActionGapCanBo().run(dispatcher, make_tracker(text, "gap_can_bo", sender_id="web:dates-sunday"), {})
    assert "Chủ nhật" in dispatcher.messages[0]["text"] and dispatcher.messages[0]["buttons"]


async def test_a_correction_moves_the_booking_and_the_hours_asked_are_the_hours(api_url: str) -> None:
    client = dossier_client()
    day = (await client.appointment_days(5))[-1]
    owner = "web:dates-correction"
    await ActionDatLichHen().run(CollectingDispatcher(), make_tracker(f"đặt lịch 8h ngày {day:%d/%m/%Y}",
                                                                      "dat_lich_hen", sender_id=owner), {})
    await ActionDatLichHen().run(CollectingDispatcher(), make_tracker(f"à nhầm, 9h ngày {day:%d/%m/%Y}",
                                                                      "dat_lich_hen", sender_id=owner), {})
    assert [(a.date, a.time) for a in await client.appointments(owner)] == [(day, "09:00")]
    hours = CollectingDispatcher()
    await ActionDatLichHen().run(hours, make_tracker("So cong thuong lam viec thu 7 khong", "dat_lich_hen"), {})
    assert "Thứ Hai đến Thứ Sáu" in hours.messages[0]["text"]


async def test_a_time_outside_the_desks_hours_is_told_so(api_url: str) -> None:
    day = (await dossier_client().appointment_days(5))[-1]
    dispatcher = CollectingDispatcher()
    await ActionDatLichHen().run(dispatcher, make_tracker(f"đặt lịch 12h ngày {day:%d/%m/%Y}", "dat_lich_hen",
                                                          sender_id="web:dates-noon"), {})
    assert "12:00 không phải giờ tiếp dân" in dispatcher.messages[0]["text"] and dispatcher.messages[0]["buttons"]


async def test_a_change_of_mind_to_another_day_then_a_typed_time_moves_the_booking(api_url: str) -> None:
    client = dossier_client()
    days = await client.appointment_days(5)
    owner = "web:dates-change-of-mind"
    await ActionDatLichHen().run(CollectingDispatcher(), make_tracker(f"đặt lịch 8h ngày {days[-1]:%d/%m/%Y}",
                                                                      "dat_lich_hen", sender_id=owner), {})
    offer = CollectingDispatcher()
    await ActionDatLichHen().run(offer, make_tracker(f"à thôi, cho em ngày {days[-2]:%d/%m/%Y} đi", "tam_biet",
                                                     sender_id=owner), {})
    [slots] = offer.messages
    typed = make_tracker("9h", "dat_lich_hen", sender_id=owner)
    typed.events.insert(0, {"event": "bot", "text": slots["text"], "data": {"buttons": slots["buttons"]}})
    await ActionDatLichHen().run(CollectingDispatcher(), typed, {})
    assert [(a.date, a.time) for a in await client.appointments(owner)] == [(days[-2], "09:00")]


async def test_the_part_of_the_day_typed_at_the_time_prompt_offers_its_times(api_url: str) -> None:
    from actions.policy import ActionChuaHieu

    day = (await dossier_client().appointment_days(5))[-1]
    offer = CollectingDispatcher()
    await ActionDatLichHen().run(offer, make_tracker(f"đặt lịch ngày {day:%d/%m/%Y}", "dat_lich_hen"), {})
    [slots] = offer.messages
    tracker = make_tracker("chiều", "nlu_fallback", sender_id="web:dates-afternoon")
    tracker.events.insert(0, {"event": "bot", "text": slots["text"], "data": {"buttons": slots["buttons"]}})
    dispatcher = CollectingDispatcher()
    await ActionChuaHieu().run(dispatcher, tracker, {})
    times = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert times and all(t >= "12:00" for t in times) and vn_day(day) in dispatcher.messages[0]["text"]


def test_an_early_hour_typed_for_a_booking_is_in_the_afternoon() -> None:
    from actions.appointments import desk_time
    from common.dates import parse_time

    assert desk_time(parse_time("3h"), "3h") == dt.time(15, 0)
    assert desk_time(parse_time("doi sang 4h30"), "doi sang 4h30") == dt.time(16, 30)
    assert desk_time(parse_time("9h"), "9h") == dt.time(9, 0)
    assert desk_time(parse_time("3h sáng"), "3h sáng") == dt.time(3, 0)  # said: outside the desk's hours, told so


@pytest.mark.parametrize(("text", "intent"), [("hủy đi", "nlu_fallback"),
                                             ("thôi em bận rồi, hủy giúp em", "huy_dang_ky")])
async def test_cancel_typed_right_after_booking_cancels_it_whatever_it_was_read_as(
        api_url: str, text: str, intent: str) -> None:
    from actions.notifications import ActionHuyDangKy
    from actions.policy import ActionChuaHieu

    client = dossier_client()
    day = (await client.appointment_days(5))[-1]
    owner = f"web:dates-cancel-after-{intent}"
    booked = CollectingDispatcher()
    await ActionDatLichHen().run(booked, make_tracker(f"đặt lịch 9h ngày {day:%d/%m/%Y}", "dat_lich_hen",
                                                      sender_id=owner), {})
    tracker = make_tracker(text, intent, sender_id=owner)
    tracker.events.insert(0, {"event": "bot", "text": booked.messages[0]["text"]})
    cancelled = CollectingDispatcher()
    await (ActionChuaHieu() if intent == "nlu_fallback" else ActionHuyDangKy()).run(cancelled, tracker, {})
    assert cancelled.messages[0]["text"].startswith("Đã hủy lịch hẹn") and await client.appointments(owner) == []


async def test_a_time_typed_after_the_offer_books_it_whatever_it_was_read_as(api_url: str) -> None:
    from actions.rating import ActionDanhGia
    from actions.smalltalk import ActionKhangDinh

    day = (await dossier_client().appointment_days(5))[-1]
    for action, owner in ((ActionDanhGia, "web:typed-time-rating"), (ActionKhangDinh, "web:typed-time-yes")):
        offer = CollectingDispatcher()
        await ActionDatLichHen().run(offer, make_tracker(f"đặt lịch ngày {day:%d/%m/%Y}", "dat_lich_hen",
                                                         sender_id=owner), {})
        [slots] = offer.messages
        typed = make_tracker("13:30", "danh_gia", sender_id=owner)
        typed.events.insert(0, {"event": "bot", "text": slots["text"], "data": {"buttons": slots["buttons"]}})
        await action().run(CollectingDispatcher(), typed, {})
        assert [(a.date, a.time) for a in await dossier_client().appointments(owner)] == [(day, "13:30")]


@pytest.mark.parametrize(("text", "elsewhere"), [
    ("đặt lịch rửa xe chiều nay", True), ("book a haircut tomorrow", True), ("đặt bàn 4 người tối nay", True),
    ("đặt lịch lên sở nộp hồ sơ rượu", False), ("đặt lịch 9h thứ 6", False), ("hẹn lên một cửa lấy kết quả", False),
])
def test_another_businesss_booking_is_not_the_desks(text: str, elsewhere: bool) -> None:
    from actions.appointments import books_elsewhere

    assert books_elsewhere(text) is elsewhere


async def test_ones_own_appointment_asked_and_read_as_out_of_scope_is_listed(api_url: str) -> None:
    from actions.procedures import ActionNgoaiPhamVi

    day = (await dossier_client().appointment_days(5))[-1]
    owner = "web:dates-my-appointment"
    await ActionDatLichHen().run(CollectingDispatcher(), make_tracker(f"đặt lịch 10h ngày {day:%d/%m/%Y}",
                                                                      "dat_lich_hen", sender_id=owner), {})
    asked = CollectingDispatcher()
    await ActionNgoaiPhamVi().run(asked, make_tracker("lịch hẹn của tôi là hôm nào nhỉ", "ngoai_pham_vi",
                                                      sender_id=owner), {})
    assert "10:00" in asked.messages[0]["text"] and f"{day:%d/%m/%Y}" in asked.messages[0]["text"]


def test_the_nearest_free_times_are_the_one_before_and_the_one_after() -> None:
    from actions.appointments import nearest_times

    free = ["07:30", "08:00", "11:00", "13:30", "14:00"]
    assert nearest_times(free, "12:00") == ["11:00", "13:30"]
    assert nearest_times(free, "07:00") == ["07:30"]
    assert nearest_times(free, "08:00") == ["07:30", "11:00"]  # (a full slot: the ones around it)


async def test_a_time_the_desk_is_closed_is_offered_the_free_times_around_it(api_url: str) -> None:
    day = (await dossier_client().appointment_days(5))[-1]
    dispatcher = CollectingDispatcher()
    await ActionDatLichHen().run(dispatcher, make_tracker(f"hẹn lúc 12h trưa ngày {day:%d/%m/%Y}", "dat_lich_hen",
                                                          sender_id="web:dates-noon"), {})
    [message] = dispatcher.messages
    assert "12:00 không phải giờ tiếp dân" in message["text"] and "13:30" in message["text"]
    assert "13:30" in [b["title"] for b in message["buttons"]]
    assert await dossier_client().appointments("web:dates-noon") == []


async def test_what_to_bring_asked_right_after_booking_is_identity_papers_and_the_procedures_documents(
        api_url: str) -> None:
    from actions.procedures import ActionHuongDanThuTuc

    day = (await dossier_client().appointment_days(5))[-1]
    booked = CollectingDispatcher()
    await ActionDatLichHen().run(booked, make_tracker(f"đặt lịch 10h ngày {day:%d/%m/%Y}", "dat_lich_hen",
                                                      sender_id="web:dates-bring"), {})
    tracker = make_tracker("lên đó cần mang theo chi", "hoi_giay_to", slots={"thu_tuc_gan_nhat": "ban_buon_ruou"},
                           sender_id="web:dates-bring")
    tracker.events.insert(0, {"event": "bot", "text": booked.messages[0]["text"]})
    dispatcher = CollectingDispatcher()
    await ActionHuongDanThuTuc().run(dispatcher, tracker, {})
    [message] = dispatcher.messages
    assert "giấy tờ tùy thân" in message["text"] and "Giấy phép bán buôn rượu" in message["text"]
    # not right after a booking: a documents question as any other
    alone = CollectingDispatcher()
    await ActionHuongDanThuTuc().run(alone, make_tracker("cần mang theo giấy tờ gì", "hoi_giay_to"), {})
    assert "giấy tờ tùy thân" not in alone.messages[0]["text"]
