"""The staff console beyond sign-in: models (against a fake Rasa model API), the
dashboard and its CSV (real Redis, the real reference API), tickets, entity marking."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import hypothesis
import pytest
import redis
import redis.asyncio as aioredis
import requests
from aiohttp import web
from hypothesis import strategies as st

from bot.staff import models
from common import inbox, stats
from common.settings import Settings
from common.stats import Count
from tests.bot.conftest import (
    ADMIN_PASSWORD,
    ANNOTATOR_PASSWORD,
    NOW,
    ThreadedGateway,
    _serve,
    csrf,
    sign_in,
    signed_in_session,
)
from tests.conftest import Stack, copy_content, seeded_dossier


class FakeRasa:
    """Rasa's ``GET /status`` and ``PUT /model`` (HTTP API, 3.6, started with ``--auth-token``):
    401 without ``?token=``, 204 when the file loads."""

    TOKEN = "fake-rasa-token"

    def __init__(self, default: str) -> None:
        self.loaded = [default]

    def app(self) -> web.Application:
        @web.middleware
        async def auth(request: web.Request, handler):
            if request.query.get("token") != self.TOKEN:
                return web.json_response({"version": "3.6.21", "status": "failure", "reason": "NotAuthenticated",
                                          "code": 401}, status=401)
            return await handler(request)

        async def status(request: web.Request) -> web.Response:
            return web.json_response({"model_file": self.loaded[-1], "model_id": "x", "num_active_training_jobs": 0})

        async def load(request: web.Request) -> web.Response:
            path = (await request.json()).get("model_file", "")
            if not Path(path).is_file():
                return web.json_response({"version": "3.6.21", "status": "failure", "reason": "LoadingError",
                                          "code": 500}, status=500)
            self.loaded.append(path)
            return web.Response(status=204)

        app = web.Application(middlewares=[auth])
        app.router.add_get("/status", status)
        app.router.add_put("/model", load)
        return app


@pytest.fixture
async def models_console(accounts, redis_url, gateway, tmp_path):
    default = tmp_path / "sct-assistant.tar.gz"
    default.write_bytes(b"live model")
    rasa = FakeRasa(str(default))
    server, url = await _serve(rasa.app())
    candidates = tmp_path / "models" / "candidates"
    candidates.mkdir(parents=True)
    (candidates / "20261127-101500.tar.gz").write_bytes(b"candidate")
    report = {"job": "20261127-101500", "by": "lan.nguyen", "created_at": "2026-11-27T10:16:00",
              "candidate_model": str(candidates / "20261127-101500.tar.gz"), "live_model": str(default),
              "train_seconds": 21.4, "examples": 3,
              "live": {"accuracy": 0.667, "plain_accuracy": 0.5, "out_of_scope": 1.0,
                       "f1": {"hoi_le_phi": 0.0, "chao_hoi": 1.0}},
              "candidate": {"accuracy": 1.0, "plain_accuracy": 1.0, "out_of_scope": 1.0,
                            "f1": {"hoi_le_phi": 1.0, "chao_hoi": 1.0}},
              "fixed": [{"text": "lệ phí bao nhiêu", "expected": "hoi_le_phi", "live": "hoi_thu_tuc",
                         "candidate": "hoi_le_phi"}], "broken": []}
    (candidates / "20261127-101500.json").write_text(json.dumps(report, ensure_ascii=False))
    client = await gateway(rasa_url=url, rasa_token=FakeRasa.TOKEN, redis_url=redis_url,
                           dossier_api_url="http://127.0.0.1:9", staff_db_path=accounts.path,
                           models_dir=str(tmp_path / "models"), model_path=str(default))
    yield client, rasa, default, candidates / "20261127-101500.tar.gz"
    await server.close()


async def test_comparison_then_promotion_and_rollback_by_an_admin_only(models_console, redis_url) -> None:
    client, rasa, default, candidate = models_console
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    comparison = await (await client.get("/staff/models/20261127-101500")).text()
    assert "lệ phí bao nhiêu" in comparison and "+0.333" in comparison  # newly fixed, accuracy delta
    assert "chỉ quản trị viên" in comparison and "/promote" not in comparison
    token = await csrf(client)
    refused = await client.post("/staff/api/models/20261127-101500/promote", headers={"X-CSRF-Token": token})
    assert refused.status == 403 and rasa.loaded == [str(default)]  # an annotator cannot promote
    assert (await client.post("/staff/api/models/rollback", headers={"X-CSRF-Token": token})).status == 403

    client.session.cookie_jar.clear()
    await sign_in(client, "admin.so", ADMIN_PASSWORD)
    assert (await client.post("/staff/api/models/20261127-101500/promote")).status == 403  # no CSRF token
    token = await csrf(client)
    promoted = await client.post("/staff/api/models/20261127-101500/promote", data={"csrf_token": token},
                                 allow_redirects=False)
    assert promoted.status == 302 and rasa.loaded[-1] == str(candidate)
    page = await (await client.get("/staff/models?done=promoted")).text()
    assert "Đã đưa mô hình mới vào sử dụng" in page and candidate.name in page
    back = await client.post("/staff/api/models/rollback", headers={"X-CSRF-Token": token,
                                                                    "Accept": "application/json"})
    assert back.status == 200 and (await back.json())["live"] == default.name and rasa.loaded[-1] == str(default)
    nothing = await client.post("/staff/api/models/rollback", headers={"X-CSRF-Token": token,
                                                                       "Accept": "application/json"})
    assert nothing.status == 409 and "Không có mô hình trước đó" in (await nothing.json())["error"]
    candidate.unlink()
    gone = await client.post("/staff/api/models/20261127-101500/promote",
                             headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert gone.status == 409 and rasa.loaded[-1] == str(default)


async def test_promoting_the_live_model_again_leaves_rollback_to_the_one_before(models_console) -> None:
    """A second "Đưa vào sử dụng" (another tab, the back button) must not make the live model its own
    "previous": one "Quay lại" then puts back the model that was live before the promotion."""
    client, rasa, default, candidate = models_console
    await sign_in(client, "admin.so", ADMIN_PASSWORD)
    token = await csrf(client)
    url = "/staff/api/models/20261127-101500/promote"
    assert (await client.post(url, data={"csrf_token": token}, allow_redirects=False)).status == 302
    again = await client.post(url, data={"csrf_token": token})
    assert again.status == 409 and models.ALREADY_LIVE in await again.text()
    assert rasa.loaded == [str(default), str(candidate)]  # not loaded a second time
    ops = await (await client.get("/staff/ops")).text()
    now = dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh"))  # the department's clock, whatever the server's
    assert any(f"đưa vào dùng lúc {t:%d/%m/%Y %H:%M} bởi admin.so" in ops for t in (now, now - dt.timedelta(minutes=1)))
    back = await client.post("/staff/api/models/rollback", data={"csrf_token": token}, allow_redirects=False)
    assert back.status == 302 and rasa.loaded[-1] == str(default)
    assert default.name in await (await client.get("/staff/models")).text()


async def test_training_runs_one_job_at_a_time_and_reports_progress(models_console, redis_url) -> None:
    client, *_ = models_console
    redis = aioredis.from_url(redis_url)
    await redis.set(models.LOCK, "20261127-000000")  # a job is running (its heartbeat is fresh)
    await redis.hset(models.JOB_KEY.format("20261127-000000"), mapping={
        **models._initial("20261127-000000", "admin.so"), "state": "training", "progress": "0.42",
        "message": "Đang huấn luyện: LogisticRegressionClassifier"})
    await redis.set(models.LAST_JOB, "20261127-000000")
    try:
        await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
        page = await (await client.get("/staff/models")).text()
        assert 'value="0.420"' in page and "LogisticRegressionClassifier" in page and 'data-running="true"' in page
        busy = await client.post("/staff/api/training", headers={"X-CSRF-Token": await csrf(client),
                                                                 "Accept": "application/json"})
        assert busy.status == 409
        state = await (await client.get("/staff/api/training/20261127-000000")).json()
        assert state["state"] == "training" and state["progress"] == 0.42
    finally:
        await redis.delete(models.LOCK, models.LAST_JOB, models.JOB_KEY.format("20261127-000000"))
        await redis.close()


async def test_dashboard_draws_every_chart_and_exports_csv(accounts, redis_url, gateway, stack: Stack) -> None:
    redis = aioredis.from_url(redis_url)
    today = stats.local_now().date()
    await stats.record(redis, Count(stats.MESSAGES, "zalo", 7), Count(stats.LOOKUPS, "found", 4),
                       Count(stats.INTENTS, "hoi_le_phi", 9), Count(stats.INTENTS, "nlu_fallback", 1),
                       Count(stats.DLR, "DELIVRD", 5), Count(stats.DLR, "UNDELIV", 1))
    await stats.record(redis, response=("zalo", 0.8))
    await redis.close()
    code = seeded_dossier(stack, "da_tra_ket_qua")["code"]
    for level in ("hai_long", "hai_long", "khong_hai_long"):
        stack.api_session().post(f"{stack.api_url}/api/v1/ratings", json={"level": level, "channel": "zalo",
                                                               "dossier_code": code}, timeout=10).raise_for_status()
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url=stack.api_url,
                           staff_db_path=accounts.path)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    page = await (await client.get("/staff/dashboard?days=7")).text()
    for chart in ("messages", "lookups", "intents", "fallback", "satisfaction-channel", "satisfaction-week",
                  "response", "dlr"):
        assert f'id="chart-{chart}"' in page
    assert f"{today:%d/%m} – zalo: " in page and "Hỏi lệ phí: " in page and "Đã đến máy: " in page
    assert re.search(r"zalo – Hài lòng: \d+", page) and "Tải CSV" in page
    exported = await client.get("/staff/dashboard.csv?days=7")
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO((await exported.text()).lstrip("\ufeff"))))
    assert len(rows) == 7 and rows[-1]["Ngày"] == today.isoformat()
    assert int(rows[-1]["Tin nhắn – zalo"]) >= 7 and int(rows[-1]["Báo nhận SMS: DELIVRD"]) >= 5
    assert int(rows[-1]["Đánh giá zalo – Hài lòng"]) >= 2
    assert rows[-1]["Thời gian trả lời trung vị (ms) – zalo"] != ""


async def test_open_tickets_are_listed_and_answered_to_their_author(accounts, redis_url, gateway,
                                                                    stack: Stack) -> None:
    ticket = stack.api_session().post(f"{stack.api_url}/api/v1/tickets", json={
        "owner": "web:console-test", "content": "Cán bộ hẹn trả kết quả nhưng đã quá hạn một tuần, gọi 0905123456"},
        timeout=10).json()
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url=stack.api_url,
                           staff_db_path=accounts.path)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    home = await (await client.get("/staff/")).text()
    assert ticket["number"] in home and "&lt;SĐT&gt;" in home and "0905123456" not in home
    answered = await client.post(f"/staff/api/tickets/{ticket['number']}/answer",
                                 data={"csrf_token": await csrf(client), "answer": "Sở đã xử lý, xin lỗi anh/chị.",
                                       "version": "1", "back": "home"},
                                 allow_redirects=False)
    assert answered.status == 302 and answered.headers["Location"] == "/staff/?done=answered"
    assert "Đã gửi trả lời." in await (await client.get(answered.headers["Location"])).text()  # told it went
    stored = stack.api_session().get(f"{stack.api_url}/api/v1/tickets/{ticket['number']}",
                                     params={"owner": "web:console-test"}, timeout=10).json()
    assert stored["status"] == "da_tra_loi" and stored["answer"] == "Sở đã xử lý, xin lỗi anh/chị."
    assert ticket["number"] not in await (await client.get("/staff/")).text()


async def test_inbox_items_are_confirmed_with_entities(inbox_console, redis_url) -> None:
    client, nlu_dir = inbox_console
    redis = aioredis.from_url(redis_url)
    await redis.xadd(inbox.STREAM, inbox.record_fields("chỗ nào có siêu thị gần đây", "web:1", "tim_dia_diem",
                                                       0.5, NOW, "unhelpful"))
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    page = await (await client.get("/staff/inbox")).text()
    assert "người dân báo chưa hữu ích" in page and '<option value="loai_dia_diem">' in page
    [item] = re.findall(r'action="/staff/api/inbox/([^"]+)"', page)
    token = await csrf(client)
    wrong = await client.post(f"/staff/api/inbox/{item}", json={
        "action": "confirm", "intent": "tim_dia_diem", "entities": [{"value": "chợ", "entity": "loai_dia_diem"}]},
        headers={"X-CSRF-Token": token})
    assert wrong.status == 400 and "Không thấy" in (await wrong.json())["error"]
    [(item, _)] = await redis.xrange(inbox.STREAM)  # put back for another try
    await redis.close()
    ok = await client.post(f"/staff/api/inbox/{item.decode()}", data={
        "csrf_token": token, "action": "confirm", "intent": "tim_dia_diem", "entity_value": "siêu thị",
        "entity": "loai_dia_diem"}, allow_redirects=False)
    assert ok.status == 302
    [batch] = nlu_dir.glob("inbox_*.yml")
    assert "- chỗ nào có [siêu thị](loai_dia_diem) gần đây" in batch.read_text()


async def test_a_complaint_about_a_named_official_is_confirmed_only_anonymised(inbox_console, redis_url) -> None:
    """Issue 14, item 4: the console never copies a complaint's names into the training files."""
    client, nlu_dir = inbox_console
    redis = aioredis.from_url(redis_url)
    text = "cán bộ Trần Văn Bình ở bộ phận một cửa hách dịch, đòi bồi dưỡng"
    await redis.xadd(inbox.STREAM, inbox.record_fields(text, "zalo:5", "phan_anh_kien_nghi", 0.45, NOW))
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    page = await (await client.get("/staff/inbox")).text()
    assert "chỉ đưa vào dữ liệu huấn luyện khi đã ẩn danh" in page and 'name="anonymised"' in page
    token = await csrf(client)

    async def confirm(**fields: str):
        [(item, _)] = await redis.xrange(inbox.STREAM)  # a refused item is put back, under a new id
        return await client.post(f"/staff/api/inbox/{item.decode()}", allow_redirects=False, data={
            "csrf_token": token, "action": "confirm", "intent": "phan_anh_kien_nghi", **fields})

    for fields, message in [({}, "chỉ đưa vào dữ liệu huấn luyện khi đã ẩn danh"),
                            ({"anonymised": text}, "giống hệt câu gốc"),
                            ({"anonymised": "cán bộ Bình ở bộ phận một cửa hách dịch"}, "vẫn còn tên")]:
        refused = await confirm(**fields)
        assert refused.status == 400 and message in await refused.text(), fields
        assert not list(nlu_dir.glob("inbox_*.yml"))
    ok = await confirm(anonymised="cán bộ ở bộ phận một cửa hách dịch, đòi bồi dưỡng")
    assert ok.status == 302 and await redis.xlen(inbox.STREAM) == 0
    await redis.close()
    [batch] = nlu_dir.glob("inbox_*.yml")
    written = batch.read_text()
    assert "- cán bộ ở bộ phận một cửa hách dịch, đòi bồi dưỡng" in written and "Bình" not in written


