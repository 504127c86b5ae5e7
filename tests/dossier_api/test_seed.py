from collections import Counter

from common.codes import canonical_code
from common.status import DossierStatus
from dossier_api.catalog import load_catalog
from dossier_api.seed import AGENCY_CODE, generate


def test_seed_is_deterministic_and_large_enough() -> None:
    procedures = load_catalog()
    first = generate(procedures, 2400, 8283)
    assert first == generate(procedures, 2400, 8283)
    assert first != generate(procedures, 2400, 1)
    assert len(first) >= 2000


def test_seed_codes_are_valid_unique_and_cover_every_status() -> None:
    rows = generate(load_catalog(), 2400, 8283)
    codes = [r["code"] for r in rows]
    assert len(set(codes)) == len(codes)
    assert all(canonical_code(c) == c and c.startswith(AGENCY_CODE) for c in codes)
    counts = Counter(r["status"] for r in rows)
    assert set(counts) == {s.value for s in DossierStatus}
    assert min(counts.values()) >= 30


def test_dates_are_consistent() -> None:
    for r in generate(load_catalog(), 500, 7):
        assert r["received_date"] <= r["due_date"]
        if r["result_date"]:
            assert r["received_date"] <= r["result_date"]
        assert r["code"].split("-")[1] == r["received_date"][2:].replace("-", "")
