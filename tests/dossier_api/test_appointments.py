"""Queue numbers: the calendar, the slots, and booking that never gives one place twice."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from dossier_api.calendar import Calendar, ClosedDay
from dossier_api.server import create_app

NOW = dt.datetime(2026, 11, 26, 10, 5)  # Thursday morning
MONDAY = "2026-11-30"


def test_calendar_slots_and_closed_days() -> None:
    calendar = Calendar.load()
    slots = [t.strftime("%H:%M") for t in calendar.slots()]
    assert slots[0] == "07:30" and "11:00" in slots and "11:30" not in slots and slots[-1] == "16:30"
    cases = [(NOW, dt.date(2026, 11, 25), "past"), (NOW, dt.date(2026, 11, 28), "weekend"),
             (NOW, dt.date(2027, 1, 1), "too_far"),
             (dt.datetime(2026, 12, 20, 9), dt.date(2026, 12, 31), "holiday"),  # announced in calendar.yml
             (dt.datetime(2026, 12, 20, 9), dt.date(2027, 1, 1), "holiday")]  # fixed public holiday
    for now, day, reason in cases:
        with pytest.raises(ClosedDay) as closed:
            calendar.check_day(day, now)
        assert closed.value.reason == reason
    assert calendar.open_days(NOW, 3) == [dt.date(2026, 11, 26), dt.date(2026, 11, 27), dt.date(2026, 11, 30)]


async def _api(db: Path, counters: int = 3) -> TestClient:
    calendar = dataclasses.replace(Calendar.load(), counters=counters)
    client = TestClient(TestServer(create_app(str(db), calendar=calendar, clock=lambda: NOW)))
    await client.start_server()
    return client


async def test_slots_booking_listing_cancelling(tmp_path: Path) -> None:
    client = await _api(tmp_path / "a.sqlite3")
    try:
        today = await (await client.get("/api/v1/appointments/slots", params={"date": "2026-11-26"})).json()
        assert today["slots"][0]["time"] == "10:30"  # earlier slots of today are gone
        sunday = await (await client.get("/api/v1/appointments/slots", params={"date": "2026-11-29"})).json()
        assert sunday == {"date": "2026-11-29", "closed": "weekend", "slots": []}

        first = await client.post("/api/v1/appointments", json={"owner": "telegram:1", "date": MONDAY, "time": "08:00"})
        second = await client.post("/api/v1/appointments", json={"owner": "zalo:2", "date": MONDAY, "time": "08:00"})
        a, b = await first.json(), await second.json()
        assert (first.status, second.status) == (201, 201)
        assert (a["queue_number"], a["counter"], b["queue_number"], b["counter"]) == (1, 1, 2, 2)
        slots = await (await client.get("/api/v1/appointments/slots", params={"date": MONDAY})).json()
        assert next(s for s in slots["slots"] if s["time"] == "08:00")["free"] == 1

        mine = await (await client.get("/api/v1/appointments", params={"owner": "telegram:1"})).json()
        assert [m["id"] for m in mine] == [a["id"]]
        stolen = await client.post(f"/api/v1/appointments/{a['id']}/cancel", json={"owner": "zalo:2"})
        assert stolen.status == 404  # not theirs
        cancelled = await client.post(f"/api/v1/appointments/{a['id']}/cancel", json={"owner": "telegram:1"})
        assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"
        assert await (await client.get("/api/v1/appointments", params={"owner": "telegram:1"})).json() == []
    finally:
        await client.close()


@pytest.mark.parametrize(("body", "status", "error"), [
    ({"date": "2026-11-29", "time": "08:00"}, 400, "closed_day"),   # Sunday
    ({"date": "2026-11-20", "time": "08:00"}, 400, "closed_day"),   # past
    ({"date": "2027-01-04", "time": "08:00"}, 400, "closed_day"),   # beyond the 30-day window
    ({"date": "2026-11-26", "time": "08:00"}, 400, "invalid_time"),  # today, already past
    ({"date": MONDAY, "time": "12:00"}, 400, "invalid_time"),       # lunch break
    ({"date": "30/11/2026", "time": "08:00"}, 400, "invalid_body"),
])
async def test_bad_bookings_are_refused_and_store_nothing(tmp_path: Path, body: dict, status: int, error: str) -> None:
    client = await _api(tmp_path / "b.sqlite3")
    try:
        resp = await client.post("/api/v1/appointments", json={"owner": "web:x", **body})
        assert resp.status == status and (await resp.json())["error"] == error
        assert await (await client.get("/api/v1/appointments", params={"owner": "web:x"})).json() == []
    finally:
        await client.close()


async def test_the_last_place_goes_to_exactly_one_of_many_concurrent_requests(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    apis = [await _api(db, counters=2), await _api(db, counters=2)]  # two API processes' worth, one database
    try:
        async def book(i: int):
            resp = await apis[i % 2].post("/api/v1/appointments",
                                          json={"owner": f"sms:8490000{i:04d}", "date": MONDAY, "time": "09:30"})
            return resp.status, await resp.json()

        results = await asyncio.gather(*(book(i) for i in range(24)))
        won = [body for status, body in results if status == 201]
        lost = [body for status, body in results if status == 409]
        assert len(won) == 2 and len(lost) == 22 and all(b["error"] == "slot_full" for b in lost)
        assert sorted(b["counter"] for b in won) == [1, 2]
        assert sorted(b["queue_number"] for b in won) == [1, 2]
    finally:
        for api in apis:
            await api.close()


async def test_a_repeated_booking_returns_the_first_and_an_owner_holds_one_place_per_slot(tmp_path: Path) -> None:
    """Issue 19: the same press twice books once; a second press of another counter's button
    (a new key, the same owner and time) is refused 409; another owner still gets a place."""
    db = tmp_path / "d.sqlite3"
    apis = [await _api(db), await _api(db)]
    try:
        booking = {"owner": "telegram:7", "date": MONDAY, "time": "08:30", "idempotency_key": "telegram:7:cb:1001"}
        replies = await asyncio.gather(*(apis[i % 2].post("/api/v1/appointments", json=booking) for i in range(6)))
        bodies = [await r.json() for r in replies]
        assert sorted(r.status for r in replies) == [200] * 5 + [201]
        assert len({b["id"] for b in bodies}) == 1 and {b["queue_number"] for b in bodies} == {1}

        again = await apis[0].post("/api/v1/appointments", json={**booking, "idempotency_key": "telegram:7:cb:1002"})
        assert again.status == 409 and (await again.json())["error"] == "already_booked"
        unkeyed = await apis[1].post("/api/v1/appointments", json={**booking, "idempotency_key": None})
        assert unkeyed.status == 409
        other = await apis[0].post("/api/v1/appointments", json={**booking, "owner": "zalo:8"})
        assert other.status == 201 and (await other.json())["counter"] == 2  # the key is the owner's own
        mine = await (await apis[0].get("/api/v1/appointments", params={"owner": "telegram:7"})).json()
        assert len(mine) == 1

        cancelled = await apis[0].post(f"/api/v1/appointments/{bodies[0]['id']}/cancel", json={"owner": "telegram:7"})
        assert cancelled.status == 200
        replay = await apis[1].post("/api/v1/appointments", json=booking)  # the old press, replayed
        assert replay.status == 200 and (await replay.json())["status"] == "cancelled"
        rebooked = await apis[1].post("/api/v1/appointments", json={**booking, "idempotency_key": "telegram:7:cb:1003"})
        assert rebooked.status == 201  # after a cancellation the citizen may book that time again
    finally:
        for api in apis:
            await api.close()


async def test_a_database_made_before_idempotency_keys_gets_the_columns(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE appointments (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL,"
                           " day TEXT NOT NULL, time TEXT NOT NULL, counter INTEGER NOT NULL, queue_number INTEGER"
                           " NOT NULL, procedure_id TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL);"
                           "CREATE TABLE ratings (id INTEGER PRIMARY KEY AUTOINCREMENT, level TEXT NOT NULL,"
                           " channel TEXT NOT NULL, dossier_code TEXT, comment TEXT, created_at TEXT NOT NULL);")
    client = await _api(path)
    try:
        booking = {"owner": "web:1", "date": MONDAY, "time": "09:00", "idempotency_key": "web:1:m1"}
        first = await client.post("/api/v1/appointments", json=booking)
        second = await client.post("/api/v1/appointments", json=booking)
        assert (first.status, second.status) == (201, 200)
    finally:
        await client.close()
