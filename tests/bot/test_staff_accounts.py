"""The console's account jobs (issue: no way to disable an account or reset a password): admins
disable and re-enable accounts and set another account's password, every staff member changes their
own; sessions end at once, the last active admin stays, every change is audited without a password
(in-process gateway, a real Redis, the accounts file in SQLite)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
import sys

import pytest
from aiohttp.test_utils import TestClient

from bot.staff.accounts import AccountError, Accounts, NoSuchAccount, Role, SignIn
from tests.bot.conftest import ADMIN_PASSWORD, ANNOTATOR_PASSWORD, NOW, csrf, sign_in

NEW_PASSWORD = "Mat-khau-moi-2027"


def _audit_rows(accounts: Accounts) -> list[tuple[str, ...]]:
    with sqlite3.connect(accounts.path) as conn:
        return conn.execute("SELECT at, actor, action, target FROM staff_audit ORDER BY id").fetchall()


def test_a_disabled_account_cannot_sign_in_and_says_so_only_to_who_knows_its_password(accounts) -> None:
    assert accounts.set_disabled("admin.so", "lan.nguyen", True, NOW) is True
    assert accounts.set_disabled("admin.so", "lan.nguyen", True, NOW) is False  # already: nothing audited again
    assert accounts.sign_in("lan.nguyen", ANNOTATOR_PASSWORD, NOW) == (SignIn.DISABLED, None)
    assert accounts.sign_in("lan.nguyen", "guess-2026", NOW) == (SignIn.WRONG, None)  # a guesser learns nothing
    [lan] = [a for a in accounts.accounts() if a.username == "lan.nguyen"]
    assert lan.disabled_since == NOW.isoformat(timespec="seconds")
    assert accounts.set_disabled("admin.so", "lan.nguyen", False, NOW) is True
    assert accounts.sign_in("lan.nguyen", ANNOTATOR_PASSWORD, NOW)[0] is SignIn.OK
    assert [(r.actor, r.action, r.target) for r in accounts.audit()] == [
        ("admin.so", "enabled", "lan.nguyen"), ("admin.so", "disabled", "lan.nguyen")]
    with pytest.raises(NoSuchAccount):
        accounts.set_disabled("admin.so", "khong.co", True, NOW)


def test_the_last_active_admin_cannot_be_disabled(accounts) -> None:
    with pytest.raises(AccountError, match="quản trị viên cuối cùng"):
        accounts.set_disabled("admin.so", "admin.so", True, NOW)
    accounts.create("hai.admin", ADMIN_PASSWORD, Role.ADMIN, NOW, actor="admin.so")
    assert accounts.set_disabled("hai.admin", "admin.so", True, NOW)
    with pytest.raises(AccountError, match="quản trị viên cuối cùng"):  # the other one is the last now
        accounts.set_disabled("hai.admin", "hai.admin", True, NOW)
    assert accounts.sign_in("hai.admin", ADMIN_PASSWORD, NOW)[0] is SignIn.OK


def test_passwords_are_set_and_changed_by_the_creation_rules_and_never_audited(accounts) -> None:
    with pytest.raises(AccountError, match="ít nhất 12"):
        accounts.set_password("admin.so", "lan.nguyen", "short1A", NOW)
    with pytest.raises(NoSuchAccount):
        accounts.set_password("admin.so", "khong.co", NEW_PASSWORD, NOW)
    accounts.set_password("admin.so", "lan.nguyen", NEW_PASSWORD, NOW)
    assert accounts.sign_in("lan.nguyen", ANNOTATOR_PASSWORD, NOW)[0] is SignIn.WRONG
    assert accounts.sign_in("lan.nguyen", NEW_PASSWORD, NOW)[0] is SignIn.OK
    with pytest.raises(AccountError, match="hiện tại không đúng"):
        accounts.change_password("lan.nguyen", ANNOTATOR_PASSWORD, "Lan-doi-lai-2027", NOW)
    with pytest.raises(AccountError, match="ít nhất 12"):
        accounts.change_password("lan.nguyen", NEW_PASSWORD, "alllowercase123", NOW)
    accounts.change_password("lan.nguyen", NEW_PASSWORD, "Lan-doi-lai-2027", NOW)
    assert accounts.sign_in("lan.nguyen", "Lan-doi-lai-2027", NOW)[0] is SignIn.OK
    with sqlite3.connect(accounts.path) as conn:
        stored = conn.execute("SELECT password_hash FROM staff WHERE username = 'lan.nguyen'").fetchone()[0]
    assert stored.startswith("$2b$")
    rows = _audit_rows(accounts)
    assert [r[1:] for r in rows] == [("admin.so", "password_reset", "lan.nguyen"),
                                     ("lan.nguyen", "password_changed", "lan.nguyen")]
    flat = repr(rows)
    assert all(p not in flat for p in (NEW_PASSWORD, "Lan-doi-lai-2027", "$2b$"))


# -- in the console ----------------------------------------------------------------


@pytest.fixture
async def desks(accounts, redis_url, gateway):
    """Two browsers on the console (an admin's and an annotator's), both signed in."""
    settings = {"rasa_url": "http://127.0.0.1:9", "redis_url": redis_url, "dossier_api_url": "http://127.0.0.1:9",
                "staff_db_path": accounts.path}
    admin, annotator = await gateway(**settings), await gateway(**settings)
    assert (await sign_in(admin, "admin.so", ADMIN_PASSWORD)).status == 302
    assert (await sign_in(annotator, "lan.nguyen", ANNOTATOR_PASSWORD)).status == 302
    return admin, annotator, lambda: gateway(**settings)


def _form_post(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` on ``page``, as the browser sends them."""
    form = page[page.index(f'action="{action}"'):]
    return dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form[:form.index("</form>")]))


