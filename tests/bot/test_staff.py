"""The staff console's sign-in, sessions, CSRF and roles, against a real Redis."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import time

import pytest

from bot.staff.accounts import AccountError, Role, SignIn
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
            assert resp.status == 302 and resp.headers["Location"] == "/staff/login", (method, path)


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
    assert 'data-sender="zalo:4242"' in await (await console.get("/staff/handoffs")).text()
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
