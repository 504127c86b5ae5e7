import logging
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from dossier_api.server import MaskedAccessLogger, create_app
from tests.rawhttp import raw_status


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


async def test_malformed_parameters_and_bodies_get_400_not_500(seeded_db: Path) -> None:
    """Issue 15 'Low': every one of these answered 500 before."""
    client = await _client(seeded_db)
    try:
        for query in ["limit=²", "limit=١٢", "offset=³", "limit=" + "9" * 30, "offset=-1", "limit=1e3"]:
            resp = await client.get(f"/api/v1/dossiers?{query}")
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_parameter", query
        assert (await client.get("/api/v1/events?after=" + "9" * 5000)).status == 400
        for query in ["lat=16.07", "lon=108.2", "lat=16.07&lon=", "lat=١٦&lon=108", "lat=nan&lon=1", "lat=inf&lon=1"]:
            resp = await client.get(f"/api/v1/places?type=cho&{query}")
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_parameter", query
        for appointment_id in [str(2**63), str(2**64 + 1), "9" * 400, "²", "-1"]:
            resp = await client.post(f"/api/v1/appointments/{appointment_id}/cancel", json={"owner": "web:x"})
            assert resp.status == 400, appointment_id
        deep = b'{"owner": "web:abc", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
        surrogate = b'{"owner": "web:abc", "content": "\\ud800 ph\xe1\xba\xa3n \xc3\xa1nh ho\xc3\xa0i"}'
        for path in ["/api/v1/ratings", "/api/v1/tickets", "/api/v1/appointments", "/api/v1/deliveries",
                     "/api/v1/appointments/1/cancel", "/api/v1/dossiers/000.00.12.H17-200115-0001/status",
                     "/api/v1/tickets/PA261126-0001/answer"]:
            for body in (deep, surrogate, b"\xff\xfe{", b"[1]", b"null", b"[[null, null]]"):
                resp = await client.post(path, data=body)
                assert resp.status in (400, 404), (path, body[:20], resp.status)
                assert (await resp.json())["error"] in ("invalid_body", "not_found")
        # A normal request is still right afterwards.
        page = await (await client.get("/api/v1/dossiers?limit=2")).json()
        assert len(page["items"]) == 2
    finally:
        await client.close()


async def test_a_token_that_is_not_utf8_is_refused_without_a_500(seeded_db: Path) -> None:
    client = await _client(seeded_db, token="s3cret")
    try:
        status = await raw_status(client.host, client.port, "GET", "/api/v1/procedures",
                                  b"Authorization: Bearer \xff\r\n")
        assert status == 401
        wrong = await client.get("/api/v1/procedures", headers={"Authorization": "Bearer s3creT"})
        assert wrong.status == 401
        assert (await client.get("/api/v1/procedures", headers={"Authorization": "Bearer s3cret"})).status == 200
    finally:
        await client.close()


async def test_access_log_hides_query_values(seeded_db: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``owner=sms:<phone>`` was written in clear by the default access log."""
    server = TestServer(create_app(str(seeded_db)))
    await server.start_server(access_log_class=MaskedAccessLogger)  # as ``python -m dossier_api`` runs it
    client = TestClient(server)
    await client.start_server()
    try:
        with caplog.at_level(logging.INFO, logger="aiohttp.access"):
            resp = await client.get("/api/v1/appointments", params={"owner": "sms:84905123456"})
            assert resp.status == 200
            await client.get("/api/v1/tickets/PA261126-0001", params={"owner": "zalo:9876543210"})
        lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
        assert any('"GET /api/v1/appointments?owner=***" 200' in line for line in lines), lines
        assert not any("84905123456" in line or "9876543210" in line for line in lines)
    finally:
        await client.close()
