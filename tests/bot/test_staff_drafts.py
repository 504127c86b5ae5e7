"""A form posted after the staff member's session expired keeps what they typed: after signing in
again they see it, editable, and send it on (in-process gateway, a real Redis)."""

from __future__ import annotations

import logging
import re

import pytest
import redis.asyncio as aioredis

from bot.staff import drafts
from bot.staff.conversation_pages import TAGS_KEY
from bot.staff.layout import COOKIE
from bot.staff.refs import REFS_KEY
from bot.staff.sessions import _key
from tests.bot.conftest import ADMIN_PASSWORD, ANNOTATOR_PASSWORD, csrf, empty_database, sign_in

SENDER = "web:drafttest01"
TYPED = "Người dân hỏi lại lần thứ ba về giấy phép bán lẻ rượu; cần gọi lại trước thứ Sáu"


@pytest.fixture
async def console_db(accounts, redis_url, gateway):
    url = await empty_database(redis_url, 12)
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=url, dossier_api_url="http://127.0.0.1:9",
                           staff_db_path=accounts.path)
    redis = aioredis.from_url(url)
    yield client, redis
    await redis.close()


def _cookie(client, name: str) -> str | None:
    found = [c.value for c in client.session.cookie_jar if c.key == name]
    return found[0] if found else None


async def _expire(client, redis) -> None:
    """The session ends in Redis as after its idle time (the browser keeps its cookie)."""
    assert await redis.delete(_key(_cookie(client, COOKIE)))


def _fields(page: str, action: str) -> dict[str, str]:
    """What the browser posts from the form to ``action``: hidden fields and textareas."""
    form = page[page.index(f'action="{action}"'):]
    form = form[:form.index("</form>")]
    fields = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', form))
    fields.update(re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', form, re.S))
    return fields


async def test_a_form_posted_after_the_session_expired_is_kept_and_sent_on_after_signing_in(
        console_db, caplog) -> None:
    client, redis = console_db
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    ref = client.app[REFS_KEY].of(SENDER)
    view = await (await client.get("/staff/conversations/view", params={"ref": ref})).text()
    posted = {**_fields(view, "/staff/api/conversations/tags"), "add": TYPED[:40]}
    await _expire(client, redis)

    with caplog.at_level(logging.DEBUG):
        resp = await client.post("/staff/api/conversations/tags", data=posted, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/staff/login"
    assert TYPED[:40] not in caplog.text  # kept, never logged
    assert not await redis.smembers(TAGS_KEY.format(SENDER))  # nothing done without a session
    login = await (await client.get("/staff/login")).text()
    assert "nội dung anh/chị vừa gửi được giữ lại 30 phút" in login

    back = await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    assert back.status == 302 and back.headers["Location"] == "/staff/draft"
    page = await (await client.get("/staff/draft")).text()
    assert "Nội dung anh/chị đã nhập vẫn còn" in page and TYPED[:40] in page
    resend = _fields(page, "/staff/api/conversations/tags")
    assert resend["csrf_token"] == await csrf(client) != posted["csrf_token"]  # the new session's token
    assert resend["ref"] == ref and resend["add"] == TYPED[:40]

    sent = await client.post("/staff/api/conversations/tags", data=resend, allow_redirects=False)
    assert sent.status == 302 and "/staff/conversations/view" in sent.headers["Location"]
    assert [t.decode() for t in await redis.smembers(TAGS_KEY.format(SENDER))] == [TYPED[:40]]
    assert "Không còn nội dung nào được giữ lại" in await (await client.get("/staff/draft")).text()  # used up


async def test_a_kept_form_is_only_for_whose_session_it_was(console_db) -> None:
    client, redis = console_db
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    token = await csrf(client)
    await _expire(client, redis)
    kept = await client.post("/staff/api/conversations/tags", allow_redirects=False,
                             data={"csrf_token": token, "ref": client.app[REFS_KEY].of(SENDER), "add": TYPED})
    assert kept.status == 302 and _cookie(client, drafts.DRAFT_COOKIE)
    other = await sign_in(client, "admin.so", ADMIN_PASSWORD)  # a colleague at the same desk
    assert other.headers["Location"] == "/staff/"
    page = await (await client.get("/staff/draft")).text()
    assert TYPED not in page and "Không còn nội dung nào được giữ lại" in page


async def test_a_form_from_elsewhere_or_with_passwords_only_or_too_large_is_not_kept(console_db) -> None:
    client, redis = console_db
    forged = await client.post("/staff/api/conversations/tags", allow_redirects=False,
                               data={"csrf_token": "not-one-of-ours", "add": TYPED})
    assert forged.status == 401 and _cookie(client, drafts.DRAFT_COOKIE) is None

    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    token = await csrf(client)
    await _expire(client, redis)
    password = "Mat-khau-moi-2027"
    passwords = await client.post("/staff/api/password", allow_redirects=False, data={
        "csrf_token": token, "current_password": ANNOTATOR_PASSWORD, "new_password": password,
        "new_password_again": password})
    assert passwords.status == 401 and _cookie(client, drafts.DRAFT_COOKIE) is None
    large = await client.post("/staff/api/conversations/tags", allow_redirects=False,
                              data={"csrf_token": token, "add": "x " * (drafts.MAX_CHARS // 2 + 1)})
    assert large.status == 401 and _cookie(client, drafts.DRAFT_COOKIE) is None
    mixed = await client.post("/staff/api/conversations/tags", allow_redirects=False,
                              data={"csrf_token": token, "add": TYPED, "password": password})
    assert mixed.status == 302
    stored = [await redis.get(k) async for k in redis.scan_iter(match="staff:draft:*")]
    assert len(stored) == 1 and TYPED in stored[0].decode() and password not in stored[0].decode()
    assert 0 < await redis.ttl(next(iter([k async for k in redis.scan_iter(match="staff:draft:*")]))) <= drafts.TTL_S


async def test_a_kept_form_can_be_dropped(console_db) -> None:
    client, redis = console_db
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    token = await csrf(client)
    await _expire(client, redis)
    await client.post("/staff/api/conversations/tags", data={"csrf_token": token, "add": TYPED})
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    page = await (await client.get("/staff/draft")).text()
    dropped = await client.post("/staff/api/draft/discard", data=_fields(page, "/staff/api/draft/discard"),
                                allow_redirects=False)
    assert dropped.status == 302 and dropped.headers["Location"] == "/staff/"
    assert [k async for k in redis.scan_iter(match="staff:draft:*")] == []


async def test_a_button_without_anything_typed_is_not_kept(console_db) -> None:
    client, redis = console_db
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    token = await csrf(client)
    await _expire(client, redis)
    claim = await client.post("/staff/api/handoffs/claim", allow_redirects=False,
                              data={"csrf_token": token, "ref": client.app[REFS_KEY].of(SENDER)})
    assert claim.status == 401 and _cookie(client, drafts.DRAFT_COOKIE) is None


async def test_the_sign_in_page_mentions_a_kept_form_only_while_there_is_one(console_db) -> None:
    client, redis = console_db
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    token = await csrf(client)
    await _expire(client, redis)
    await client.post("/staff/api/conversations/tags", data={"csrf_token": token, "add": TYPED})
    assert "được giữ lại" in await (await client.get("/staff/login")).text()
    await redis.delete(*[k async for k in redis.scan_iter(match="staff:draft:*")])  # its 30 minutes are over
    assert _cookie(client, drafts.DRAFT_COOKIE)
    assert "được giữ lại" not in await (await client.get("/staff/login")).text()
