"""The aggregate endpoint of the reference API over its seeded history and today's dossiers."""

from __future__ import annotations

import datetime as dt
from contextlib import closing
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from common.dates import local_now
from dossier_api.db import Database
from dossier_api.seed import HISTORY, generate_history
from dossier_api.server import create_app

STAFF = {"Authorization": "Bearer staff-secret"}


async def _client(db: Path) -> TestClient:
    client = TestClient(TestServer(create_app(str(db), "citizen-secret", staff_token="staff-secret")))
    await client.start_server()
    return client


def test_history_adds_up_to_the_published_years_exactly() -> None:
    dossiers, ratings = generate_history()
    for year, figures in HISTORY.items():
        rows = [r for r in dossiers if r["day"].startswith(str(year))]
        assert sum(r["received"] for r in rows) == figures.received
        assert sum(r["received"] for r in rows if r["filing"] == "truc_tuyen") == figures.online
        assert sum(r["late"] for r in rows) == figures.late
        assert all(r["on_time"] + r["late"] == r["received"] for r in rows)
        assert all(dt.date.fromisoformat(r["day"]).weekday() < 5 for r in rows)
        for level, n in figures.ratings.items():
            assert sum(r["n"] for r in ratings if r["day"].startswith(str(year)) and r["level"] == level) == n


async def test_a_seeded_year_reproduces_2019s_shares(seeded_db: Path) -> None:
    client = await _client(seeded_db)
    try:
        resp = await client.get("/api/v1/reports/summary?from=2019-01-01&to=2019-12-31", headers=STAFF)
        assert resp.status == 200
        body = await resp.json()
        received = body["received"]
        total = sum(received.values())
        assert total == 74950 and round(100 * received["truc_tuyen"] / total, 2) == 90.44
        levels = {}
        for row in body["ratings"]:
            levels[row["level"]] = levels.get(row["level"], 0) + row["n"]
        rated = sum(levels.values())
        assert rated == 5143
        assert round(100 * levels["hai_long"] / rated, 2) == 98.06
        assert round(100 * levels["binh_thuong"] / rated, 2) == 1.94 and levels.get("khong_hai_long", 0) == 0
        assert body["results"]["on_time"] + body["results"]["late"] == 74950
        quarters = [await (await client.get(f"/api/v1/reports/summary?from={a}&to={b}", headers=STAFF)).json()
                    for a, b in (("2019-01-01", "2019-03-31"), ("2019-04-01", "2019-06-30"),
                                 ("2019-07-01", "2019-09-30"), ("2019-10-01", "2019-12-31"))]
        assert sum(sum(q["received"].values()) for q in quarters) == 74950
    finally:
        await client.close()


async def test_live_dossiers_and_ratings_are_counted(seeded_db: Path, tmp_path: Path) -> None:
    db = Database(seeded_db)
    first, last = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    with closing(db.connect()) as conn:
        expected = conn.execute("SELECT COUNT(*) FROM dossiers WHERE received_date BETWEEN ? AND ?",
                                (first.isoformat(), last.isoformat())).fetchone()[0]
    client = await _client(seeded_db)
    try:
        before = await (await client.get(f"/api/v1/reports/summary?from={first}&to={last}", headers=STAFF)).json()
        assert before["received"] == {"khong_ro": expected}
        rated = await client.post("/api/v1/ratings", json={"level": "binh_thuong", "channel": "sms"}, headers=STAFF)
        assert rated.status == 201, await rated.text()
        today = local_now().date().isoformat()
        after = await (await client.get(f"/api/v1/reports/summary?from={today}&to={today}", headers=STAFF)).json()
        assert any(r["channel"] == "sms" and r["level"] == "binh_thuong" and r["n"] >= 1 for r in after["ratings"])
    finally:
        await client.close()


async def test_the_summary_wants_the_staff_token_and_valid_dates(seeded_db: Path) -> None:
    client = await _client(seeded_db)
    try:
        url = "/api/v1/reports/summary?from=2019-01-01&to=2019-12-31"
        assert (await client.get(url)).status == 401
        assert (await client.get(url, headers={"Authorization": "Bearer citizen-secret"})).status == 401
        for query in ("from=2019-01-01", "from=2019-12-31&to=2019-01-01", "from=2000-01-01&to=2019-12-31",
                      "from=2019-13-01&to=2019-12-31"):
            resp = await client.get(f"/api/v1/reports/summary?{query}", headers=STAFF)
            assert resp.status == 400 and (await resp.json())["error"] == "invalid_parameter"
    finally:
        await client.close()