async def _signed_in(client: TestClient) -> bool:
    resp = await client.get("/staff/", allow_redirects=False)
    return resp.status == 200


async def test_an_admin_disables_an_account_its_session_ends_and_it_cannot_sign_in(desks) -> None:
    admin, annotator, _ = desks
    users = await (await admin.get("/staff/users")).text()
    assert 'action="/staff/api/users/lan.nguyen/disable"' in users
    assert 'action="/staff/api/users/admin.so/disable"' not in users  # not offered on one's own row
    no_token = await admin.post("/staff/api/users/lan.nguyen/disable", data={})
    assert no_token.status == 403 and await _signed_in(annotator)
    # The annotator cannot do it to anyone.
    by_annotator = await annotator.post("/staff/api/users/admin.so/disable",
                                        data={"csrf_token": await csrf(annotator)}, allow_redirects=False)
    assert by_annotator.status == 403

    disabled = await admin.post("/staff/api/users/lan.nguyen/disable",
                                data=_form_post(users, "/staff/api/users/lan.nguyen/disable"), allow_redirects=False)
    assert disabled.status == 302 and disabled.headers["Location"] == "/staff/users?done=disabled"
    assert not await _signed_in(annotator)  # at once, not when the session would have expired
    page = await (await admin.get("/staff/users?done=disabled")).text()
    assert "Đã khóa tài khoản" in page and re.search(r'data-user="lan.nguyen">.*?Đã khóa từ', page)
    assert re.search(r"<td>admin.so</td><td>khóa tài khoản</td><td>lan.nguyen</td>", page)  # audited

    annotator.session.cookie_jar.clear()
    refused = await sign_in(annotator, "lan.nguyen", ANNOTATOR_PASSWORD)
    assert refused.status == 403 and "Tài khoản này đã bị khóa" in await refused.text()

    enabled = await admin.post("/staff/api/users/lan.nguyen/enable", headers={"X-CSRF-Token": await csrf(admin)},
                               json={})
    assert enabled.status == 200 and (await enabled.json())["disabled"] is False
    assert (await sign_in(annotator, "lan.nguyen", ANNOTATOR_PASSWORD)).status == 302
    assert "mở khóa tài khoản" in await (await admin.get("/staff/users")).text()


async def test_the_only_admin_cannot_disable_themselves(desks) -> None:
    admin, _, _ = desks
    resp = await admin.post("/staff/api/users/admin.so/disable", data={"csrf_token": await csrf(admin)})
    assert resp.status == 409
    assert "Không thể khóa quản trị viên cuối cùng còn hoạt động" in await resp.text()
    assert await _signed_in(admin)
    missing = await admin.post("/staff/api/users/khong.co/disable", json={},
                               headers={"X-CSRF-Token": await csrf(admin)})
    assert missing.status == 404 and "Không có tài khoản" in (await missing.json())["error"]


