"""Content editing in the console (editors and admins): the procedure catalog, the policy
Q&A entries, the reply texts, and the audit trail of every edit.

Each edit page shows how the reply reads on chat and over SMS (the functions the bot
answers with), validates the form (Vietnamese messages, nothing written on a problem),
carries the version of the file it was opened on (a stale edit is refused, 409), and
writes the same readable YAML file back (:mod:`bot.staff.content`). The dossier API and
the action server reload a changed file within a second (``CONTENT_DIR``), so the next
citizen reads the new content on every channel, without a restart or retraining.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.staff import content
from bot.staff.accounts import Role
from bot.staff.content import AuditLog, AuditRecord, ContentError, Saved, Snapshot, StaleEdit
from bot.staff.layout import SETTINGS_KEY, csrf_field, form_or_json, page, requires, session_of, wants_json
from common.dates import local_now
from common.settings import Settings
from common.sms_text import sms_text_settings
from common.text import nfc
from content import replies
from dossier_api.catalog import catalog_file, parse_catalog, procedure_of
from dossier_api.models import Procedure
from knowledge import answer
from knowledge.loader import Entry, KnowledgeError, check_entry, data_dir, data_files, load

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
# The reply texts (helper O1's content/texts.py reads them); any YAML mapping of texts works here.
TEXTS_FILE = ROOT / "content" / "data" / "texts.yml"
SAVED = "Đã lưu. Trợ lý dùng nội dung mới trong vài giây, không cần khởi động lại."
NOT_FOUND = "Không tìm thấy mục nội dung này."
STALE_KEPT = ("Nội dung này đã được thay đổi (bởi cán bộ khác hoặc bản cập nhật) sau khi anh/chị mở trang, nên chưa "
              "có gì được lưu. Các ô dưới đây vẫn giữ nội dung anh/chị đã gõ; ô nào khác bản hiện tại có ghi "
              "“Bản hiện tại” ngay dưới. Anh/chị xem lại rồi bấm “Lưu” để lưu lên bản hiện tại.")
NOT_LOADED = "Nội dung sau khi sửa không đọc được như trợ lý đọc ({detail}); không có gì được lưu."
OTHER_BODY = ("Thủ tục này do cơ quan khác giải quyết (Sở chỉ hướng dẫn): thông tin thẩm quyền được sửa "
              "trong tệp dữ liệu qua quy trình rà soát, không sửa tại đây.")


@dataclass(frozen=True)
class ContentFiles:
    """Where the editable content lives, and the audit trail (no I/O until used)."""

    catalog: Path
    knowledge: Path
    texts: Path
    audit: AuditLog
    hotline: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ContentFiles:
        base = settings.content_dir
        return cls(catalog_file(base), data_dir(base), Path(base) / TEXTS_FILE.name if base else TEXTS_FILE,
                   AuditLog.next_to(settings.staff_db_path), settings.hotline)

    def name(self, path: Path) -> str:
        """How the audit names a file: ``procedures.yml``, ``knowledge/dien.yml``, ``texts.yml``."""
        return f"knowledge/{path.name}" if path.parent == self.knowledge else path.name


CONTENT_KEY = web.AppKey("staff_content", ContentFiles)


def _files(request: web.Request) -> ContentFiles:
    return request.app[CONTENT_KEY]


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _notice(problems: list[str], saved: bool) -> str:
    if problems:
        items = "".join(f"<li>{_e(p)}</li>" for p in problems)
        return f'<div class="card error" role="alert"><ul>{items}</ul></div>'
    return f'<div class="card ok" role="status">{SAVED}</div>' if saved else ""


def sms_preview(text: str) -> str:
    """The text as most handsets get it (the SMS gateway's own cutting: folded to ASCII unless the
    gateway sends UCS2 to everyone, at most its segment cap) and its size."""
    sms = sms_text_settings()
    parts = sms.parts(text)
    sent = "".join(p.text for p in parts)
    note = f"{len(sent)} ký tự, {len(parts)} tin" + (
        "" if sms.fits(text) else f": dài quá {sms.max_segments} tin, phần cuối bị cắt như trên")
    return f'<pre class="preview" data-channel="sms">{_e(sent)}</pre><p class="muted">{note}</p>'


def _preview(*shown: tuple[str, str, str]) -> str:
    """Each reply (what it answers, its chat text, its SMS text) as the citizen reads it on chat and by SMS."""
    blocks = "".join(
        (f"<h3>{_e(label)}</h3>" if label else "")
        + '<div class="grid"><div><h4>Trên chat (web, Telegram, Zalo)</h4>'
        f'<pre class="preview" data-channel="chat">{_e(chat)}</pre></div>'
        f"<div><h4>Qua SMS</h4>{sms_preview(sms)}</div></div>"
        for label, chat, sms in shown)
    return f'<div class="card" id="preview"><h2>Xem trước</h2>{blocks}</div>'


def _history(records: list[AuditRecord]) -> str:
    if not records:
        return ""
    return f'<div class="card"><h2>Lịch sử sửa</h2>{_audit_table(records, with_entry=False)}</div>'


def _audit_table(records: list[AuditRecord], with_entry: bool = True) -> str:
    rows = []
    for record in records:
        changes = "".join(
            f"<li><code>{_e(field or 'nội dung')}</code>: "
            f'<del>{_e(_short(before))}</del> → <ins>{_e(_short(after))}</ins></li>'
            for field, before, after in record.changes()) or "<li>(không đổi)</li>"
        added = " (thêm mới)" if record.before is None else ""
        where = f"<td>{_e(record.file)}<br><code>{_e(record.entry)}</code>{added}</td>" if with_entry else ""
        rows.append(f"<tr><td>{_e(record.at.strftime('%d/%m/%Y %H:%M:%S'))}</td><td>{_e(record.username)}</td>"
                    f'{where}<td><ul class="changes">{changes}</ul></td></tr>')
    head = "<th>Tệp, mục</th>" if with_entry else ""
    return (f'<table class="audit"><tr><th>Lúc</th><th>Cán bộ</th>{head}<th>Thay đổi (trước → sau)</th></tr>'
            + "".join(rows) + "</table>")


def _short(value: Any, limit: int = 300) -> str:
    text = "; ".join(map(str, value)) if isinstance(value, list) else "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field(label: str, name: str, value: object, kind: str = "input", hint: str = "",
           now: str | None = None) -> str:
    """One form field; ``now``: the file's current value, shown under the field when it differs (a stale edit)."""
    hint_html = f' <span class="muted">{_e(hint)}</span>' if hint else ""
    differs = now is not None and _same(now) != _same(value)
    current = f'<br><span class="current">Bản hiện tại: {_e(now) or "(trống)"}</span>' if differs else ""
    if kind == "textarea":
        rows = max(3, min(14, str(value or "").count("\n") + 2, len(str(value or "")) // 90 + 2))
        control = f'<textarea name="{name}" rows="{rows}">{_e(value)}</textarea>'
    else:
        control = f'<input name="{name}" value="{_e(value)}">'
    return f"<p><label>{_e(label)}{hint_html}<br>{control}</label>{current}</p>"


def _same(value: object) -> str:
    """A field's value as compared for a stale edit (a browser sends CRLF line ends, trailing blanks aside)."""
    return "\n".join(line.rstrip() for line in _e_raw(value).replace("\r\n", "\n").strip().split("\n"))


def _buttons() -> str:
    return ('<p><button name="action" value="preview">Xem trước</button> '
            '<button name="action" value="save" class="primary">Lưu</button></p>')


def _form_head(request: web.Request, action: str, version: str) -> str:
    return (f'<form method="post" action="{_e(action)}" class="content">{csrf_field(session_of(request).csrf)}'
            f'<input type="hidden" name="version" value="{_e(version)}">')


async def _refuse(request: web.Request, problems: list[str], status: int, render: Any,
                  form: Mapping[str, Any]) -> web.Response:
    """A refused edit: JSON for an API caller, else the form again as typed, with its problems (a stale edit:
    on the file's current version, each field that differs from it showing its current value)."""
    if wants_json(request):
        return web.json_response({"error": " ".join(problems), "problems": problems}, status=status)
    stale = status == 409
    response = await (render(request, form=form, problems=[STALE_KEPT], stale=True) if stale
                      else render(request, form=form, problems=problems))
    response.set_status(status)
    return response


async def _record(request: web.Request, path: Path, entry: str, saved: Saved) -> None:
    files, staff = _files(request), session_of(request).staff
    await asyncio.to_thread(files.audit.record, local_now(), staff.username, files.name(path), entry,
                            saved.before, saved.after)
    logger.info("staff %s edited %s (%s)", staff.username, files.name(path), entry)


def _saved(request: web.Request, location: str, saved: Saved) -> web.Response:
    if wants_json(request):
        return web.json_response({"saved": True, "version": saved.version, "after": content.plain(saved.after)})
    raise web.HTTPFound(location)


# -- Overview and audit --------------------------------------------------------------------------------------

@requires(Role.EDITOR)
async def overview(request: web.Request) -> web.Response:
    recent = await asyncio.to_thread(_files(request).audit.recent, 10)
    body = ('<div class="card"><h1>Nội dung trợ lý</h1><ul>'
            '<li><a href="/staff/content/procedures">Danh mục thủ tục</a>: giấy tờ, lệ phí, thời hạn, nơi nộp, '
            'căn cứ pháp lý</li>'
            '<li><a href="/staff/content/qa">Hỏi đáp chính sách</a>: câu trả lời, căn cứ, ngày rà soát; '
            'thêm câu hỏi</li>'
            '<li><a href="/staff/content/texts">Câu trả lời mẫu</a>: lời chào, thông báo, hướng dẫn</li>'
            '<li><a href="/staff/content/audit">Nhật ký sửa nội dung</a></li></ul>'
            '<p class="muted">Mỗi lần lưu được ghi lại (ai, lúc nào, trước và sau) và ghi vào chính tệp dữ liệu '
            'để rà soát, lưu phiên bản.</p></div>'
            f'<div class="card"><h2>Sửa gần đây</h2>{_audit_table(recent) if recent else "<p>Chưa có.</p>"}</div>')
    return page("Nội dung", body, session_of(request))


@requires(Role.EDITOR)
async def audit_page(request: web.Request) -> web.Response:
    records = await asyncio.to_thread(_files(request).audit.recent, 200)
    table = _audit_table(records) if records else "<p>Chưa có lần sửa nào.</p>"
    return page("Nhật ký sửa nội dung", f'<div class="card"><h1>Nhật ký sửa nội dung</h1>{table}</div>',
                session_of(request))


# -- The procedure catalog ---------------------------------------------------------------------------------

PROCEDURE_FIELDS = ("giay_to", "so_bo", "le_phi", "le_phi_vnd", "thoi_han", "thoi_han_ngay", "hieu_luc", "cach_nop",
                    "can_cu")


def _procedure_form_values(entry: Mapping[str, Any]) -> dict[str, str]:
    amount = entry.get("le_phi_vnd")
    return {"giay_to": "\n".join(map(str, entry.get("giay_to") or [])), "so_bo": _e_raw(entry.get("so_bo")),
            "le_phi": _e_raw(entry.get("le_phi")), "le_phi_vnd": "" if amount is None else content.dong(int(amount)),
            "thoi_han": _e_raw(entry.get("thoi_han")), "thoi_han_ngay": _e_raw(entry.get("thoi_han_ngay")),
            "hieu_luc": _e_raw(entry.get("hieu_luc")), "cach_nop": _e_raw(entry.get("cach_nop")),
            "can_cu": _e_raw(entry.get("can_cu"))}


def _e_raw(value: object) -> str:
    return "" if value is None else str(value)


def _find(entries: Any, entry_id: str) -> CommentedMap | None:
    return next((e for e in entries if isinstance(e, Mapping) and str(e.get("id")) == entry_id), None) \
        if isinstance(entries, list) else None


def _merged(entry: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**content.plain(entry)}
    for key, value in fields.items():
        if value is None or value == "" or value == []:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def procedure_preview(procedure: Procedure) -> str:
    """What the bot answers about a procedure (content.replies, as the actions send it): the general
    guidance and the answer to each aspect a citizen asks."""
    shown = [("Hướng dẫn chung", replies.procedure_summary), ("Hỏi lệ phí", replies.procedure_fee),
             ("Hỏi thời hạn", replies.procedure_time), ("Hỏi giấy tờ", replies.procedure_documents),
             ("Hỏi nơi nộp", replies.procedure_submission)]
    return _preview(*((label, reply(procedure), reply(procedure)) for label, reply in shown))


@requires(Role.EDITOR)
async def procedures_page(request: web.Request) -> web.Response:
    snapshot = await asyncio.to_thread(content.read, _files(request).catalog)
    query = nfc(request.query.get("q", "")).strip()
    wanted = content.search_key(query)
    rows = []
    for entry in snapshot.data:
        text = content.search_key(str(entry.get("id")), str(entry.get("ten", "")), " ".join(entry.get("tu_khoa", [])))
        if wanted and wanted not in text:
            continue
        other = ' <span class="muted">(cơ quan khác)</span>' if "tham_quyen" in entry else ""
        rows.append(f'<tr><td><a href="/staff/content/procedures/{quote(str(entry["id"]))}">{_e(entry.get("ten"))}'
                    f'</a>{other}</td><td>{_e(entry.get("le_phi", ""))}</td>'
                    f'<td class="num">{_e(entry.get("thoi_han_ngay", ""))}</td></tr>')
    table = ("<table><tr><th>Thủ tục</th><th>Lệ phí</th><th>Ngày làm việc</th></tr>" + "".join(rows) + "</table>"
             if rows else "<p>Không có thủ tục nào khớp.</p>")
    body = ('<div class="card"><h1>Danh mục thủ tục</h1><form method="get" class="filters">'
            f'<input name="q" value="{_e(query)}" maxlength="200"'
            f' placeholder="tìm theo tên, có dấu hoặc không" aria-label="Tìm">'
            f' <button>Tìm</button></form>{table}</div>')
    return page("Danh mục thủ tục", body, session_of(request))


async def _procedure_page(request: web.Request, form: Mapping[str, Any] | None = None,
                          problems: list[str] | None = None, preview: dict[str, Any] | None = None,
                          stale: bool = False) -> web.Response:
    files = _files(request)
    procedure_id = request.match_info["procedure_id"]
    snapshot: Snapshot = await asyncio.to_thread(content.read, files.catalog)
    entry = _find(snapshot.data, procedure_id)
    if entry is None:
        raise web.HTTPNotFound(text=NOT_FOUND)
    history = await asyncio.to_thread(files.audit.recent, 10, files.name(files.catalog), procedure_id)
    shown = procedure_of(preview if preview is not None else content.plain(entry))
    session = session_of(request)
    title = str(entry.get("ten", procedure_id))
    head = f'<div class="card"><h1>{_e(title)}</h1><p class="muted"><code>{_e(procedure_id)}</code> · ' \
           f'{_e(entry.get("linh_vuc", ""))} · <a href="/staff/content/procedures">Danh mục</a></p>'
    if "tham_quyen" in entry:
        body = f"{head}<p>{_e(OTHER_BODY)}</p></div>"
        return page(title, body + procedure_preview(shown), session)
    current = _procedure_form_values(entry)
    values = {**current, **{k: _e_raw(form.get(k)) for k in PROCEDURE_FIELDS if form}}
    version = str(form.get("version", "")) if form and not stale else snapshot.version

    def now(name: str) -> str | None:
        return current[name] if stale else None

    action = f"/staff/api/content/procedures/{quote(procedure_id)}"
    body = (_notice(problems or [], request.query.get("saved") == "1" and form is None) + head
            + _form_head(request, action, version)
            + _field("Thành phần hồ sơ", "giay_to", values["giay_to"], "textarea", "mỗi giấy tờ một dòng",
                     now=now("giay_to"))
            + _field("Số bộ hồ sơ", "so_bo", values["so_bo"], now=now("so_bo"))
            + _field("Lệ phí (như công bố)", "le_phi", values["le_phi"], hint="câu người dân đọc",
                     now=now("le_phi"))
            + _field("Số tiền lệ phí (đồng)", "le_phi_vnd", values["le_phi_vnd"],
                     hint="ví dụ 2.200.000; 0 nếu không thu; để trống nếu chưa xác định", now=now("le_phi_vnd"))
            + _field("Thời hạn giải quyết (như công bố)", "thoi_han", values["thoi_han"], now=now("thoi_han"))
            + _field("Thời hạn (số ngày làm việc)", "thoi_han_ngay", values["thoi_han_ngay"],
                     now=now("thoi_han_ngay"))
            + _field("Thời hạn hiệu lực của giấy tờ được cấp", "hieu_luc", values["hieu_luc"],
                     hint="ví dụ: 05 năm kể từ ngày cấp; để trống nếu chưa xác định", now=now("hieu_luc"))
            + _field("Nơi và cách nộp", "cach_nop", values["cach_nop"], "textarea", now=now("cach_nop"))
            + _field("Căn cứ pháp lý", "can_cu", values["can_cu"], "textarea", now=now("can_cu"))
            + _buttons() + "</form></div>")
    return page(title, body + procedure_preview(shown) + _history(history), session)


procedure_page = requires(Role.EDITOR)(_procedure_page)


def _check_catalog(text: str) -> None:
    try:
        parse_catalog(text)
    except ValueError as exc:
        raise ContentError(NOT_LOADED.format(detail=exc)) from exc


@requires(Role.EDITOR)
async def save_procedure(request: web.Request) -> web.Response:
    form = await form_or_json(request)
    files, procedure_id = _files(request), request.match_info["procedure_id"]
    snapshot = await asyncio.to_thread(content.read, files.catalog)
    entry = _find(snapshot.data, procedure_id)
    if entry is None:
        raise web.HTTPNotFound(text=NOT_FOUND)
    if "tham_quyen" in entry:
        return await _refuse(request, [OTHER_BODY], 400, _procedure_page, form)
    try:
        fields = content.procedure_fields(form)
        if form.get("action") == "preview":
            return await _procedure_page(request, form=form, preview=_merged(entry, fields))

        def change(data: Any) -> tuple[Any, Any]:
            current = _find(data, procedure_id)
            if current is None:
                raise StaleEdit()
            before = content.plain(current)
            content.set_fields(current, fields)
            return before, content.plain(current)

        saved = await asyncio.to_thread(content.edit, files.catalog, str(form.get("version", "")), change,
                                        _check_catalog)
    except StaleEdit as exc:
        return await _refuse(request, exc.problems, 409, _procedure_page, form)
    except ContentError as exc:
        return await _refuse(request, exc.problems, 400, _procedure_page, form)
    await _record(request, files.catalog, procedure_id, saved)
    return _saved(request, f"/staff/content/procedures/{quote(procedure_id)}?saved=1", saved)


# -- Policy Q&A ----------------------------------------------------------------------------------------------

QA_FIELDS = ("question", "alternatives", "answer", "legal_basis", "reviewed", "review_needed", "procedures")


def _qa_snapshots(directory: Path) -> list[tuple[Path, Snapshot]]:
    return [(path, content.read(path)) for path in data_files(directory)]


def _qa_locate(directory: Path, entry_id: str) -> tuple[Path, Snapshot, CommentedMap] | None:
    for path, snapshot in _qa_snapshots(directory):
        entry = _find(snapshot.data.get("entries") if isinstance(snapshot.data, Mapping) else None, entry_id)
        if entry is not None:
            return path, snapshot, entry
    return None


def _catalog_ids(path: Path) -> set[str]:
    return {p.id for p in parse_catalog(path.read_text(encoding="utf-8"))}


def _qa_form_values(entry: Mapping[str, Any]) -> dict[str, str]:
    reviewed = entry.get("reviewed")
    return {"question": _e_raw(entry.get("question")), "alternatives": "\n".join(map(str, entry.get("alternatives")
                                                                                     or [])),
            "answer": _e_raw(entry.get("answer")), "legal_basis": _e_raw(entry.get("legal_basis")),
            "reviewed": reviewed.strftime("%d/%m/%Y") if isinstance(reviewed, dt.date) else _e_raw(reviewed),
            "review_needed": "1" if entry.get("review_needed") else "",
            "procedures": " ".join(map(str, entry.get("procedures") or []))}


def _qa_entry(fields: Mapping[str, Any], entry_id: str, topic: str, where: str) -> Entry:
    """The entry as the bot will load it (the loader's own check)."""
    item = {"id": entry_id, **{k: v for k, v in fields.items() if v is not None}}
    try:
        return check_entry(item, topic, where)
    except KnowledgeError as exc:
        raise ContentError(NOT_LOADED.format(detail=exc)) from exc


def _qa_preview(entry: Entry, hotline: str) -> str:
    return _preview(("", answer.chat_reply(entry, hotline), answer.sms_reply(entry, hotline)))


def _qa_fields_html(values: Mapping[str, str], current: Mapping[str, str] | None = None) -> str:
    """The Q&A form's fields (``current``: the file's values, shown where they differ: a stale edit)."""
    checked = " checked" if values.get("review_needed") else ""
    now = current or {}
    return (_field("Câu hỏi", "question", values.get("question", ""), now=now.get("question"))
            + _field("Cách hỏi khác", "alternatives", values.get("alternatives", ""), "textarea",
                     "mỗi cách một dòng, như người dân gõ", now=now.get("alternatives"))
            + _field("Câu trả lời", "answer", values.get("answer", ""), "textarea",
                     "xưng hô anh/chị; {hotline} là số đường dây nóng", now=now.get("answer"))
            + _field("Căn cứ pháp lý", "legal_basis", values.get("legal_basis", ""), hint="số hiệu văn bản, điều",
                     now=now.get("legal_basis"))
            + _field("Ngày rà soát", "reviewed", values.get("reviewed", ""), hint="ngày/tháng/năm",
                     now=now.get("reviewed"))
            + f'<p><label><input type="checkbox" name="review_needed" value="1"{checked}> '
              "Cần cán bộ rà soát lại (câu trả lời kèm lưu ý)</label></p>"
            + _field("Thủ tục liên quan", "procedures", values.get("procedures", ""),
                     hint="mã thủ tục trong danh mục, cách nhau bởi dấu cách", now=now.get("procedures")))


@requires(Role.EDITOR)
async def qa_list(request: web.Request) -> web.Response:
    files = _files(request)
    kb = await asyncio.to_thread(load, files.knowledge)
    query = nfc(request.query.get("q", "")).strip()
    wanted = content.search_key(query)
    rows = []
    for entry in kb.entries:
        if wanted and wanted not in content.search_key(entry.id, entry.question, *entry.alternatives, entry.answer):
            continue
        flag = ' <span class="error">(cần rà soát)</span>' if entry.review_needed else ""
        rows.append(f'<tr><td><a href="/staff/content/qa/{quote(entry.id)}">{_e(entry.question)}</a>{flag}</td>'
                    f"<td>{_e(kb.topics.get(entry.topic, entry.topic))}</td>"
                    f'<td class="num">{entry.reviewed.strftime("%d/%m/%Y")}</td></tr>')
    table = ("<table><tr><th>Câu hỏi</th><th>Chủ đề</th><th>Rà soát</th></tr>" + "".join(rows) + "</table>"
             if rows else "<p>Không có câu hỏi nào khớp.</p>")
    body = ('<div class="card"><h1>Hỏi đáp chính sách</h1><p><a href="/staff/content/qa/new">Thêm câu hỏi</a> · '
            f'{len(kb.entries)} câu hỏi</p><form method="get" class="filters">'
            f'<input name="q" value="{_e(query)}" maxlength="200"'
            f' placeholder="tìm trong câu hỏi và câu trả lời" aria-label="Tìm">'
            f" <button>Tìm</button></form>{table}</div>")
    return page("Hỏi đáp chính sách", body, session_of(request))


async def _qa_page(request: web.Request, form: Mapping[str, Any] | None = None, problems: list[str] | None = None,
                   preview: Entry | None = None, stale: bool = False) -> web.Response:
    files, entry_id = _files(request), request.match_info["entry_id"]
    found = await asyncio.to_thread(_qa_locate, files.knowledge, entry_id)
    if found is None:
        raise web.HTTPNotFound(text=NOT_FOUND)
    path, snapshot, entry = found
    history = await asyncio.to_thread(files.audit.recent, 10, files.name(path), entry_id)
    shown = preview or check_entry(entry, str(snapshot.data["topic"]), path.name)
    current = _qa_form_values(entry)
    values = {**current, **({k: _e_raw(form.get(k)) for k in QA_FIELDS} if form else {})}
    version = str(form.get("version", "")) if form and not stale else snapshot.version
    title = str(entry.get("question", entry_id))
    body = (_notice(problems or [], request.query.get("saved") == "1" and form is None)
            + f'<div class="card"><h1>{_e(title)}</h1><p class="muted"><code>{_e(entry_id)}</code> · '
            f'{_e(snapshot.data.get("title", ""))} · <a href="/staff/content/qa">Hỏi đáp</a></p>'
            + _form_head(request, f"/staff/api/content/qa/{quote(entry_id)}", version)
            + _qa_fields_html(values, current if stale else None)
            + _buttons() + "</form></div>")
    return page(title, body + _qa_preview(shown, files.hotline) + _history(history), session_of(request))


qa_page = requires(Role.EDITOR)(_qa_page)


def _check_knowledge(directory: Path, path: Path) -> Any:
    def check(text: str) -> None:
        try:
            load(directory, {path.name: text})
        except (KnowledgeError, ValueError) as exc:
            raise ContentError(NOT_LOADED.format(detail=exc)) from exc
    return check


@requires(Role.EDITOR)
async def save_qa(request: web.Request) -> web.Response:
    form = await form_or_json(request)
    files, entry_id = _files(request), request.match_info["entry_id"]
    found = await asyncio.to_thread(_qa_locate, files.knowledge, entry_id)
    if found is None:
        raise web.HTTPNotFound(text=NOT_FOUND)
    path, snapshot, _ = found
    try:
        known = await asyncio.to_thread(_catalog_ids, files.catalog)
        fields = content.qa_fields(form, known, local_now().date())
        checked = _qa_entry(fields, entry_id, str(snapshot.data["topic"]), path.name)
        if form.get("action") == "preview":
            return await _qa_page(request, form=form, preview=checked)

        def change(data: Any) -> tuple[Any, Any]:
            current = _find(data.get("entries"), entry_id)
            if current is None:
                raise StaleEdit()
            before = content.plain(current)
            content.set_fields(current, fields)
            return before, content.plain(current)

        saved = await asyncio.to_thread(content.edit, path, str(form.get("version", "")), change,
                                        _check_knowledge(files.knowledge, path), files.knowledge)
    except StaleEdit as exc:
        return await _refuse(request, exc.problems, 409, _qa_page, form)
    except ContentError as exc:
        return await _refuse(request, exc.problems, 400, _qa_page, form)
    await _record(request, path, entry_id, saved)
    return _saved(request, f"/staff/content/qa/{quote(entry_id)}?saved=1", saved)


async def _new_qa_page(request: web.Request, form: Mapping[str, Any] | None = None,
                       problems: list[str] | None = None, preview: Entry | None = None) -> web.Response:
    files = _files(request)
    snapshots = await asyncio.to_thread(_qa_snapshots, files.knowledge)
    chosen = str(form.get("topic_file", "")) if form else ""
    options = "".join(f'<option value="{_e(p.name)}"{" selected" if p.name == chosen else ""}>'
                      f'{_e(s.data.get("title", p.stem))}</option>' for p, s in snapshots)
    values = ({k: _e_raw(form.get(k)) for k in QA_FIELDS} if form
              else {"reviewed": local_now().date().strftime("%d/%m/%Y"), "review_needed": "1"})
    entry_id = _e_raw(form.get("id")) if form else ""
    body = (_notice(problems or [], False) + '<div class="card"><h1>Thêm câu hỏi</h1>'
            + '<form method="post" action="/staff/api/content/qa" class="content">'
            + csrf_field(session_of(request).csrf)
            + f'<p><label>Chủ đề<br><select name="topic_file">{options}</select></label></p>'
            + _field("Mã câu hỏi", "id", entry_id, hint="chữ thường không dấu, gạch dưới, ví dụ km_giam_gia_toi_da")
            + _qa_fields_html(values) + _buttons() + "</form></div>")
    if preview is not None:
        body += _qa_preview(preview, files.hotline)
    return page("Thêm câu hỏi", body, session_of(request))


new_qa_page = requires(Role.EDITOR)(_new_qa_page)


@requires(Role.EDITOR)
async def add_qa(request: web.Request) -> web.Response:
    form = await form_or_json(request)
    files = _files(request)
    paths = {p.name: p for p in await asyncio.to_thread(data_files, files.knowledge)}
    path = paths.get(str(form.get("topic_file", "")))
    try:
        if path is None:
            raise ContentError("Anh/chị chọn một chủ đề có sẵn.")
        kb = await asyncio.to_thread(load, files.knowledge)
        problems: list[str] = []
        try:
            entry_id = content.new_entry_id(form, {e.id for e in kb.entries})
        except ContentError as exc:
            problems, entry_id = exc.problems, "moi"
        try:
            fields = content.qa_fields(form, await asyncio.to_thread(_catalog_ids, files.catalog), local_now().date())
        except ContentError as exc:
            raise ContentError(*problems, *exc.problems) from exc
        if problems:
            raise ContentError(*problems)
        topic = await asyncio.to_thread(_topic_of, path)
        checked = _qa_entry(fields, entry_id, topic, path.name)
        if form.get("action") == "preview":
            return await _new_qa_page(request, form=form, preview=checked)

        def change(data: Any) -> tuple[Any, Any]:
            new = CommentedMap([("id", entry_id)])
            for key in QA_FIELDS:
                if fields.get(key) is not None:
                    new[key] = fields[key]
            if isinstance(fields.get("answer"), str):
                new["answer"] = content.folded(fields["answer"])
            if fields.get("procedures"):
                new["procedures"] = CommentedSeq(fields["procedures"])
                new["procedures"].fa.set_flow_style()
            data["entries"].append(new)
            return None, content.plain(new)

        saved = await asyncio.to_thread(content.edit, path, None, change, _check_knowledge(files.knowledge, path),
                                        files.knowledge)
    except ContentError as exc:
        return await _refuse(request, exc.problems, 400, _new_qa_page, form)
    await _record(request, path, entry_id, saved)
    return _saved(request, f"/staff/content/qa/{quote(entry_id)}?saved=1", saved)


def _topic_of(path: Path) -> str:
    return str(content.read(path).data["topic"])


# -- Reply texts (any YAML mapping of texts) ------------------------------------------------------------------

def _texts(path: Path) -> tuple[Snapshot, dict[str, str]] | None:
    if not path.exists():
        return None
    snapshot = content.read(path)
    return snapshot, content.flatten(snapshot.data)


NO_TEXTS = "Chưa có tệp câu trả lời mẫu ({name}) trong bản cài đặt này."


@requires(Role.EDITOR)
async def texts_list(request: web.Request) -> web.Response:
    path = _files(request).texts
    found = await asyncio.to_thread(_texts, path)
    if found is None:
        body = f'<div class="card"><h1>Câu trả lời mẫu</h1><p>{_e(NO_TEXTS.format(name=path.name))}</p></div>'
        return page("Câu trả lời mẫu", body, session_of(request))
    _, texts = found
    query = nfc(request.query.get("q", "")).strip()
    wanted = content.search_key(query)
    rows = "".join(f'<tr><td><a href="/staff/content/texts/{quote(key)}"><code>{_e(key)}</code></a></td>'
                   f"<td>{_e(_short(value, 160))}</td></tr>"
                   for key, value in texts.items() if not wanted or wanted in content.search_key(key, value))
    table = (f"<table><tr><th>Mã</th><th>Nội dung</th></tr>{rows}</table>" if rows
             else "<p>Không có câu nào khớp.</p>")
    body = ('<div class="card"><h1>Câu trả lời mẫu</h1><form method="get" class="filters">'
            f'<input name="q" value="{_e(query)}" maxlength="200"'
            f' placeholder="tìm theo mã hoặc nội dung" aria-label="Tìm">'
            f" <button>Tìm</button></form>{table}</div>")
    return page("Câu trả lời mẫu", body, session_of(request))


async def _text_page(request: web.Request, form: Mapping[str, Any] | None = None, problems: list[str] | None = None,
                     preview: str | None = None, stale: bool = False) -> web.Response:
    files, key = _files(request), request.match_info["key"]
    found = await asyncio.to_thread(_texts, files.texts)
    if found is None or key not in found[1]:
        raise web.HTTPNotFound(text=NOT_FOUND)
    snapshot, texts = found
    history = await asyncio.to_thread(files.audit.recent, 10, files.name(files.texts), key)
    value = _e_raw(form.get("value")) if form else texts[key]
    version = str(form.get("version", "")) if form and not stale else snapshot.version
    names = sorted(content.placeholders(texts[key]) or set())
    hint = ("giữ nguyên các chỗ điền dữ liệu: " + ", ".join(f"{{{n}}}" for n in names)) if names else ""
    body = (_notice(problems or [], request.query.get("saved") == "1" and form is None)
            + f'<div class="card"><h1><code>{_e(key)}</code></h1><p class="muted">{_e(files.name(files.texts))} · '
            '<a href="/staff/content/texts">Câu trả lời mẫu</a></p>'
            + _form_head(request, f"/staff/api/content/texts/{quote(key)}", version)
            + _field("Nội dung", "value", value, "textarea", hint, now=texts[key] if stale else None)
            + _buttons() + "</form></div>")
    shown = preview if preview is not None else texts[key]
    return page(key, body + _preview(("", shown, shown)) + _history(history), session_of(request))


text_page = requires(Role.EDITOR)(_text_page)


@requires(Role.EDITOR)
async def save_text(request: web.Request) -> web.Response:
    form = await form_or_json(request)
    files, key = _files(request), request.match_info["key"]
    found = await asyncio.to_thread(_texts, files.texts)
    if found is None or key not in found[1]:
        raise web.HTTPNotFound(text=NOT_FOUND)
    try:
        value = content.text_value(form, found[1][key])
        if form.get("action") == "preview":
            return await _text_page(request, form=form, preview=value)

        def change(data: Any) -> tuple[Any, Any]:
            try:
                return content.set_dotted(data, key, value), value
            except KeyError as exc:
                raise StaleEdit() from exc

        def check(text: str) -> None:
            if content.flatten(content.load_text(text)).get(key) != value:
                raise ContentError(NOT_LOADED.format(detail=key))

        saved = await asyncio.to_thread(content.edit, files.texts, str(form.get("version", "")), change, check)
    except StaleEdit as exc:
        return await _refuse(request, exc.problems, 409, _text_page, form)
    except ContentError as exc:
        return await _refuse(request, exc.problems, 400, _text_page, form)
    await _record(request, files.texts, key, saved)
    return _saved(request, f"/staff/content/texts/{quote(key)}?saved=1", saved)


def add_routes(app: web.Application) -> None:
    """The content pages (the console's settings are already on ``app``)."""
    app[CONTENT_KEY] = ContentFiles.from_settings(app[SETTINGS_KEY])
    app.router.add_get("/staff/content", overview)
    app.router.add_get("/staff/content/audit", audit_page)
    app.router.add_get("/staff/content/procedures", procedures_page)
    app.router.add_get("/staff/content/procedures/{procedure_id}", procedure_page)
    app.router.add_post("/staff/api/content/procedures/{procedure_id}", save_procedure)
    app.router.add_get("/staff/content/qa", qa_list)
    app.router.add_get("/staff/content/qa/new", new_qa_page)
    app.router.add_post("/staff/api/content/qa", add_qa)
    app.router.add_get("/staff/content/qa/{entry_id}", qa_page)
    app.router.add_post("/staff/api/content/qa/{entry_id}", save_qa)
    app.router.add_get("/staff/content/texts", texts_list)
    app.router.add_get("/staff/content/texts/{key}", text_page)
    app.router.add_post("/staff/api/content/texts/{key}", save_text)
