"""The staff console's sign-in, sessions, CSRF and roles, against a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import aiohttp
import bcrypt
import pytest

from bot.staff.accounts import AccountError, Accounts, Role, SignIn, Staff
from bot.staff.refs import REFS_KEY
from common import handoff
from tests.bot.conftest import ADMIN_PASSWORD, ANNOTATOR_PASSWORD, NOW
from tests.bot.conftest import csrf as _csrf
from tests.bot.conftest import sign_in as _sign_in


def test_passwords_are_hashed_and_weak_ones_refused(accounts) -> None:
    import sqlite3

    stored = sqlite3.connect(accounts.path).execute("SELECT password_hash FROM staff").fetchall()
    assert all(h.startswith("$2b$") and ADMIN_PASSWORD not in h for (h,) in stored)
    for name, password in [("x", ADMIN_PASSWORD), ("new.user", "short1A"), ("new.user", "alllowercase123"),
                           ("admin.so", ADMIN_PASSWORD)]:
        with pytest.raises(AccountError):
            accounts.create(name, password, Role.ANNOTATOR, NOW)


def test_lock_out_after_repeated_failures(accounts) -> None:
    assert accounts.sign_in("lan.nguyen", "wrong", NOW)[0] is SignIn.WRONG
    assert accounts.sign_in("lan.nguyen", "wrong", NOW)[0] is SignIn.WRONG
    assert accounts.sign_in("lan.nguyen", "wrong", NOW)[0] is SignIn.LOCKED
    assert accounts.sign_in("lan.nguyen", ANNOTATOR_PASSWORD, NOW)[0] is SignIn.LOCKED  # even the right one
    later = NOW + dt.timedelta(minutes=16)
    assert accounts.sign_in("lan.nguyen", ANNOTATOR_PASSWORD, later)[0] is SignIn.OK
    assert accounts.sign_in("nobody", "x", NOW) == (SignIn.WRONG, None)


async def test_every_console_route_refuses_anonymous_requests(console) -> None:
    routes = [(r.method, r.resource.canonical) for r in console.server.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/staff") and r.method != "HEAD"]
    assert len(routes) >= 14  # every page and API of the console, read from the router itself
    for method, path in routes:
        if path == "/staff/login":
            continue
        url = re.sub(r"\{[^}]+\}", "x1", path)
        resp = await console.request(method, url, allow_redirects=False)
        if path.startswith("/staff/api/"):
            assert resp.status == 401, (method, path)
        else:
            assert resp.status == 302 and resp.headers["Location"].startswith("/staff/login"), (method, path)


async def test_sign_in_session_and_sign_out(console, redis_url) -> None:
    import redis.asyncio as aioredis

    wrong = await _sign_in(console, "admin.so", "not-it")
    assert wrong.status == 200 and "không đúng" in await wrong.text()
    ok = await _sign_in(console, "admin.so", ADMIN_PASSWORD)
    assert ok.status == 302 and ok.headers["Location"] == "/staff/"
    cookie = ok.cookies["sct_staff"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"

    redis = aioredis.from_url(redis_url)
    await handoff.start(redis, "zalo:4242", time.time(), 300)  # now: the stack's gateway times out old ones
    home = await (await console.get("/staff/")).text()
    assert "admin.so" in home and 'href="/staff/handoffs"' in home  # handoffs wait here
    queue = await (await console.get("/staff/handoffs")).text()
    assert f'data-ref="{console.app[REFS_KEY].of("zalo:4242")}"' in queue and "zalo:4242" not in queue
    await handoff.end(redis, "zalo:4242", time.time(), "test", mode="any")
    await redis.close()

    out = await console.post("/staff/logout", data={"csrf_token": await _csrf(console)}, allow_redirects=False)
    assert out.status == 302
    again = await console.get("/staff/", allow_redirects=False)
    assert again.status == 302  # the session is gone


async def test_login_without_its_csrf_token_is_refused(console) -> None:
    resp = await console.post("/staff/login", data={"username": "admin.so", "password": ADMIN_PASSWORD})
    assert resp.status == 403


async def test_state_changes_need_the_csrf_token_and_the_role(console, accounts) -> None:
    await _sign_in(console, "admin.so", ADMIN_PASSWORD)
    new = {"username": "minh.tran", "password": "Bien-tap-2026", "role": "annotator"}
    assert (await console.post("/staff/api/users", json=new)).status == 403  # no CSRF token
    bad = await console.post("/staff/api/users", json=new, headers={"X-CSRF-Token": "forged"})
    assert bad.status == 403
    created = await console.post("/staff/api/users", json=new, headers={"X-CSRF-Token": await _csrf(console)})
    assert created.status == 201 and "minh.tran" in [s.username for s in accounts.list()]
    weak = await console.post("/staff/api/users", json={**new, "username": "a.b", "password": "123"},
                              headers={"X-CSRF-Token": await _csrf(console)})
    assert weak.status == 400 and "Mật khẩu" in (await weak.json())["error"]

    console.session.cookie_jar.clear()
    await _sign_in(console, "lan.nguyen", ANNOTATOR_PASSWORD)
    token = await _csrf(console)
    assert (await console.get("/staff/users")).status == 403
    refused = await console.post("/staff/api/users", json={**new, "username": "other.one"},
                                 headers={"X-CSRF-Token": token})
    assert refused.status == 403 and "other.one" not in [s.username for s in accounts.list()]


async def test_locked_account_is_told_so(console) -> None:
    for _ in range(3):
        last = await _sign_in(console, "lan.nguyen", "wrong-password")
    assert "tạm khóa" in await last.text()


def test_cli_creates_an_account_without_any_default_password(tmp_path) -> None:
    env = {"STAFF_DB_PATH": str(tmp_path / "cli.sqlite3"), "PATH": "/usr/bin:/bin"}
    made = subprocess.run([sys.executable, "-m", "bot.staff", "create-user", "thu.le", "--role", "annotator",
                           "--password-stdin"], input="Mat-khau-2026\n", text=True, capture_output=True, env=env)
    assert made.returncode == 0 and "Đã tạo tài khoản thu.le" in made.stdout
    weak = subprocess.run([sys.executable, "-m", "bot.staff", "create-user", "an.vo", "--role", "admin",
                           "--password-stdin"], input="admin\n", text=True, capture_output=True, env=env)
    assert weak.returncode != 0 and "Mật khẩu" in weak.stderr
    listed = subprocess.run([sys.executable, "-m", "bot.staff", "list-users"], text=True, capture_output=True, env=env)
    assert listed.stdout.split() == ["thu.le", "annotator"]


async def test_inbox_review_confirms_into_the_batch_file_or_discards(inbox_console, redis_url) -> None:
    import redis.asyncio as aioredis

    from common import inbox

    client, nlu_dir = inbox_console
    redis = aioredis.from_url(redis_url)
    for text, intent in [("làm giấy phép bán gas tốn nhiêu tiền, gọi 0905123456", "hoi_thu_tuc"),
                         ("ádfghj", "nlu_fallback")]:
        await redis.xadd(inbox.STREAM, inbox.record_fields(text, "zalo:1", intent, 0.4, NOW))
    await redis.close()
    assert (await client.get("/staff/inbox", allow_redirects=False)).status == 302  # anonymous

    await _sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)  # annotators review
    page = await (await client.get("/staff/inbox")).text()
    assert "&lt;SĐT&gt;" in page and "0905123456" not in page
    first, second = re.findall(r'action="/staff/api/inbox/([^"]+)"', page)
    token = await _csrf(client)
    assert (await client.post(f"/staff/api/inbox/{first}", json={"action": "confirm", "intent": "hoi_le_phi"})
            ).status == 403  # no CSRF token
    confirmed = await client.post(f"/staff/api/inbox/{first}", json={"action": "confirm", "intent": "hoi_le_phi"},
                                  headers={"X-CSRF-Token": token})
    assert confirmed.status == 200 and (await confirmed.json())["file"].startswith("inbox_")
    discarded = await client.post(f"/staff/api/inbox/{second}", json={"action": "discard"},
                                  headers={"X-CSRF-Token": token})
    assert discarded.status == 200
    again = await client.post(f"/staff/api/inbox/{second}", json={"action": "discard"},
                              headers={"X-CSRF-Token": token})
    assert again.status == 404
    [batch] = list(nlu_dir.glob("inbox_*.yml"))
    assert "- làm giấy phép bán gas tốn nhiêu tiền, gọi 0900000000" in batch.read_text()  # nobody's number
    assert "ádfghj" not in batch.read_text()
    assert "Hộp thư trống" in await (await client.get("/staff/inbox")).text()


# -- sign-in off the event loop, throttles, no enumeration (issue 15, M3 and M4) -----------------


@contextlib.asynccontextmanager
async def _sign_in_form(client) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """An HTTP session to the console that keeps no cookies, and one login CSRF token for all its attempts."""
    async with aiohttp.ClientSession(base_url=str(client.make_url("")), cookie_jar=aiohttp.DummyCookieJar()) as http:
        yield http, (await http.get("/staff/login")).cookies["sct_login_csrf"].value


async def _attempt(http: aiohttp.ClientSession, username: str, password: str, token: str, address: str = ""):
    """One sign-in POST with a fixed login CSRF token (cookie and field), from ``address`` when the test
    gateway trusts the test client as a proxy; the answer's status, body (token removed) and duration."""
    headers = {"Cookie": f"sct_login_csrf={token}"} | ({"X-Forwarded-For": address} if address else {})
    start = time.monotonic()
    resp = await http.post("/staff/login", data={"username": username, "password": password, "csrf_token": token},
                           headers=headers, allow_redirects=False)
    body = re.sub(r'name="csrf_token" value="[^"]+"', "", await resp.text())
    return resp.status, body, time.monotonic() - start