async def test_an_admin_sets_another_accounts_password_and_its_sessions_end(desks, accounts) -> None:
    admin, annotator, _ = desks
    token = await csrf(admin)
    weak = await admin.post("/staff/api/users/lan.nguyen/password", data={"csrf_token": token, "password": "ngan"})
    assert weak.status == 400 and "Mật khẩu cần ít nhất 12 ký tự" in await weak.text()
    assert await _signed_in(annotator)  # a refused reset changes nothing
    own = await admin.post("/staff/api/users/admin.so/password", data={"csrf_token": token, "password": NEW_PASSWORD})
    assert own.status == 400 and "Đổi mật khẩu" in await own.text()

    reset = await admin.post("/staff/api/users/lan.nguyen/password", allow_redirects=False,
                             data={"csrf_token": token, "password": NEW_PASSWORD})
    assert reset.status == 302 and reset.headers["Location"] == "/staff/users?done=password"
    assert not await _signed_in(annotator)
    annotator.session.cookie_jar.clear()
    assert (await sign_in(annotator, "lan.nguyen", ANNOTATOR_PASSWORD)).status == 200  # the old one is refused
    assert (await sign_in(annotator, "lan.nguyen", NEW_PASSWORD)).status == 302
    page = await (await admin.get("/staff/users")).text()
    assert "đặt lại mật khẩu</td><td>lan.nguyen" in page and NEW_PASSWORD not in page


async def test_staff_change_their_own_password_and_their_other_sessions_end(desks) -> None:
    admin, annotator, open_browser = desks
    other = await open_browser()  # the same annotator on another computer
    await sign_in(other, "lan.nguyen", ANNOTATOR_PASSWORD)
    page = await (await annotator.get("/staff/password")).text()
    assert 'href="/staff/password"' in page and 'name="current_password"' in page
    token = await csrf(annotator)
    wrong = await annotator.post("/staff/api/password", data={
        "csrf_token": token, "current_password": "khong-phai-2026", "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD})
    assert wrong.status == 400 and "Mật khẩu hiện tại không đúng" in await wrong.text()
    mismatch = await annotator.post("/staff/api/password", data={
        "csrf_token": token, "current_password": ANNOTATOR_PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD + "x"})
    assert mismatch.status == 400 and "không khớp" in await mismatch.text()
    no_token = await annotator.post("/staff/api/password", data={
        "current_password": ANNOTATOR_PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert no_token.status == 403

    changed = await annotator.post("/staff/api/password", allow_redirects=False, data={
        "csrf_token": token, "current_password": ANNOTATOR_PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD})
    assert changed.status == 302 and changed.headers["Location"] == "/staff/password?done=1"
    assert await _signed_in(annotator) and not await _signed_in(other)
    assert "Đã đổi mật khẩu" in await (await annotator.get("/staff/password?done=1")).text()
    other.session.cookie_jar.clear()
    assert (await sign_in(other, "lan.nguyen", NEW_PASSWORD)).status == 302
    assert "tự đổi mật khẩu</td><td>lan.nguyen" in await (await admin.get("/staff/users")).text()


def test_the_command_line_disables_enables_and_sets_passwords_and_ends_sessions(accounts, redis_url) -> None:
    """For the day the only admin is locked out of the console (forgotten password)."""
    import redis

    from bot.staff.accounts import Staff
    from bot.staff.sessions import Sessions, _key

    env = {"STAFF_DB_PATH": accounts.path, "REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}

    def cli(*args: str, given: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot.staff", *args], input=given, text=True,
                              capture_output=True, env=env)

    async def open_session() -> str:
        import redis.asyncio as aioredis

        client = aioredis.from_url(redis_url)
        try:
            token, _ = await Sessions(client, 3600).create(Staff("lan.nguyen", Role.ANNOTATOR))
        finally:
            await client.close()
        return token

    sync = redis.Redis.from_url(redis_url)
    try:
        token = asyncio.run(open_session())
        done = cli("disable-user", "lan.nguyen")
        assert done.returncode == 0 and "Đã khóa tài khoản lan.nguyen" in done.stdout
        assert not sync.exists(_key(token))
        assert cli("list-users").stdout.split() == ["admin.so", "admin", "lan.nguyen", "annotator", "disabled"]
        last = cli("disable-user", "admin.so")
        assert last.returncode != 0 and "quản trị viên cuối cùng" in last.stderr
        assert cli("enable-user", "lan.nguyen").returncode == 0
        token = asyncio.run(open_session())
        reset = cli("set-password", "lan.nguyen", "--password-stdin", given=NEW_PASSWORD + "\n")
        assert reset.returncode == 0 and "Đã kết thúc 1 phiên" in reset.stdout and not sync.exists(_key(token))
        assert accounts.sign_in("lan.nguyen", NEW_PASSWORD, NOW)[0] is SignIn.OK
        assert [(e.actor, e.action) for e in accounts.audit()][:2] == [("(dòng lệnh)", "password_reset"),
                                                                      ("(dòng lệnh)", "enabled")]
    finally:
        sync.close()
