"""Property-based fuzzing of every HTTP surface (issue 15): no input gives a 5xx.

In-process, in one event loop on a thread of its own (hypothesis drives the
inputs synchronously): the chat gateway with the web chat, the Telegram webhook
(webhook mode, against the fake Bot API), the Zalo webhook (against the fake OA
API) and the dossier-events webhook, in front of a Rasa REST stand-in; and the
reference dossier API on a private copy of the seeded database (fuzzed writes
must not change what other tests read). Redis is the real one of the session.

Each surface gets generated bodies (valid shapes with hostile values, arbitrary
JSON, bytes), headers with and without the right secret or signature, and for
the dossier API every route of its router with generated path and query values.
Afterwards the servers still answer and a normal lookup is still right. Each test
prints how many inputs it tried.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from bot.telegram import SECRET_HEADER
from bot.web import create_app
from bot.zalo import ACCESS_KEY, HANDLED_EVENTS, REFRESH_KEY, SIGNATURE_HEADER
from common import signing
from common.privacy import pseudonym
from common.settings import Settings
from dossier_api.db import Database
from dossier_api.server import create_app as create_api
from tests.fakes.rasa_rest import CHANNEL_TOKEN, rasa_rest_app
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import APP_ID, APP_SECRET, OA_SECRET, FakeZalo
from tests.rawhttp import raw_status

TELEGRAM_TOKEN = "123456:FUZZ-token-for-the-fake-api"
TELEGRAM_SECRET = "fuzz-secret_1"
EVENTS_SECRET = "fuzz-events-secret"
UNLIMITED = 10**6
FUZZ = settings(deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TRIED: Counter[str] = Counter()


class Loop:
    """An event loop on its own thread; ``run`` waits for a coroutine from synchronous code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Surfaces:
    loop: Loop
    gateway: str
    api: str
    db: Database
    codes: list[str]
    received: list[dict]
    telegram: FakeTelegram
    zalo: FakeZalo
    api_routes: list[tuple[str, str]]
    servers: list[TestServer] = field(default_factory=list)
    http: aiohttp.ClientSession | None = None

    def request(self, method: str, url: str | URL, **kwargs: Any) -> tuple[int, bytes]:
        async def go() -> tuple[int, bytes]:
            assert self.http is not None
            async with self.http.request(method, url, **kwargs) as resp:
                return resp.status, await resp.read()

        return self.loop.run(go())

    def raw(self, base: str, method: str, path: str, headers: bytes, body: bytes = b"") -> int:
        url = URL(base)
        return self.loop.run(raw_status(url.host or "127.0.0.1", url.port or 80, method, path, headers, body))