def _bcrypt_seconds() -> float:
    hashed = bcrypt.hashpw(b"x", bcrypt.gensalt())
    start = time.monotonic()
    bcrypt.checkpw(b"y", hashed)
    return time.monotonic() - start


@pytest.fixture
async def proxied_console(accounts, redis_url, gateway):
    """A console behind a trusted proxy (the test client): X-Forwarded-For names each attempt's client."""
    return await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url="http://127.0.0.1:9",
                         staff_db_path=accounts.path, staff_max_failures=3, staff_address_max_failures=6,
                         staff_trusted_proxies="127.0.0.1, ::1")


async def test_concurrent_sign_ins_do_not_stall_the_event_loop(console) -> None:
    serial = 8 * _bcrypt_seconds()  # what 8 sign-ins cost when their bcrypt runs on the loop, one after another
    stalls: list[float] = []
    async with _sign_in_form(console) as (http, token):
        started = time.monotonic()
        sign_ins = asyncio.ensure_future(asyncio.gather(*(
            _attempt(http, name, "wrong-password", token)
            for name in ["admin.so", "lan.nguyen", "nobody.here", "khach"] * 2)))
        while not sign_ins.done():  # a cheap page, asked again and again while the 8 are checked
            probe = time.monotonic()
            assert (await console.get("/staff/login")).status == 200
            stalls.append(time.monotonic() - probe)
            await asyncio.sleep(0.01)
        results = await sign_ins
    assert [status for status, _, _ in results] == [200] * 8  # every one was checked (and refused)
    assert time.monotonic() - started > serial / 8 and len(stalls) >= 3  # the probes ran while bcrypt did
    assert max(stalls) < serial / 4, (max(stalls), serial)