# -- fuzzing every console route (issue 15, Low: no 5xx on any input) ---------------------------

FIELDS = ("username", "password", "role", "action", "intent", "entity", "entity_value", "entities", "answer",
          "sender", "days", "done", "version", "status", "assignee", "anonymised", "back")
TRICKY = ("", "..", "%2e%2e", "²", "٣", "0-0", "1" * 400, "99999999999999999999-0", "\ud800", "\x00", "<script>",
          "PA261126-0001", "20261127-101500", "web:1", "admin", "annotator", "confirm", "discard", "hoi_le_phi")
EXAMPLES_PER_ROUTE = 100


def _strategies():
    text = st.one_of(st.text(max_size=60), st.sampled_from(TRICKY))
    printable = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
                          st.sampled_from([t for t in TRICKY if t != "\ud800"]))
    param = st.one_of(printable.filter(bool), st.from_regex(r"\A\d{1,20}-\d{1,20}\Z"),
                      st.from_regex(r"\APA\d{6}-\d{4}\Z"), st.from_regex(r"\A\d{8}-\d{6}\Z"))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
    value = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(text, inner, max_size=4)), max_leaves=12)
    keys = st.one_of(st.sampled_from(FIELDS), printable)
    body = st.one_of(
        st.tuples(st.just("form"), st.dictionaries(keys, printable, max_size=6)),
        st.tuples(st.just("json"), st.one_of(st.dictionaries(keys, value, max_size=6), value)),
        st.tuples(st.sampled_from(["application/json", "application/x-www-form-urlencoded", "multipart/form-data",
                                   "text/plain"]), st.binary(max_size=512)))
    return param, st.dictionaries(st.sampled_from(FIELDS), printable, max_size=3), body, printable


