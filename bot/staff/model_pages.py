"""Console pages to retrain, compare and promote models (``bot.staff.models`` does the work).

Any signed-in staff member may train a candidate and read comparisons;
promoting and rolling back are for admins.
"""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.staff import models
from bot.staff.accounts import Role
from bot.staff.layout import REDIS_KEY, SETTINGS_KEY, csrf_field, done, page, refused, requires, session_of
from bot.staff.sessions import Session
from clients.rasa import RasaClient, RasaUnavailable

NOTICES = {"promoted": "Đã đưa mô hình mới vào sử dụng; các cuộc trò chuyện vẫn tiếp tục.",
           "rolled_back": "Đã quay lại mô hình trước đó."}
METRICS = (("Độ chính xác (ý định)", "accuracy"), ("Câu gõ không dấu", "plain_accuracy"),
           ("Câu ngoài phạm vi được nhận ra", "out_of_scope"))


async def _rasa_model(settings: Any) -> str:
    """The model file the running Rasa server reports."""
    rasa = RasaClient.from_settings(settings)
    try:
        return await rasa.model_file()
    except RasaUnavailable:
        return "không kết nối được máy chủ Rasa"
    finally:
        await rasa.close()


def _button(session: Session, action: str, label: str, confirm: str, css: str = "") -> str:
    if session.staff.role is not Role.ADMIN:
        return f'<p class="muted">{html.escape(label)}: chỉ quản trị viên (admin) được thực hiện.</p>'
    return (f'<form method="post" action="{action}" data-confirm="{html.escape(confirm)}">'
            f'{csrf_field(session.csrf)}<button class="{css}">{html.escape(label)}</button></form>')


async def models_page(request: web.Request, error: str = "") -> web.Response:
    """The live model, the one before it, a training button with progress, the candidates."""
    session, settings = session_of(request), request.app[SETTINGS_KEY]
    registry = models.Registry.from_settings(settings)
    job = await models.last_job(request.app[REDIS_KEY])
    notice = NOTICES.get(request.query.get("done", ""), "")
    live, previous, reports = await asyncio.to_thread(
        lambda: (registry.live(), registry.previous(), registry.reports()))  # files: off the event loop
    rollback = (_button(session, "/staff/api/models/rollback", f"Quay lại mô hình trước ({previous[0].name})",
                        "Quay lại mô hình trước đó?") if previous else '<p class="muted">Chưa có mô hình trước đó.</p>')
    running = job is not None and job.public()["state"] not in ("done", "failed")
    state = job.public() if job else None
    progress = ""
    if state:
        failed = f'<p class="error">{html.escape(state["error"])}</p>' if state["state"] == "failed" else ""
        link = (f' – <a href="/staff/models/{html.escape(job.id)}">xem bảng so sánh</a>'
                if state["state"] == "done" else "")
        progress = (f'<div id="training" data-job="{html.escape(job.id)}" data-running="{str(running).lower()}">'
                    f'<p>Lượt gần nhất <strong>{html.escape(job.id)}</strong> ({html.escape(job.by)}): '
                    f'<span id="training-message">{html.escape(state["message"])}</span>{link}</p>'
                    f'<progress id="training-progress" max="1" value="{state["progress"]:.3f}"></progress>'
                    f'{failed}</div>')
    rows = "".join(
        f'<tr><td><a href="/staff/models/{html.escape(r["job"])}">{html.escape(r["job"])}</a></td>'
        f'<td>{html.escape(r.get("by", ""))}</td><td class="num">{r["live"]["accuracy"]:.3f}</td>'
        f'<td class="num">{r["candidate"]["accuracy"]:.3f}</td><td class="num">{len(r["fixed"])}</td>'
        f'<td class="num">{len(r["broken"])}</td></tr>' for r in reports)
    candidates = (f"<table><tr><th>Ứng viên</th><th>Người chạy</th><th class=num>Đang chạy</th>"
                  f"<th class=num>Ứng viên</th><th class=num>Mới đúng</th><th class=num>Mới sai</th></tr>{rows}</table>"
                  if rows else "<p>Chưa có mô hình ứng viên nào.</p>")
    body = f"""{f'<div class="card ok">{html.escape(notice)}</div>' if notice else ''}
{f'<div class="card error">{html.escape(error)}</div>' if error else ''}
<div class="card"><h1>Mô hình đang chạy</h1>
<p><strong>{html.escape(live.name)}</strong> <span class="muted">(máy chủ Rasa báo:
{html.escape(Path(await _rasa_model(settings)).name)})</span></p>{rollback}</div>
<div class="card"><h2>Huấn luyện mô hình mới</h2>
<p>Huấn luyện trên dữ liệu hiện có (kể cả các câu vừa xác nhận trong hộp thư), rồi chấm mô hình mới và mô hình
đang chạy trên cùng tập kiểm thử cố định.</p>
<form method="post" action="/staff/api/training" id="train-form">{csrf_field(session.csrf)}
<button class="primary"{' disabled' if running else ''}>Huấn luyện</button></form>{progress}</div>
<div class="card"><h2>Các mô hình ứng viên</h2>{candidates}</div>"""
    return page("Mô hình", body, session)