async def test_unknown_wrong_and_locked_answer_alike(console) -> None:
    async with _sign_in_form(console) as (http, token):
        for _ in range(3):  # lan.nguyen locks for this address
            await _attempt(http, "lan.nguyen", "wrong-password", token)
        answers = {"unknown": [], "wrong": [], "locked": []}
        for _ in range(3):
            answers["unknown"].append(await _attempt(http, "nobody.here", "wrong-password", token))
            answers["wrong"].append(await _attempt(http, "admin.so", "wrong-password", token))
            answers["locked"].append(await _attempt(http, "lan.nguyen", ANNOTATOR_PASSWORD, token))  # right one
        shapes = {(status, body) for case in answers.values() for status, body, _ in case}
        assert len(shapes) == 1, "the answer tells unknown, wrong and locked apart"
        [(status, body)] = shapes
        assert status == 200 and "không đúng" in body and "tạm khóa" in body
        medians = [statistics.median(t for _, _, t in case) for case in answers.values()]
        assert max(medians) < 3 * min(medians), medians  # each one costs one bcrypt check
        assert min(medians) > _bcrypt_seconds() / 3


async def test_an_attacker_cannot_lock_the_admin_out(proxied_console) -> None:
    async with _sign_in_form(proxied_console) as (http, token):
        for _ in range(5):
            await _attempt(http, "admin.so", "guess-2026", token, address="203.0.113.66")
        status, body, _ = await _attempt(http, "admin.so", ADMIN_PASSWORD, token, address="203.0.113.66")
        assert status == 200 and "không đúng" in body  # locked for the attacker's address, even with the password
        status, _, _ = await _attempt(http, "admin.so", ADMIN_PASSWORD, token, address="198.51.100.7")
        assert status == 302  # the admin, at their own desk, signs in


