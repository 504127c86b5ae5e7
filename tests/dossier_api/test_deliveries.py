"""Result delivery requests: only for results that exist or are due soon, one per dossier."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from dossier_api.db import Database
from dossier_api.server import create_app

NOW = dt.datetime(2026, 11, 26, 10, 0)


def _code(db: Path, status: str, due_within: int | None = None) -> str:
    for dossier in Database(db).dossiers(status, 500, 0)[0]:
        # not one whose result other tests of the session already asked to be posted (they pick at random)
        due_soon = due_within is None or (dossier.due_date - NOW.date()).days <= due_within
        if due_soon and not dossier.delivery_requested:
            return dossier.code
    raise AssertionError(f"no {status} dossier in the seed")


async def test_delivery_rules(seeded_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.sqlite3"  # requests stay out of the database other tests share
    shutil.copy(seeded_db, db)
    client = TestClient(TestServer(create_app(str(db), clock=lambda: NOW)))
    await client.start_server()
    try:
        ready = _code(db, "da_co_ket_qua")
        body = {"owner": "telegram:5", "dossier_code": ready.lower(), "recipient_name": "Trần Thị Bích",
                "phone": "0905 123 456", "address": "12 Lê Lợi, phường Hải Châu, Đà Nẵng"}
        created = await client.post("/api/v1/deliveries", json=body)
        delivery = await created.json()
        assert created.status == 201 and delivery["tracking_number"].startswith("BD261126")
        assert (delivery["phone"], delivery["fee_vnd"], delivery["status"]) == ("84905123456", 25000, "cho_giao")
        again = await client.post("/api/v1/deliveries", json=body)
        assert again.status == 409 and (await again.json())["error"] == "already_requested"
        seen = await client.get(f"/api/v1/deliveries/{delivery['tracking_number']}", params={"owner": "telegram:5"})
        hidden = await client.get(f"/api/v1/deliveries/{delivery['tracking_number']}", params={"owner": "web:x"})
        assert (seen.status, hidden.status) == (200, 404)

        returned = _code(db, "da_tra_ket_qua")
        for change, status, error in [
            ({"dossier_code": returned}, 409, "not_deliverable"),
            ({"dossier_code": "000.00.12.H17-200101-9999"}, 404, "not_found"),
            ({"dossier_code": "ABC"}, 400, "invalid_code"),
            ({"phone": "12345"}, 400, "invalid_phone"),
            ({"address": "x" * 5000}, 400, "invalid_body"),
            ({"recipient_name": ""}, 400, "invalid_body"),
        ]:
            resp = await client.post("/api/v1/deliveries", json={**body, **change})
            assert (resp.status, (await resp.json())["error"]) == (status, error), change
    finally:
        await client.close()
