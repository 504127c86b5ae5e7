"""Tickets and delivery requests are stored once per owner and idempotency key (issue 19: a turn
repeated after a lost reply, a message delivered twice by its channel), against the real reference
server: two API processes on one database, the repeats sent at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sqlite3
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from dossier_api.db import Database
from dossier_api.server import create_app

NOW = dt.datetime(2026, 11, 26, 10, 0)


async def _two_apis(db: Path) -> list[TestClient]:
    apis = [TestClient(TestServer(create_app(str(db), clock=lambda: NOW))) for _ in range(2)]
    for api in apis:
        await api.start_server()
    return apis


async def test_a_repeated_ticket_returns_the_first_and_files_one(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite3"
    apis = await _two_apis(db)
    try:
        body = {"owner": "telegram:9", "content": "Cửa hàng ở chợ Hàn bán hàng không rõ nguồn gốc, đề nghị kiểm tra",
                "idempotency_key": "telegram:9:3001"}
        replies = await asyncio.gather(*(apis[i % 2].post("/api/v1/tickets", json=body) for i in range(6)))
        tickets = [await r.json() for r in replies]
        assert sorted(r.status for r in replies) == [200] * 5 + [201]
        assert len({t["number"] for t in tickets}) == 1
        other_message = await apis[0].post("/api/v1/tickets", json={**body, "idempotency_key": "telegram:9:3002"})
        other_owner = await apis[1].post("/api/v1/tickets", json={**body, "owner": "zalo:9"})  # same key, not theirs
        unkeyed = [await apis[0].post("/api/v1/tickets", json={**body, "idempotency_key": None}) for _ in range(2)]
        assert [r.status for r in (other_message, other_owner, *unkeyed)] == [201] * 4
        numbers = {(await r.json())["number"] for r in (other_message, other_owner, *unkeyed)}
        assert len(numbers | {tickets[0]["number"]}) == 5
        listed = await (await apis[0].get("/api/v1/tickets", params={"status": "all"})).json()
        assert len(listed) == 5
        empty = await apis[0].post("/api/v1/tickets", json={**body, "idempotency_key": ""})
        assert empty.status == 400
    finally:
        for api in apis:
            await api.close()


def _ready_codes(db: Path, n: int) -> list[str]:
    """``n`` results nobody asked to be posted yet (other tests of the session post random ones)."""
    return [d.code for d in Database(db).dossiers("da_co_ket_qua", 500, 0)[0] if not d.delivery_requested][:n]


async def test_a_repeated_delivery_request_returns_the_first_even_after_the_dossier_moved_on(
        seeded_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.sqlite3"
    shutil.copy(seeded_db, db)
    apis = await _two_apis(db)
    try:
        first_code, second_code = _ready_codes(db, 2)
        body = {"owner": "zalo:77", "dossier_code": first_code, "recipient_name": "Trần Thị Bích",
                "phone": "0905 123 456", "address": "12 Lê Lợi, phường Hải Châu, Đà Nẵng",
                "idempotency_key": "zalo:msg-881"}
        replies = await asyncio.gather(*(apis[i % 2].post("/api/v1/deliveries", json=body) for i in range(6)))
        deliveries = [await r.json() for r in replies]
        assert sorted(r.status for r in replies) == [200] * 5 + [201]
        assert len({d["tracking_number"] for d in deliveries}) == 1
        # Another message asking again for the same dossier is a second request: refused as before.
        again = await apis[0].post("/api/v1/deliveries", json={**body, "idempotency_key": "zalo:msg-882"})
        assert again.status == 409 and (await again.json())["error"] == "already_requested"
        # The result was handed over since: the repeat still gets the first request, not a refusal.
        handed = await apis[1].post(f"/api/v1/dossiers/{first_code}/status", json={"status": "da_tra_ket_qua"})
        assert handed.status == 200
        late_repeat = await apis[1].post("/api/v1/deliveries", json=body)
        assert late_repeat.status == 200
        assert (await late_repeat.json())["tracking_number"] == deliveries[0]["tracking_number"]
        # The same key on another dossier of the same owner was used already: the first request answers.
        reused = await apis[0].post("/api/v1/deliveries", json={**body, "dossier_code": second_code})
        assert reused.status == 200 and (await reused.json())["dossier_code"] == first_code
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM deliveries WHERE owner = 'zalo:77'").fetchone()[0] == 1
    finally:
        for api in apis:
            await api.close()


def test_a_database_made_before_the_keys_gets_them(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT UNIQUE, owner TEXT NOT"
                     " NULL, content TEXT NOT NULL, dossier_code TEXT, category TEXT NOT NULL, status TEXT NOT NULL,"
                     " answer TEXT, due_date TEXT NOT NULL, created_at TEXT NOT NULL)")
        conn.execute("CREATE TABLE deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, tracking_number TEXT UNIQUE,"
                     " owner TEXT NOT NULL, dossier_code TEXT NOT NULL, recipient_name TEXT NOT NULL, phone TEXT NOT"
                     " NULL, address TEXT NOT NULL, fee_vnd INTEGER NOT NULL, status TEXT NOT NULL, created_at TEXT"
                     " NOT NULL)")
    Database(path).create_schema()
    with sqlite3.connect(path) as conn:
        for table in ("tickets", "deliveries"):
            assert "idempotency_key" in {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            assert f"{table}_idempotency" in {r[1] for r in conn.execute(f"PRAGMA index_list({table})")}