async def test_an_address_that_fails_too_often_waits_whatever_the_names(proxied_console) -> None:
    async with _sign_in_form(proxied_console) as (http, token):
        for i in range(6):  # staff_address_max_failures=6, each on another name: none of them locks
            status, _, _ = await _attempt(http, f"ten.{i}", "guess-2026", token, address="203.0.113.9")
            assert status == 200
        status, body, took = await _attempt(http, "admin.so", ADMIN_PASSWORD, token, address="203.0.113.9")
        assert status == 429 and "quá nhiều lần" in body
        assert took < _bcrypt_seconds() / 2  # refused before any password check: a flood costs no bcrypt
        assert (await _attempt(http, "admin.so", ADMIN_PASSWORD, token, address="198.51.100.7"))[0] == 302


async def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(console) -> None:
    async with _sign_in_form(console) as (http, token):
        for i in range(20):  # default per-address limit; each attempt claims another address
            await _attempt(http, f"khach.{i}", "guess-2026", token, address=f"198.51.100.{i}")
        status, _, _ = await _attempt(http, "admin.so", ADMIN_PASSWORD, token, address="192.0.2.1")
        assert status == 429  # the header changed nothing: every attempt came from the test client


def test_an_account_file_from_before_the_per_address_failures_keeps_working(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the schema of the previous release: failures kept per account
        conn.execute("CREATE TABLE staff (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL,"
                     " failures INTEGER NOT NULL DEFAULT 0, locked_until TEXT, created_at TEXT NOT NULL)")
        conn.execute("INSERT INTO staff VALUES ('cu.admin', ?, 'admin', 4, NULL, ?)",
                     (bcrypt.hashpw(ADMIN_PASSWORD.encode(), bcrypt.gensalt()).decode(), NOW.isoformat()))
    accounts = Accounts(path, max_failures=3)
    assert accounts.sign_in("cu.admin", ADMIN_PASSWORD, NOW, "192.0.2.1")[0] is SignIn.OK
    accounts.create("moi.annotator", ANNOTATOR_PASSWORD, Role.ANNOTATOR, NOW)
    assert [s.username for s in accounts.list()] == ["cu.admin", "moi.annotator"]


def test_failures_are_counted_per_address_and_expire(accounts) -> None:
    for _ in range(3):
        accounts.sign_in("admin.so", "guess", NOW, "203.0.113.66")
    assert accounts.sign_in("admin.so", ADMIN_PASSWORD, NOW, "203.0.113.66")[0] is SignIn.LOCKED
    assert accounts.sign_in("admin.so", ADMIN_PASSWORD, NOW, "198.51.100.7")[0] is SignIn.OK
    almost = NOW + dt.timedelta(minutes=14)  # the window has passed, the lock has not: still locked
    assert accounts.sign_in("admin.so", "guess", almost, "203.0.113.66")[0] is SignIn.LOCKED
    later = NOW + dt.timedelta(minutes=16)
    assert accounts.sign_in("admin.so", ADMIN_PASSWORD, later, "203.0.113.66")[0] is SignIn.OK
    for i in range(accounts.address_max_failures):
        assert accounts.sign_in(f"ten.{i}", "guess", later, "192.0.2.5")[0] is not SignIn.THROTTLED
    assert accounts.sign_in("admin.so", ADMIN_PASSWORD, later, "192.0.2.5")[0] is SignIn.THROTTLED
    assert accounts.sign_in("admin.so", ADMIN_PASSWORD, later + dt.timedelta(minutes=16), "192.0.2.5")[0] is SignIn.OK
    import sqlite3

    names = [n for (n,) in sqlite3.connect(accounts.path).execute("SELECT name FROM sign_in_failures")]
    assert names and not any("ten." in n for n in names)  # typed names are kept as digests only


# -- security headers, error pages, JSON only on request (issue 15 Low, issue 14 item 5) -------


async def test_every_console_response_has_the_security_headers_and_no_inline_code(console) -> None:
    anonymous = [await console.get("/staff/login"), await console.get("/staff/", allow_redirects=False),
                 await console.get("/staff/nothing-here"), await console.post("/staff/login", data={})]
    await _sign_in(console, "admin.so", ADMIN_PASSWORD)
    pages = [await console.get(path) for path in ("/staff/", "/staff/users", "/staff/inbox", "/staff/models",
                                                  "/staff/dashboard", "/staff/models/20260101-000000")]
    for resp in anonymous + pages:
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    for resp in pages:
        text = await resp.text()
        assert resp.content_type == "text/html" and "<header>" in text  # in the console's frame
        assert not re.search(r"<script(?![^>]*\ssrc=)", text) and " style=" not in text
        assert not re.search(r"\son[a-z]+=", text)  # no inline event handlers either
    assert (await console.get("/health")).headers.get("X-Frame-Options") is None  # the console's, not the chat's


async def test_refusals_are_console_pages_for_a_browser_and_json_on_request(inbox_console) -> None:
    client, _ = inbox_console
    await _sign_in(client, "admin.so", ADMIN_PASSWORD)
    token = await _csrf(client)
    made = await client.post("/staff/api/users", data={"csrf_token": token, "username": "minh.tran",
                                                       "password": "Bien-tap-2026", "role": "annotator"})
    assert made.status == 200 and made.url.path == "/staff/users" and "Đã thêm tài khoản" in await made.text()
    weak = await client.post("/staff/api/users", data={"csrf_token": token, "username": "an.vo", "password": "123",
                                                       "role": "admin"})
    text = await weak.text()
    assert weak.status == 400 and weak.content_type == "text/html" and "Mật khẩu cần" in text and "<header>" in text
    for item in ("abc", "1-2-3", "99999999999999999999-0", "1700000000000-0"):  # malformed, then unknown
        resp = await client.post(f"/staff/api/inbox/{item}", data={"csrf_token": token, "action": "discard"})
        assert resp.status == 404 and resp.content_type == "text/html", item
        assert "Hộp thư NLU" in await resp.text()
    api = await client.post("/staff/api/inbox/abc", json={"action": "discard"}, headers={"X-CSRF-Token": token})
    assert api.status == 404 and "error" in await api.json()
    empty = await client.post("/staff/api/tickets/PA261126-0001/answer", data={"csrf_token": token, "answer": " "})
    assert empty.status == 400 and "Câu trả lời phải có" in await empty.text()
    # No such ticket; nobody handed off under that id (a state conflict in the handoff queue).
    for path, status in (("/staff/api/tickets/x/answer", 404), ("/staff/api/handoffs/release", 409)):
        resp = await client.post(path, data={"csrf_token": token, "sender": "web:nobody"})
        assert resp.status == status and resp.content_type == "text/html", path
    forged = await client.post("/staff/api/users", data={"csrf_token": "forged"})
    assert forged.status == 403 and "CSRF" in await forged.text() and forged.content_type == "text/html"
    for body, kind in ((b"{not json", "application/json"), (b"\xff\xfe=%ff", "application/x-www-form-urlencoded"),
                       (b"[" * 100_000 + b"]" * 100_000, "application/json"),
                       (b'{"username": "\\ud800"}', "application/json")):
        resp = await client.post("/staff/api/users", data=body, headers={"Content-Type": kind, "X-CSRF-Token": token})
        assert resp.status in (400, 413), (body[:20], resp.status)
    gone = await client.get("/staff/api/training/20260101-000000", headers={"Accept": "application/json"})
    assert gone.status == 404 and "error" in await gone.json()


async def test_signing_in_again_returns_to_the_page_asked_for_and_only_to_a_console_page(console) -> None:
    asked = await console.get("/staff/handoffs/view?ref=abc", allow_redirects=False)  # a bookmark, a lapsed session
    location = urlsplit(asked.headers["Location"])
    assert asked.status == 302 and location.path == "/staff/login"
    assert parse_qs(location.query) == {"next": ["/staff/handoffs/view?ref=abc"]}
    page = await (await console.get(asked.headers["Location"])).text()
    assert '<input type="hidden" name="next" value="/staff/handoffs/view?ref=abc">' in page

    async def sign_in_to(next_page: str, password: str = ADMIN_PASSWORD):
        console.session.cookie_jar.clear()
        token = re.search(r'name="csrf_token" value="([^"]+)"', await (await console.get("/staff/login")).text())[1]
        return await console.post("/staff/login", allow_redirects=False, data={
            "username": "admin.so", "password": password, "csrf_token": token, "next": next_page})

    wrong = await sign_in_to("/staff/handoffs", "not-it")  # a wrong password keeps where to go
    assert wrong.status == 200 and '<input type="hidden" name="next" value="/staff/handoffs">' in await wrong.text()
    for elsewhere in ("https://example.com/staff/", "//example.com/", "/staff/..//x", "/staff/api/handoffs/end",
                      "/staff/login", "/\\example.com"):
        resp = await sign_in_to(elsewhere)
        assert resp.status == 302 and resp.headers["Location"] == "/staff/", elsewhere
    back = await sign_in_to("/staff/handoffs/view?ref=abc")
    assert back.status == 302 and back.headers["Location"] == "/staff/handoffs/view?ref=abc"


async def test_a_session_ends_after_its_idle_time_and_after_its_whole_lifetime(redis_url) -> None:
    """Requests renew the idle time; nothing renews the lifetime (a console polling every few seconds
    on an open page would otherwise stay signed in for ever)."""
    import redis.asyncio as aioredis

    from bot.staff.sessions import Sessions, _key

    now = [1_000_000.0]
    redis = aioredis.from_url(redis_url)
    sessions = Sessions(redis, ttl_s=8 * 3600, max_age_s=12 * 3600, clock=lambda: now[0])
    try:
        token, _ = await sessions.create(Staff("minh.tran", Role.ANNOTATOR))
        for _ in range(11):  # a poll every hour for eleven hours: still signed in, idle time renewed
            now[0] += 3600
            assert (await sessions.get(token)).staff.username == "minh.tran"
        assert 0 < await redis.ttl(_key(token)) <= 3600  # one hour of its lifetime left
        now[0] += 3601
        assert await sessions.get(token) is None  # twelve hours after signing in
        assert not await redis.exists(_key(token))
    finally:
        await redis.delete(_key(token))
        await redis.close()
