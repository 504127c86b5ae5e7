"""The places dataset, its search, and the /api/v1/places endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from dossier_api.places import PLACE_TYPES, PlaceIndex, distance_m
from dossier_api.server import create_app


def test_dataset_covers_every_type_with_valid_wards() -> None:
    index = PlaceIndex.load()
    assert {p.type for p in index.places} == set(PLACE_TYPES)
    assert all(p.ward in index.wards for p in index.places)
    assert all(15.9 < p.lat < 16.2 and 108.0 < p.lon < 108.4 for p in index.places)  # inside the city


def test_distance_is_haversine() -> None:
    assert distance_m(16.0, 108.0, 16.0, 108.0) == 0
    assert 110_000 < distance_m(16.0, 108.0, 17.0, 108.0) < 112_000  # one degree of latitude


@pytest.mark.parametrize(("text", "ward"), [
    ("ATM ở phường Hải Châu", "Hải Châu"),
    ("atm o phuong hai chau nhe", "Hải Châu"),
    ("toi dang o HOA KHANH.", "Hòa Khánh"),
    ("chợ gần Ngũ Hành Sơn", "Ngũ Hành Sơn"),
    ("siêu thị gần nhất", None),
    ("hải", None),
])
def test_ward_is_found_in_free_text(text: str, ward: str | None) -> None:
    assert PlaceIndex.load().find_ward(text) == ward


@pytest.mark.parametrize(("text", "name"), [
    ("chợ Hàn mở cửa mấy giờ", "Chợ Hàn"), ("coopmart da nang o dau", "Co.opmart Đà Nẵng"),
    ("Co.opmart Hòa Xuân mấy giờ đóng cửa", "Co.opmart Hòa Xuân"), ("lotte mart nằm đường nào", "Lotte Mart Đà Nẵng"),
    ("bệnh viện Đà Nẵng ở đâu", "Bệnh viện Đà Nẵng"),
    # its type's word alone, or a "cho" typed without marks, names no place
    ("bệnh viện gần nhất", None), ("cho con hoi atm o dau", None), ("atm phường Hải Châu", None),
])
def test_a_place_is_found_by_its_name(text: str, name: str | None) -> None:
    place = PlaceIndex.load().named(text)
    assert (place.name if place else None) == name


def test_nearest_first() -> None:
    hits = PlaceIndex.load().nearest("cho", 16.0686, 108.2240)  # at Hàn market
    assert [h.place.name for h in hits][:1] == ["Chợ Hàn"]
    assert [h.distance_m for h in hits] == sorted(h.distance_m for h in hits) and len(hits) == 3


async def test_endpoint(seeded_db: Path) -> None:
    client = TestClient(TestServer(create_app(str(seeded_db))))
    await client.start_server()
    try:
        by_point = await (await client.get("/api/v1/places", params={"type": "benh_vien", "lat": "16.0727",
                                                                    "lon": "108.2167", "limit": "2"})).json()
        assert by_point["ward"] is None and [i["name"] for i in by_point["items"]][0] == "Bệnh viện Đà Nẵng"
        assert len(by_point["items"]) == 2 and by_point["items"][0]["distance_m"] < 50
        params = {"type": "atm", "q": "cay atm phuong cam le"}
        by_ward = await (await client.get("/api/v1/places", params=params)).json()
        assert by_ward["ward"] == "Cẩm Lệ" and by_ward["items"][0]["ward"] == "Cẩm Lệ"
        named = await (await client.get("/api/v1/places", params={"named": "chợ Cồn mấy giờ đóng cửa"})).json()
        hours = PlaceIndex.load().named("chợ Cồn").hours
        assert [(i["name"], i["hours"]) for i in named["items"]] == [("Chợ Cồn", hours)]
        nothing = await (await client.get("/api/v1/places", params={"named": "gần nhà tôi"})).json()
        assert nothing["items"] == []
        for params, error in [({"type": "rap_phim", "q": "Hải Châu"}, "invalid_parameter"),
                              ({"type": "atm", "q": "gần nhà tôi"}, "unknown_area"),
                              ({"type": "atm", "lat": "91", "lon": "108"}, "invalid_parameter"),
                              ({"type": "atm", "lat": "abc", "lon": "108"}, "invalid_parameter")]:
            resp = await client.get("/api/v1/places", params=params)
            assert resp.status == 400 and (await resp.json())["error"] == error
    finally:
        await client.close()