def test_fuzzed_console_requests_never_get_a_5xx(accounts, redis_url, stack: Stack, tmp_path) -> None:
    """Every console route (signed in as an admin, with the CSRF token) against the real Rasa, dossier API
    and Redis: generated path parameters, queries and bodies (forms, JSON, raw bytes) are answered < 500."""
    nlu_dir = tmp_path / "nlu"
    nlu_dir.mkdir()
    server = ThreadedGateway(Settings(
        _env_file=None, rasa_url=stack.rasa_url, rasa_token=stack.rasa_token, redis_url=redis_url,
        dossier_api_url=stack.api_url, staff_db_path=accounts.path, nlu_data_dir=str(nlu_dir),
        models_dir=str(tmp_path / "models"), model_path=str(tmp_path / "sct-assistant.tar.gz"),
        content_dir=str(copy_content(tmp_path / "content")))).start()  # an admin may edit content: a copy
    store = redis.Redis.from_url(redis_url)
    busy = "20261127-000000"  # a training job "running" for the whole run: the training button answers 409
    store.set(models.LOCK, busy, ex=3600)
    store.hset(models.JOB_KEY.format(busy), mapping={**models._initial(busy, "fuzz"),
                                                     "updated_at": str(time.time() + 3600)})
    statuses: Counter = Counter()
    param, query, body, printable = _strategies()
    try:
        http, token = signed_in_session(server.url, "admin.so", ADMIN_PASSWORD)
        routes = sorted({(r.method, r.resource.canonical) for r in server.app.router.routes()
                         if r.resource is not None and r.resource.canonical.startswith("/staff")
                         and r.method != "HEAD" and r.resource.canonical not in ("/staff/logout", "/staff/login")})
        assert len(routes) >= 14

        def fuzz(method: str, path: str):
            names = re.findall(r"\{(\w+)\}", path)

            @hypothesis.settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
                                 suppress_health_check=[hypothesis.HealthCheck.too_slow,
                                                        hypothesis.HealthCheck.filter_too_much])
            @hypothesis.given(values=st.lists(param, min_size=len(names), max_size=len(names)), params=query,
                              payload=body, json_accept=st.booleans())
            def one(values, params, payload, json_accept) -> None:
                url = path
                for name, value in zip(names, values, strict=True):
                    url = url.replace("{" + name + "}", quote(value.encode("utf-8", "surrogatepass"), safe=""))
                headers = {"X-CSRF-Token": token, "Accept": "application/json" if json_accept else "text/html"}
                kind, content = payload
                if kind == "form":
                    kwargs = {"data": content}
                elif kind == "json":
                    kwargs = {"data": json.dumps(content).encode()}
                    headers["Content-Type"] = "application/json"
                else:
                    kwargs = {"data": content}
                    headers["Content-Type"] = kind
                resp = http.request(method, server.url + url, params=params, headers=headers, timeout=30,
                                    allow_redirects=False, **({} if method == "GET" else kwargs))
                statuses[resp.status_code] += 1
                assert resp.status_code < 500, (method, url, params, payload, resp.status_code, resp.text[:300])
                assert "Content-Security-Policy" in resp.headers

            return one

        for method, path in routes:
            fuzz(method, path)()
        assert http.get(f"{server.url}/staff/", timeout=10).status_code == 200  # still signed in, still serving

        anonymous = requests.Session()  # the sign-in form, with its valid CSRF token (bcrypt until throttled)
        anonymous.get(f"{server.url}/staff/login", timeout=10)

        @hypothesis.settings(max_examples=40, deadline=None, database=None,
                             suppress_health_check=[hypothesis.HealthCheck.too_slow])
        @hypothesis.given(fields=st.dictionaries(st.sampled_from(("username", "password", "role")), printable),
                          as_json=st.booleans())
        def sign_in_once(fields, as_json) -> None:
            form = {**fields, "csrf_token": anonymous.cookies.get("sct_login_csrf")}
            resp = anonymous.post(f"{server.url}/staff/login", timeout=30, allow_redirects=False,
                                  **({"json": form} if as_json else {"data": form}))
            statuses[resp.status_code] += 1
            assert resp.status_code in (200, 429), (fields, resp.status_code, resp.text[:300])

        sign_in_once()
        print(f"fuzzed {sum(statuses.values())} console requests on {len(routes) + 1} routes: {dict(statuses)}")
    finally:
        store.delete(models.LOCK, models.JOB_KEY.format(busy))
        store.close()
        server.stop()
