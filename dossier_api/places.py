"""Nearby places: the dataset (``data/places.yml``) and the search over it.

Search is by type and either a point (a shared location) or a ward named in
free text (``atm phuong hai chau``), nearest first with the distance.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.text import fold_key, nfc
from dossier_api.models import Place

PLACES_FILE = Path(__file__).parent / "data" / "places.yml"
EARTH_RADIUS_M = 6_371_000
_PUNCT = re.compile(r"[^\w\s]")

PLACE_TYPES = {
    "sieu_thi": "siêu thị",
    "trung_tam_thuong_mai": "trung tâm thương mại",
    "cho": "chợ",
    "tram_xang": "cửa hàng xăng dầu",
    "nha_hang": "nhà hàng",
    "khach_san": "khách sạn",
    "ngan_hang": "ngân hàng",
    "benh_vien": "bệnh viện",
    "atm": "ATM",
}


def _key(text: str) -> str:
    """Folded words between spaces, for whole-word search."""
    return " " + " ".join(fold_key(_PUNCT.sub(" ", text)).split()) + " "


def _name_keys(name: str, city: str, label: str) -> set[str]:
    """The ways a place's name is typed: as written, its punctuation typed or not ("Co.opmart",
    "coopmart"), without the city's name ("Lotte Mart Đà Nẵng": "lotte mart"). Each has a word besides
    its type's (``label``: "Bệnh viện Đà Nẵng" is not "bệnh viện") and two words or one long one,
    so a name is not found inside other words."""
    written = _key(name).strip()
    joined = " ".join(fold_key(re.sub(r"[^\w\s]", "", name)).split())
    keys = {written, joined}
    city_key = _key(city).strip()
    keys |= {k[: -len(city_key)].strip() for k in keys if k.endswith(f" {city_key}")}
    generic = set(_key(label).split())
    return {k for k in keys if (len(k.split()) >= 2 or len(k) >= 6) and set(k.split()) - generic}


@dataclass(frozen=True)
class Nearby:
    place: Place
    distance_m: int


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


class PlaceIndex:
    """The places of one city and the centres of its wards."""

    def __init__(self, city: str, places: list[Place], wards: dict[str, tuple[float, float]]) -> None:
        self.city = city
        self.places = places
        self.wards = wards
        # Longest names first so "Hòa Khánh" is not found inside a longer ward name.
        self._ward_keys = sorted(((fold_key(w), w) for w in wards), key=lambda kw: -len(kw[0]))
        self._name_keys = sorted(((k, p) for p in places for k in _name_keys(p.name, city, PLACE_TYPES[p.type])),
                                 key=lambda kp: -len(kp[0]))

    @classmethod
    def load(cls, path: Path = PLACES_FILE) -> PlaceIndex:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        places = [Place.parse_obj(p) for p in data["places"]]
        unknown = {p.type for p in places} - PLACE_TYPES.keys()
        if unknown:
            raise ValueError(f"unknown place types in {path}: {sorted(unknown)}")
        wards = {str(name): (float(lat), float(lon)) for name, (lat, lon) in data["wards"].items()}
        return cls(str(data["city"]), places, wards)

    def find_ward(self, text: str) -> str | None:
        """The ward named in ``text`` (with or without diacritics), if any."""
        key = " " + fold_key(_PUNCT.sub(" ", text)) + " "
        for ward_key, ward in self._ward_keys:
            if f" {ward_key} " in key:
                return ward
        return None

    def named(self, text: str) -> Place | None:
        """The place ``text`` names ("chợ Hàn mở cửa mấy giờ", "coopmart da nang o dau"), if any. A
        name that starts with "chợ" must be typed with its marks ("cho con hoi" is no Chợ Cồn)."""
        folded, marked = _key(text), " " + " ".join(_PUNCT.sub(" ", nfc(text).lower()).split()) + " "
        for name_key, place in self._name_keys:
            if f" {name_key} " in folded and (not name_key.startswith("cho ") or " chợ " in marked):
                return place
        return None

    def nearest(self, place_type: str, lat: float, lon: float, limit: int = 3) -> list[Nearby]:
        """Places of ``place_type`` nearest to the point, nearest first."""
        found = [Nearby(p, round(distance_m(lat, lon, p.lat, p.lon))) for p in self.places if p.type == place_type]
        return sorted(found, key=lambda n: n.distance_m)[:limit]

    def in_ward(self, place_type: str, ward: str, limit: int = 3) -> list[Nearby]:
        """Places of ``place_type`` nearest to the centre of ``ward``."""
        lat, lon = self.wards[ward]
        return self.nearest(place_type, lat, lon, limit)
