"""The staff console beyond sign-in: models (against a fake Rasa model API), the
dashboard and its CSV (real Redis, the real reference API), tickets, entity marking."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import requests
from aiohttp import web

from bot.staff import models
from common import inbox, stats
from common.stats import Count
from tests.bot.conftest import ADMIN_PASSWORD, ANNOTATOR_PASSWORD, NOW, _serve, csrf, sign_in
from tests.conftest import Stack, seeded_dossier


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
        requests.post(f"{stack.api_url}/api/v1/ratings", json={"level": level, "channel": "zalo",
                                                               "dossier_code": code}, timeout=10).raise_for_status()
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url=stack.api_url,
                           staff_db_path=accounts.path)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    page = await (await client.get("/staff/dashboard?days=7")).text()
    for chart in ("messages", "lookups", "intents", "fallback", "satisfaction-channel", "satisfaction-week",
                  "response", "dlr"):
        assert f'id="chart-{chart}"' in page
    assert f"{today:%d/%m} – zalo: " in page and "hoi_le_phi: " in page and "DELIVRD: " in page
    assert re.search(r"zalo – Hài lòng: \d+", page) and "Tải CSV" in page
    exported = await client.get("/staff/dashboard.csv?days=7")
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO((await exported.text()).lstrip("\ufeff"))))
    assert len(rows) == 7 and rows[-1]["ngay"] == today.isoformat()
    assert int(rows[-1]["tin_nhan_zalo"]) >= 7 and int(rows[-1]["dlr_DELIVRD"]) >= 5
    assert int(rows[-1]["danh_gia_zalo_hai_long"]) >= 2 and rows[-1]["trung_vi_ms_zalo"] != ""


async def test_open_tickets_are_listed_and_answered_to_their_author(accounts, redis_url, gateway,
                                                                    stack: Stack) -> None:
    ticket = requests.post(f"{stack.api_url}/api/v1/tickets", json={
        "owner": "web:console-test", "content": "Cán bộ hẹn trả kết quả nhưng đã quá hạn một tuần, gọi 0905123456"},
        timeout=10).json()
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url=stack.api_url,
                           staff_db_path=accounts.path)
    await sign_in(client, "lan.nguyen", ANNOTATOR_PASSWORD)
    home = await (await client.get("/staff/")).text()
    assert ticket["number"] in home and "&lt;SĐT&gt;" in home and "0905123456" not in home
    answered = await client.post(f"/staff/api/tickets/{ticket['number']}/answer",
                                 data={"csrf_token": await csrf(client), "answer": "Sở đã xử lý, xin lỗi anh/chị."},
                                 allow_redirects=False)
    assert answered.status == 302
    stored = requests.get(f"{stack.api_url}/api/v1/tickets/{ticket['number']}", params={"owner": "web:console-test"},
                          timeout=10).json()
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