@pytest.fixture(scope="module")
def surfaces(redis_url: str, seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Surfaces]:
    db_path = tmp_path_factory.mktemp("fuzz") / "dossiers.sqlite3"
    shutil.copy(seeded_db, db_path)
    loop = Loop()

    async def start() -> Surfaces:
        redis = aioredis.from_url(redis_url)
        await redis.delete(ACCESS_KEY, REFRESH_KEY)  # tokens an earlier fake issued
        await redis.close()
        received: list[dict] = []
        telegram, zalo = FakeTelegram(TELEGRAM_TOKEN), FakeZalo()
        api_app = create_api(str(db_path))
        servers = [TestServer(app) for app in (api_app, rasa_rest_app(received), telegram.app(), zalo.app())]
        for server in servers:
            await server.start_server()
        api, rasa, telegram_url, zalo_url = (str(s.make_url("")).rstrip("/") for s in servers)
        config = Settings(
            _env_file=None, rasa_url=rasa, rasa_channel_token=CHANNEL_TOKEN, rasa_timeout_s=5, redis_url=redis_url,
            dossier_api_url=api,
            telegram_token=TELEGRAM_TOKEN, telegram_api_url=telegram_url, telegram_secret_token=TELEGRAM_SECRET,
            telegram_webhook_url="https://bot.example.vn/webhooks/telegram",
            zalo_app_id=APP_ID, zalo_oa_secret_key=OA_SECRET, zalo_app_secret_key=APP_SECRET,
            zalo_access_token="access-1", zalo_refresh_token="refresh-1", zalo_api_url=zalo_url,
            zalo_oauth_url=zalo_url, dossier_events_secret=EVENTS_SECRET, notify_quiet_hours="",
            web_session_secret="fuzz-session-key", chat_rate_limit_per_min=UNLIMITED,
            # The limits are tested elsewhere; here every input must reach the code behind them.
            chat_rate_limit_per_address_per_min=UNLIMITED, chat_lookup_limit_per_address_per_hour=UNLIMITED,
            chat_unknown_code_limit_per_hour=UNLIMITED, chat_unknown_code_limit_per_address_per_hour=UNLIMITED)
        gateway_server = TestServer(create_app(config))
        await gateway_server.start_server()
        servers.append(gateway_server)
        db = Database(db_path)
        codes = [d.code for d in (await asyncio.to_thread(db.dossiers, None, 20, 0))[0]]
        routes = sorted({(r.method, r.resource.canonical) for r in api_app.router.routes()
                         if r.resource is not None and r.method != "HEAD"})
        found = Surfaces(loop, str(gateway_server.make_url("")).rstrip("/"), api, db, codes, received, telegram,
                         zalo, routes, servers)
        found.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20))
        return found

    found = loop.run(start(), timeout=60)
    yield found

    async def stop() -> None:
        assert found.http is not None
        await found.http.close()
        for server in reversed(found.servers):
            await server.close()
        redis = aioredis.from_url(redis_url)  # the fuzzer's counters must not limit later tests
        keys = await redis.keys(f"web:*:addr*{pseudonym('127.0.0.1')}")
        if keys:
            await redis.delete(*keys)
        await redis.close()

    loop.run(stop(), timeout=60)
    loop.close()


# -- strategies ---------------------------------------------------------------------------

NASTY = ["²", "١٢٣", "٣", "9" * 400, "-1", "1e309", "nan", "inf", "0x10", "", " ", "\x00", "../../etc",
         "%ff", "%ED%A0%80", "null", "[]", "{}", "true", str(2**63), str(2**64 + 1), "😀" * 20, "a" * 2000,
         "000.00.12.H17-200115-0001", "000.00.12.h17 – 200115 – 0001", "000.00.12.X99-200115-0001",
         "sms:84905123456", "web:abc", "ĐĂNG KÝ", "tra cứu hồ sơ", "/tra_cuu_ho_so{\"ma_ho_so\": \"x\"}"]
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
texts = st.one_of(st.sampled_from(NASTY), st.text(max_size=60), surrogates,
                  st.integers().map(str), st.floats().map(str))
ascii_texts = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
codes = st.builds(lambda d, n, agency: f"{agency}-{d:%y%m%d}-{n:04d}",
                  st.dates(), st.integers(0, 9999), st.sampled_from(["000.00.12.H17", "000.00.12.X01"]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(10**400), 10**400),
                    st.floats(), texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(texts, inner, max_size=4), max_leaves=12)
SPECIAL_BODIES = [b"[[null, null]]", b'[["id", 1], ["code", "x"]]',  # pydantic reads pairs as a dict
                  b"[" * 5000 + b"]" * 5000, b"{" * 3000, b'{"a": "\\ud800"}', b'"\\udfff"', b"\xff\xfe\x00",
                  b"NaN", b"Infinity", b"1" * 5000, b"", b" ", b"null", b"[1]", b'{"__proto__": {}}',
                  b'{"x": ' + b"[" * 40 + b"]" * 40 + b"}"]


def dumps(value: Any) -> bytes:
    """JSON as a client would send it (surrogates as \\u escapes, NaN allowed: Python's default)."""
    return json.dumps(value).encode()


