from pathlib import Path

import yaml
from aiohttp.test_utils import TestClient, TestServer

from dossier_api.server import create_app


async def _client(db: Path, token: str = "") -> TestClient:
    client = TestClient(TestServer(create_app(str(db), token)))
    await client.start_server()
    return client


async def test_health_openapi_and_errors(seeded_db: Path) -> None:
    client = await _client(seeded_db)
    try:
        assert (await (await client.get("/health")).json())["dossiers"] >= 2000
        spec = yaml.safe_load(await (await client.get("/openapi.yaml")).text())
        assert "/api/v1/dossiers/{code}" in spec["paths"]
        resp = await client.get("/api/v1/dossiers/not-a-code")
        assert resp.status == 400 and (await resp.json())["error"] == "invalid_code"
        resp = await client.get("/api/v1/dossiers?limit=abc")
        assert resp.status == 400
        resp = await client.get("/api/v1/dossiers?status=unknown")
        assert resp.status == 400
        resp = await client.post("/api/v1/ratings", data=b'{"level": "tuyet"}')
        assert resp.status == 400 and (await resp.json())["error"] == "invalid_body"
    finally:
        await client.close()


async def test_token_is_required_when_configured(seeded_db: Path) -> None:
    client = await _client(seeded_db, token="s3cret")
    try:
        assert (await client.get("/api/v1/procedures")).status == 401
        ok = await client.get("/api/v1/procedures", headers={"Authorization": "Bearer s3cret"})
        assert ok.status == 200 and len(await ok.json()) >= 25
        assert (await client.get("/health")).status == 200
    finally:
        await client.close()


async def test_late_is_computed_at_request_time_from_the_department_clock(seeded_db: Path) -> None:
    import datetime as dt

    from common.deadlines import deadline
    from dossier_api.db import Database

    items, _ = Database(seeded_db).dossiers("dang_xu_ly", 500, 0)
    overdue = next(d for d in items if d.due_date < dt.date(2026, 11, 25))
    now = {"value": dt.datetime.combine(overdue.due_date, dt.time(23, 59))}
    client = TestClient(TestServer(create_app(str(seeded_db), clock=lambda: now["value"])))
    await client.start_server()
    try:
        on_due_day = await (await client.get(f"/api/v1/dossiers/{overdue.code}")).json()
        assert on_due_day["late"] is False and on_due_day["days_late"] == 0
        now["value"] = dt.datetime(2026, 12, 1, 8, 0)  # the same server, days later: computed anew
        later = await (await client.get(f"/api/v1/dossiers/{overdue.code}")).json()
        assert later["late"] is True
        assert later["days_late"] == (dt.date(2026, 12, 1) - overdue.due_date).days
        page = await (await client.get("/api/v1/dossiers", params={"status": "dang_xu_ly", "limit": 500})).json()
        for item in page["items"]:
            due = dt.date.fromisoformat(item["due_date"])
            assert item["late"] == (due < dt.date(2026, 12, 1))
            assert item["days_late"] == deadline(overdue.status, due, dt.date(2026, 12, 1)).days_late
        finished = await (await client.get("/api/v1/dossiers", params={"status": "da_tra_ket_qua"})).json()
        assert not any(item["late"] for item in finished["items"])
    finally:
        await client.close()
