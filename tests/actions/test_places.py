"""The nearby-places action against the real reference API."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.places import ActionTimDiaDiem, format_distance
from tests.actions.conftest import make_tracker


async def _run(tracker) -> list[dict]:
    dispatcher = CollectingDispatcher()
    await ActionTimDiaDiem().run(dispatcher, tracker, {})
    return dispatcher.messages


def test_distances_read_naturally() -> None:
    assert (format_distance(320), format_distance(6240), format_distance(1000)) == ("320 m", "6,2 km", "1,0 km")


async def test_without_a_type_it_offers_the_types(api_url: str) -> None:
    [message] = await _run(make_tracker("tìm địa điểm gần tôi", "tim_dia_diem"))
    assert "loại địa điểm" in message["text"] and len(message["buttons"]) == 9


async def test_with_a_shared_location_it_lists_the_nearest(api_url: str) -> None:
    tracker = make_tracker("/tim_dia_diem", "tim_dia_diem", slots={"loai_dia_diem": "tram_xang"})
    tracker.latest_message["metadata"] = {"location": {"latitude": 16.0595, "longitude": 108.2041}}
    [message] = await _run(tracker)
    lines = message["text"].splitlines()
    assert lines[0] == "Các cửa hàng xăng dầu gần anh/chị nhất:"
    assert lines[1].startswith("1. Cửa hàng xăng dầu Petrolimex Nguyễn Văn Linh") and len(lines) == 4


async def test_with_a_ward_name_it_lists_by_ward(api_url: str) -> None:
    tracker = make_tracker("ngan hang o phuong lien chieu", "tim_dia_diem", slots={"loai_dia_diem": "ngan_hang"})
    [message] = await _run(tracker)
    assert message["text"].startswith("Các ngân hàng gần phường Liên Chiểu nhất:")
    assert "BIDV Chi nhánh Hải Vân" in message["text"].splitlines()[1]


async def test_without_a_place_it_asks_where_per_channel(api_url: str) -> None:
    [chat] = await _run(make_tracker("atm gần đây", "tim_dia_diem", slots={"loai_dia_diem": "atm"},
                                     sender_id="telegram:42"))
    assert chat["custom"]["request_location"] is True and "chia sẻ vị trí" in chat["custom"]["text"]
    [sms] = await _run(make_tracker("atm gan day", "tim_dia_diem", slots={"loai_dia_diem": "atm"},
                                    sender_id="sms:84901234567"))
    assert "phường Hải Châu" in sms["text"] and not sms.get("custom")


async def test_a_follow_up_naming_only_another_type_is_near_the_last_answer(api_url: str) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionTimDiaDiem().run(
        dispatcher, make_tracker("cây atm gần phường Cẩm Lệ", "tim_dia_diem", slots={"loai_dia_diem": "atm"}), {})
    assert dispatcher.messages[0]["text"].startswith("Các ATM gần phường Cẩm Lệ nhất:")
    [area] = [e["value"] for e in events if e.get("name") == "khu_vuc_gan_nhat"]
    assert area == {"ward": "Cẩm Lệ"}
    [message] = await _run(make_tracker("còn siêu thị thì sao", "tim_dia_diem",
                                        slots={"loai_dia_diem": "sieu_thi", "khu_vuc_gan_nhat": area}))
    assert message["text"].startswith("Các siêu thị gần phường Cẩm Lệ nhất:")
    # A ward named now wins over the last one; a shared location is remembered as a point.
    [message] = await _run(make_tracker("siêu thị ở Hải Châu", "tim_dia_diem",
                                        slots={"loai_dia_diem": "sieu_thi", "khu_vuc_gan_nhat": area}))
    assert message["text"].startswith("Các siêu thị gần phường Hải Châu nhất:")
    tracker = make_tracker("/tim_dia_diem", "tim_dia_diem", slots={"loai_dia_diem": "tram_xang"})
    tracker.latest_message["metadata"] = {"location": {"latitude": 16.0595, "longitude": 108.2041}}
    dispatcher = CollectingDispatcher()
    events = await ActionTimDiaDiem().run(dispatcher, tracker, {})
    [point] = [e["value"] for e in events if e.get("name") == "khu_vuc_gan_nhat"]
    [message] = await _run(make_tracker("còn atm thì sao", "tim_dia_diem",
                                        slots={"loai_dia_diem": "atm", "khu_vuc_gan_nhat": point}))
    assert message["text"].startswith("Các ATM gần anh/chị nhất:")


async def test_a_place_type_that_is_also_a_licence_after_a_places_answer_is_places(api_url: str) -> None:
    from actions.procedures import ActionHuongDanThuTuc

    def after_places(text: str, intent: str, entities: list[dict]) -> object:
        tracker = make_tracker(text, intent, entities=entities,
                               slots={"loai_dia_diem": "tram_xang", "khu_vuc_gan_nhat": {"ward": "Sơn Trà"}})
        tracker.events.insert(0, {"event": "slot", "name": "khu_vuc_gan_nhat", "value": {"ward": "Sơn Trà"}})
        return tracker

    petrol = [{"entity": "loai_dia_diem", "value": "tram_xang"}, {"entity": "thu_tuc", "value": "xang_dau"}]
    dispatcher = CollectingDispatcher()  # "cây xăng" is a place type and the petrol licence's topic
    await ActionHuongDanThuTuc().run(dispatcher, after_places("còn cây xăng thì sao", "hoi_thu_tuc", petrol), {})
    assert dispatcher.messages[0]["text"].startswith("Các cửa hàng xăng dầu gần phường Sơn Trà nhất:")
    licence = CollectingDispatcher()  # asking its licence is still the procedure
    await ActionHuongDanThuTuc().run(
        licence, after_places("còn giấy phép cây xăng thì sao", "hoi_thu_tuc", petrol), {})
    assert "Các cửa hàng xăng dầu gần" not in licence.messages[0]["text"]
    near = CollectingDispatcher()  # no places answer before, but a word of nearness: places (it asks where)
    tracker = make_tracker("cây xăng quanh đây", "hoi_thu_tuc", entities=petrol, slots={"loai_dia_diem": "tram_xang"})
    await ActionHuongDanThuTuc().run(near, tracker, {})
    assert near.messages[0]["custom"]["request_location"] and "cửa hàng xăng dầu" in near.messages[0]["custom"]["text"]


async def test_where_the_department_is_asked_as_a_places_question_gets_its_office(api_url: str) -> None:
    for text in ("Where is the Department of Industry and Trade?", "sở công thương ở mô rứa"):
        [message] = await _run(make_tracker(text, "tim_dia_diem"))
        assert "Trung tâm Hành chính" in message["text"]


async def test_a_place_named_gets_its_address_and_hours_not_the_departments(api_url: str) -> None:
    from actions.handoff import ActionGapCanBo

    for action, intent in ((ActionTimDiaDiem, "tim_dia_diem"), (ActionGapCanBo, "gap_can_bo")):
        dispatcher = CollectingDispatcher()
        await action().run(dispatcher, make_tracker("chợ Hàn mấy giờ mở cửa vậy", intent), {})
        [message] = dispatcher.messages
        assert message["text"].startswith("Chợ Hàn: ") and "mở cửa" in message["text"] and "1022" not in message["text"]
