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
