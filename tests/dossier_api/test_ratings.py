"""Ratings are stored once per idempotency key (issue 19: two presses on one rating keyboard)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from dossier_api.server import create_app


async def test_a_repeated_rating_returns_the_first_and_stores_one(tmp_path: Path) -> None:
    db = str(tmp_path / "r.sqlite3")
    apis = [TestClient(TestServer(create_app(db))), TestClient(TestServer(create_app(db)))]
    for api in apis:
        await api.start_server()
    try:
        first_press = {"level": "hai_long", "channel": "telegram", "idempotency_key": "telegram:5:kb:2001"}
        second_press = {**first_press, "level": "khong_hai_long"}  # another level of the same keyboard
        replies = await asyncio.gather(*(apis[i % 2].post("/api/v1/ratings", json=first_press if i == 0
                                                          else second_press) for i in range(5)))
        bodies = [await r.json() for r in replies]
        assert sorted(r.status for r in replies) == [200] * 4 + [201]
        assert len({b["id"] for b in bodies}) == 1 and len({b["level"] for b in bodies}) == 1
        other = await apis[0].post("/api/v1/ratings", json={**first_press, "idempotency_key": "telegram:5:kb:2002"})
        plain = await apis[1].post("/api/v1/ratings", json={"level": "binh_thuong", "channel": "sms"})
        assert (other.status, plain.status) == (201, 201)
        counts = await (await apis[0].get("/api/v1/ratings/summary")).json()
        assert sum(counts.values()) == 3
        empty = await apis[0].post("/api/v1/ratings", json={**first_press, "idempotency_key": ""})
        assert empty.status == 400
    finally:
        for api in apis:
            await api.close()