def bodies(shaped: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """A surface's body: its own shape with hostile values, any JSON, special cases, bytes."""
    return st.one_of(shaped.map(dumps), shaped.map(dumps), json_values.map(dumps),
                     st.sampled_from(SPECIAL_BODIES), st.binary(max_size=300))


def counted(name: str, status: int, what: Any) -> None:
    TRIED[name] += 1
    assert status < 500, (name, status, repr(what)[:300])


def report(capsys: pytest.CaptureFixture[str], name: str) -> None:
    with capsys.disabled():
        print(f"\n[fuzz] {name}: {TRIED[name]} inputs, no 5xx")


# -- the surfaces ------------------------------------------------------------------------


def test_fuzz_web_chat(surfaces: Surfaces, capsys: pytest.CaptureFixture[str]) -> None:
    status, body = surfaces.request("POST", f"{surfaces.gateway}/api/session")
    assert status == 200
    token = json.loads(body)["session"]
    sessions = st.one_of(st.just(token), st.just(token), texts, json_values,
                         st.just(token.split(".")[0]), st.just(signing.sign_id("other-key", "abcdefgh1234")))
    numbers = st.one_of(st.floats(), st.integers(-(10**400), 10**400), texts)
    locations = st.one_of(json_values, st.fixed_dictionaries({"latitude": numbers, "longitude": numbers}))
    message = st.fixed_dictionaries(
        {"session": sessions, "text": st.one_of(texts, codes, codes.map(lambda c: f"tra cứu hồ sơ {c}"),
                                                 st.sampled_from(surfaces.codes), json_values)},
        optional={"location": locations, "extra": json_values})

    @settings(FUZZ, max_examples=700)
    @given(body=bodies(message), content_type=st.sampled_from(["application/json", "text/plain", ""]))
    def run(body: bytes, content_type: str) -> None:
        status, _ = surfaces.request("POST", f"{surfaces.gateway}/api/chat", data=body,
                                     headers={"Content-Type": content_type} if content_type else {})
        counted("web chat", status, body)

    run()
    for header in (b"X-Anything: \xff\xfe\r\n", b"Content-Type: application/json; charset=\xc3(\r\n"):
        counted("web chat", surfaces.raw(surfaces.gateway, "POST", "/api/chat", header, dumps({"text": "x"})), header)
    report(capsys, "web chat")


def test_fuzz_telegram_webhook(surfaces: Surfaces, capsys: pytest.CaptureFixture[str]) -> None:
    ids = st.one_of(st.integers(1, 10**12), st.integers(), texts, json_values)
    chat = st.fixed_dictionaries({"id": ids, "type": st.sampled_from(["private", "group", "supergroup", "x"])},
                                 optional={"title": texts})
    message = st.fixed_dictionaries(
        {"message_id": ids, "date": st.one_of(st.integers(0, 2**31), ids), "chat": st.one_of(chat, json_values)},
        optional={"text": texts, "from": json_values, "location": json_values, "caption": texts,
                  "entities": json_values})
    update = st.fixed_dictionaries(
        {"update_id": st.one_of(st.integers(1, 2**31), ids)},
        optional={"message": st.one_of(message, json_values), "edited_message": message,
                  "callback_query": json_values, "x": json_values})
    secrets = st.one_of(st.just(TELEGRAM_SECRET), st.just(TELEGRAM_SECRET), st.none(), ascii_texts)

    @settings(FUZZ, max_examples=500)
    @given(body=bodies(update), secret=secrets)
    def run(body: bytes, secret: str | None) -> None:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        status, _ = surfaces.request("POST", f"{surfaces.gateway}/webhooks/telegram", data=body, headers=headers)
        counted("telegram webhook", status, (secret, body))

    run()
    right = f"{SECRET_HEADER}: {TELEGRAM_SECRET}".encode()
    for header in (SECRET_HEADER.encode() + b": \xff", right + b"\r\nX: \xc3("):
        status = surfaces.raw(surfaces.gateway, "POST", "/webhooks/telegram", header + b"\r\n", b'{"update_id": 1}')
        counted("telegram webhook", status, header)
    report(capsys, "telegram webhook")


def _zalo_signed(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    raw = dumps(event)
    timestamp = str(event.get("timestamp", "")).encode("utf-8", "surrogatepass")
    mac = hashlib.sha256(APP_ID.encode() + raw + timestamp + secret.encode())
    return raw, {SIGNATURE_HEADER: f"mac={mac.hexdigest()}"}


def test_fuzz_zalo_webhook(surfaces: Surfaces, capsys: pytest.CaptureFixture[str]) -> None:
    who = st.one_of(st.fixed_dictionaries({"id": st.one_of(st.integers(1, 10**18).map(str), texts)}), json_values)
    event = st.fixed_dictionaries(
        {"app_id": st.one_of(st.just(APP_ID), st.just(APP_ID), texts),
         "event_name": st.one_of(st.sampled_from(sorted(HANDLED_EVENTS)), texts),
         "timestamp": st.one_of(st.just("now"), st.just("now"), texts, st.integers(-(10**400), 10**400),
                                st.floats())},
        optional={"sender": who, "follower": who, "recipient": who, "info": json_values,
                  "message": st.one_of(json_values, st.fixed_dictionaries(
                      {"msg_id": texts, "text": texts}, optional={"attachments": json_values}))})
    signing_mode = st.sampled_from(["right", "right", "wrong", "none"])

    @settings(FUZZ, max_examples=500)
    @given(shaped=event, other=bodies(st.nothing()), mode=signing_mode, use_shaped=st.integers(0, 3))
    def run(shaped: dict[str, Any], other: bytes, mode: str, use_shaped: int) -> None:
        if shaped["timestamp"] == "now":
            shaped["timestamp"] = str(int(time.time() * 1000))
        if use_shaped:
            raw, headers = _zalo_signed(shaped, OA_SECRET if mode == "right" else "not-the-secret")
        else:
            raw, headers = other, {SIGNATURE_HEADER: "mac=" + "0" * 64}
        status, _ = surfaces.request("POST", f"{surfaces.gateway}/webhooks/zalo", data=raw,
                                     headers={} if mode == "none" else headers)
        counted("zalo webhook", status, raw)

    run()
    for header in (b"X-ZEvent-Signature: \xff\xfe", b"X-ZEvent-Signature: mac=00\r\nX: \xc3("):
        status = surfaces.raw(surfaces.gateway, "POST", "/webhooks/zalo", header + b"\r\n", b'{"timestamp": "1"}')
        counted("zalo webhook", status, header)
    report(capsys, "zalo webhook")


def test_fuzz_dossier_events_webhook(surfaces: Surfaces, capsys: pytest.CaptureFixture[str]) -> None:
    event = st.fixed_dictionaries(
        {"id": st.one_of(st.integers(), st.integers(-(10**400), 10**400), texts),
         "code": st.one_of(codes, texts, st.sampled_from(surfaces.codes)),
         "old_status": texts, "new_status": texts, "current_step": texts,
         "at": st.one_of(st.datetimes().map(lambda d: d.isoformat()), texts, st.integers(), st.floats())},
        optional={"kind": st.one_of(st.sampled_from(["dossier", "ticket"]), texts), "owner": texts})
    modes = st.sampled_from(["fresh", "fresh", "stale", "future", "wrong", "none", "bad timestamp"])

    @settings(FUZZ, max_examples=400)
    @given(body=bodies(event), mode=modes, timestamp=texts)
    def run(body: bytes, mode: str, timestamp: str) -> None:
        now = {"stale": time.time() - 3600, "future": time.time() + 3600}.get(mode, time.time())
        headers = signing.signed_headers("not-the-secret" if mode == "wrong" else EVENTS_SECRET, body, now)
        if mode == "none":
            headers = {}
        elif mode == "bad timestamp" and timestamp.isascii() and "\n" not in timestamp and "\r" not in timestamp:
            headers[signing.TIMESTAMP_HEADER] = timestamp
        status, _ = surfaces.request("POST", f"{surfaces.gateway}/webhooks/dossier-events", data=body,
                                     headers=headers)
        counted("dossier events webhook", status, (mode, body))

    run()
    report(capsys, "dossier events webhook")


QUERY_NAMES = ["limit", "offset", "status", "after", "count", "date", "from", "to", "owner", "q", "type",
               "lat", "lon"]


def test_fuzz_dossier_api(surfaces: Surfaces, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(surfaces.api_routes) >= 20, surfaces.api_routes  # read from the router
    path_values = st.one_of(texts, codes, st.sampled_from(surfaces.codes), st.integers().map(str))
    query_values = st.one_of(texts, st.integers().map(str), st.floats().map(str), st.dates().map(str),
                             st.sampled_from(["dang_xu_ly", "open", "all", "cho", "atm", "Hải Châu"]))
    queries = st.dictionaries(st.one_of(st.sampled_from(QUERY_NAMES), ascii_texts), query_values, max_size=5)
    shaped = st.dictionaries(
        st.sampled_from(["owner", "content", "dossier_code", "level", "channel", "comment", "date", "time",
                         "procedure_id", "status", "current_step", "phone", "address", "recipient", "answer",
                         "state"]) | texts,
        st.one_of(scalars, st.sampled_from(surfaces.codes), codes, st.dates().map(str), json_values), max_size=8)

    @settings(FUZZ, max_examples=1200)
    @given(route=st.sampled_from(surfaces.api_routes), params=st.data(), query=queries, body=bodies(shaped))
    def run(route: tuple[str, str], params: st.DataObject, query: dict[str, str], body: bytes) -> None:
        method, template = route
        path = template
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            value = params.draw(path_values)
            path = path[:start] + quote(value.encode("utf-8", "surrogatepass"), safe="") + path[end + 1:]
        query = {k: v for k, v in query.items() if _encodable(k) and _encodable(v)}
        url = URL(surfaces.api + path, encoded=True).update_query(query)
        status, _ = surfaces.request(method, url, data=body if method == "POST" else None)
        counted("dossier API", status, (method, str(url)[:200], body[:100]))

    run()
    report(capsys, "dossier API")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def test_after_fuzzing_every_process_answers_and_a_lookup_is_right(surfaces: Surfaces,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = surfaces.codes[3]
    status, body = surfaces.request("GET", f"{surfaces.api}/api/v1/dossiers/{code.lower()}")
    assert status == 200
    stored = surfaces.db.dossier(code)  # what the database holds now (fuzzed writes may have moved it)
    assert stored is not None and json.loads(body) == json.loads(stored.json())
    assert surfaces.request("GET", f"{surfaces.api}/health")[0] == 200
    assert surfaces.request("GET", f"{surfaces.gateway}/health")[0] == 200
    # The web chat still passes a lookup to the assistant under a session it issued.
    token = json.loads(surfaces.request("POST", f"{surfaces.gateway}/api/session")[1])["session"]
    status, body = surfaces.request("POST", f"{surfaces.gateway}/api/chat",
                                    json={"session": token, "text": f"tra cứu hồ sơ {code}"})
    assert status == 200 and json.loads(body)["messages"][0]["text"] == f"echo: tra cứu hồ sơ {code}"
    sender = f"web:{token.split('.')[0]}"  # (fuzzed Telegram and Zalo updates may still be answered meanwhile)
    assert [m["message"] for m in surfaces.received if m["sender"] == sender] == [f"tra cứu hồ sơ {code}"]
    # Telegram and Zalo still take a real update and answer it.
    chat = 987654321
    update = surfaces.telegram.text_update(chat, "xin chào")
    status, _ = surfaces.request("POST", f"{surfaces.gateway}/webhooks/telegram", json=update,
                                 headers={SECRET_HEADER: TELEGRAM_SECRET})
    assert status == 200
    surfaces.loop.run(_wait_for(lambda: any("echo: xin chào" in m.get("text", "") and str(m["chat_id"]) == str(chat)
                                            for m in surfaces.telegram.sent)))
    user = "777000111222333444"
    event = {"app_id": APP_ID, "event_name": "user_send_text", "timestamp": str(int(time.time() * 1000)),
             "sender": {"id": user}, "recipient": {"id": "oa"}, "message": {"msg_id": f"after-{time.time()}",
                                                                           "text": "cảm ơn"}}
    raw, headers = _zalo_signed(event, OA_SECRET)
    assert surfaces.request("POST", f"{surfaces.gateway}/webhooks/zalo", data=raw, headers=headers)[0] == 200
    surfaces.loop.run(_wait_for(lambda: any("echo: cảm ơn" in m.get("text", "")
                                            for m in surfaces.zalo.sent_to(user))), timeout=90)
    total = sum(TRIED.values())
    with capsys.disabled():
        print(f"\n[fuzz] {total} inputs in all ({dict(TRIED)}); every server alive, the lookup right")
    assert total >= 3000


async def _wait_for(condition: Any, timeout: float = 80) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "no answer after the fuzzing"
        await asyncio.sleep(0.1)