def _delta(before: float, after: float) -> str:
    diff = after - before
    css = "better" if diff > 0.0005 else "worse" if diff < -0.0005 else "muted"
    return f'<td class="num {css}">{diff:+.3f}</td>'


async def comparison_page(request: web.Request) -> web.Response:
    """A candidate beside the live model on the fixed test split."""
    session = session_of(request)
    job_id = request.match_info["job"]
    report = await asyncio.to_thread(models.Registry.from_settings(request.app[SETTINGS_KEY]).report, job_id)
    if report is None:
        raise web.HTTPNotFound(text="Không tìm thấy mô hình ứng viên này.")
    live, cand = report["live"], report["candidate"]
    metrics = "".join(f"<tr><td>{label}</td><td class=num>{live[key]:.3f}</td><td class=num>{cand[key]:.3f}</td>"
                      f"{_delta(live[key], cand[key])}</tr>" for label, key in METRICS)
    f1 = "".join(f"<tr><td>{html.escape(i)}</td><td class=num>{live['f1'].get(i, 0):.3f}</td>"
                 f"<td class=num>{cand['f1'][i]:.3f}</td>{_delta(live['f1'].get(i, 0), cand['f1'][i])}</tr>"
                 for i in sorted(cand["f1"]))

    def examples(rows: list[dict], empty: str) -> str:
        if not rows:
            return f"<p class=muted>{empty}</p>"
        return ("<table><tr><th>Câu</th><th>Đúng là</th><th>Mô hình đang chạy</th><th>Ứng viên</th></tr>"
                + "".join(f"<tr><td>{html.escape(r['text'])}</td><td>{html.escape(r['expected'])}</td>"
                          f"<td>{html.escape(r['live'])}</td><td>{html.escape(r['candidate'])}</td></tr>"
                          for r in rows) + "</table>")

    promote = _button(session, f"/staff/api/models/{html.escape(job_id)}/promote", "Đưa vào sử dụng",
                      "Đưa mô hình này vào sử dụng cho người dân?", "primary")
    body = f"""<div class="card"><h1>So sánh: ứng viên {html.escape(job_id)} và mô hình đang chạy</h1>
<p class="muted">Cùng tập kiểm thử cố định ({report['examples']} câu). Mô hình đang chạy lúc chấm:
{html.escape(Path(report['live_model']).name)}. Huấn luyện {report['train_seconds']} giây.</p>
<table id="comparison"><tr><th>Chỉ số</th><th class=num>Đang chạy</th><th class=num>Ứng viên</th>
<th class=num>Chênh lệch</th></tr>{metrics}</table>{promote}</div>
<div class="grid"><div class="card"><h2>Mới đúng ({len(report['fixed'])})</h2>
{examples(report['fixed'], 'Không có câu nào mới đúng.')}</div>
<div class="card"><h2>Mới sai ({len(report['broken'])})</h2>{examples(report['broken'], 'Không có câu nào mới sai.')}
</div></div>
<div class="card"><h2>F1 theo ý định</h2><table><tr><th>Ý định</th><th class=num>Đang chạy</th>
<th class=num>Ứng viên</th><th class=num>Chênh lệch</th></tr>{f1}</table></div>"""
    return page(f"So sánh {job_id}", body, session)


async def start_training(request: web.Request) -> web.StreamResponse:
    job = await models.start_job(request.app[REDIS_KEY], session_of(request).staff.username)
    if job is None:
        return await refused(request, "Một lượt huấn luyện khác đang chạy; anh/chị vui lòng đợi.", 409, models_page)
    return done(request, job.public(), "/staff/models", status=202)


async def training_state(request: web.Request) -> web.Response:
    job_id = request.match_info["job"]
    job = await models.get_job(request.app[REDIS_KEY], job_id) if models.JOB_ID.fullmatch(job_id) else None
    if job is None:
        raise web.HTTPNotFound(text="Không có lượt huấn luyện này.")
    return web.json_response(job.public())


async def _change(request: web.Request, change, outcome: str) -> web.StreamResponse:
    try:
        model = await change()
    except models.ModelError as exc:
        return await refused(request, str(exc), 409, models_page)
    return done(request, {"live": model.name}, f"/staff/models?done={outcome}")


@requires(Role.ADMIN)
async def promote(request: web.Request) -> web.StreamResponse:
    by = session_of(request).staff.username
    return await _change(request, lambda: models.promote(request.app[REDIS_KEY], request.app[SETTINGS_KEY],
                                                         request.match_info["job"], by), "promoted")


@requires(Role.ADMIN)
async def rollback(request: web.Request) -> web.StreamResponse:
    by = session_of(request).staff.username
    return await _change(request, lambda: models.rollback(request.app[REDIS_KEY], request.app[SETTINGS_KEY], by),
                         "rolled_back")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/staff/models", models_page)
    app.router.add_get("/staff/models/{job}", comparison_page)
    app.router.add_post("/staff/api/training", start_training)
    app.router.add_get("/staff/api/training/{job}", training_state)
    app.router.add_post("/staff/api/models/{job}/promote", promote)
    app.router.add_post("/staff/api/models/rollback", rollback)
