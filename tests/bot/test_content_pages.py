"""Content editing in the console (in-process gateway, a real Redis, a copy of the data files):
who may edit, the catalog, the policy Q&A and the reply texts edited with validation and a
preview, a stale page refused, every save in the audit trail, the files still loadable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.staff.accounts import Role
from bot.staff.content_pages import STALE_KEPT
from dossier_api.catalog import load_catalog
from knowledge.loader import load
from scripts.localstack import copy_content
from tests.bot.conftest import ANNOTATOR_PASSWORD, NOW, csrf, sign_in

EDITOR_PASSWORD = "Bien-tap-2026"
TEXTS = """# Reply texts (test copy)
greeting:
  web: "Xin chào anh/chị, tôi là trợ lý ảo của {department}."
  sms: Soạn HD gửi 8283 để xem hướng dẫn.
hotline_note: "Đường dây nóng: {hotline}"
"""


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    directory = copy_content(tmp_path / "content")
    (directory / "texts.yml").write_text(TEXTS, encoding="utf-8")
    return directory


@pytest.fixture
async def editor_console(accounts, redis_url, gateway, content_dir):
    accounts.create("mai.tran", EDITOR_PASSWORD, Role.EDITOR, NOW)
    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url="http://127.0.0.1:9",
                           staff_db_path=accounts.path, content_dir=str(content_dir))
    await sign_in(client, "mai.tran", EDITOR_PASSWORD)
    return client


def _form_of(page: str) -> dict[str, str]:
    """The edit form's fields as the page shows them (inputs and textareas, unescaped)."""
    import html

    fields = {m[1]: html.unescape(m[2]) for m in re.finditer(r'<input name="([^"]+)" value="([^"]*)"', page)}
    fields.update({m[1]: html.unescape(m[2]) for m in re.finditer(
        r'<textarea name="([^"]+)" rows="\d+">(.*?)</textarea>', page, re.S)})
    fields["version"] = re.search(r'name="version" value="([^"]+)"', page)[1]
    fields["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    return fields


async def test_an_annotator_neither_sees_nor_opens_the_content_pages(console) -> None:
    await sign_in(console, "lan.nguyen", ANNOTATOR_PASSWORD)
    assert "/staff/content" not in await (await console.get("/staff/")).text()
    for path in ("/staff/content", "/staff/content/procedures/ban_le_xang_dau", "/staff/content/audit"):
        assert (await console.get(path)).status == 403
    token = await csrf(console)
    response = await console.post("/staff/api/content/procedures/ban_le_xang_dau",
                                  data={"csrf_token": token, "le_phi": "x"})
    assert response.status == 403


async def test_an_editor_changes_a_fee_the_file_reloads_and_the_audit_says_who(editor_console, content_dir) -> None:
    page = await (await editor_console.get("/staff/content/procedures/ban_le_xang_dau")).text()
    assert 'data-channel="chat"' in page and "1.200.000 đồng" in page
    form = _form_of(page)
    form.update(le_phi="Phí thẩm định 1.350.000 đồng/điểm kinh doanh/lần thẩm định", le_phi_vnd="1.350.000",
                action="save")
    response = await editor_console.post("/staff/api/content/procedures/ban_le_xang_dau", data=form,
                                         allow_redirects=False)
    assert response.status == 302 and response.headers["Location"].endswith("?saved=1")

    procedure = {p.id: p for p in load_catalog(content_dir / "procedures.yml")}["ban_le_xang_dau"]
    assert procedure.fee_vnd == 1350000 and "1.350.000" in procedure.fee
    text = (content_dir / "procedures.yml").read_text(encoding="utf-8")
    assert text.startswith("# Procedure catalog") and "  hoat_dong: [ban_le]" in text  # comments, flow lists kept

    saved = await (await editor_console.get("/staff/content/procedures/ban_le_xang_dau?saved=1")).text()
    assert "Đã lưu" in saved and "1.350.000 đồng" in saved
    audit = await (await editor_console.get("/staff/content/audit")).text()
    assert "mai.tran" in audit and "ban_le_xang_dau" in audit
    assert "<del>1200000</del>" in audit and "<ins>1350000</ins>" in audit


async def test_a_bad_fee_is_refused_with_the_reasons_and_nothing_is_written(editor_console, content_dir) -> None:
    before = (content_dir / "procedures.yml").read_bytes()
    form = _form_of(await (await editor_console.get("/staff/content/procedures/ban_buon_ruou")).text())
    form.update(le_phi_vnd="hai triệu", thoi_han_ngay="mười", cach_nop="", action="save")
    response = await editor_console.post("/staff/api/content/procedures/ban_buon_ruou", data=form)
    page = await response.text()
    assert response.status == 400
    assert "số tiền bằng đồng" in page and "số ngày làm việc" in page and "nơi và cách nộp" in page
    assert 'value="hai triệu"' in page  # the form comes back as typed
    assert (content_dir / "procedures.yml").read_bytes() == before


async def test_a_stale_page_is_refused_and_the_other_edit_survives(editor_console, content_dir) -> None:
    first = _form_of(await (await editor_console.get("/staff/content/procedures/ban_buon_thuoc_la")).text())
    second = dict(first)
    first.update(thoi_han="12 ngày làm việc kể từ ngày nhận đủ hồ sơ hợp lệ", thoi_han_ngay="12", action="save")
    assert (await editor_console.post("/staff/api/content/procedures/ban_buon_thuoc_la", data=first,
                                      allow_redirects=False)).status == 302
    second.update(thoi_han="20 ngày làm việc", thoi_han_ngay="20", action="save")
    response = await editor_console.post("/staff/api/content/procedures/ban_buon_thuoc_la", data=second)
    page = await response.text()
    assert response.status == 409 and STALE_KEPT in page
    procedure = {p.id: p for p in load_catalog(content_dir / "procedures.yml")}["ban_buon_thuoc_la"]
    assert procedure.processing_days == 12

    # The page keeps what this editor typed, says what the file holds now where it differs, and is on
    # the file's current version: a deliberate second save goes through (the audit shows 12 → 20).
    again = _form_of(page)
    assert again["thoi_han_ngay"] == "20" and again["version"] != second["version"]
    assert "Bản hiện tại: 12</span>" in page and "Bản hiện tại: 12 ngày làm việc kể từ" in page
    assert page.count("Bản hiện tại:") == 2  # only the fields that differ
    saved = await editor_console.post("/staff/api/content/procedures/ban_buon_thuoc_la", allow_redirects=False,
                                      data={**again, "action": "save"})
    assert saved.status == 302
    assert {p.id: p for p in load_catalog(content_dir / "procedures.yml")}["ban_buon_thuoc_la"].processing_days == 20


async def test_a_stale_reply_text_keeps_the_typed_text_and_shows_the_current_one(editor_console, content_dir) -> None:
    url = "/staff/api/content/texts/greeting.web"
    first = _form_of(await (await editor_console.get("/staff/content/texts/greeting.web")).text())
    second = dict(first)
    assert (await editor_console.post(url, allow_redirects=False, data={
        **first, "value": "Xin chào anh/chị! Tôi là trợ lý ảo của {department}.", "action": "save"})).status == 302
    stale = await editor_console.post(url, data={**second, "value": "Chào anh/chị, em là trợ lý ảo của {department}.",
                                                 "action": "save"})
    page = await stale.text()
    assert stale.status == 409 and STALE_KEPT in page
    assert _form_of(page)["value"] == "Chào anh/chị, em là trợ lý ảo của {department}."
    assert "Bản hiện tại: Xin chào anh/chị! Tôi là trợ lý ảo của {department}.</span>" in page


async def test_a_preview_shows_chat_and_sms_and_writes_nothing(editor_console, content_dir) -> None:
    before = (content_dir / "procedures.yml").read_bytes()
    form = _form_of(await (await editor_console.get("/staff/content/procedures/dang_ky_khuyen_mai")).text())
    form.update(cach_nop="Nộp trực tuyến trên Cổng Dịch vụ công quốc gia", action="preview")
    page = await (await editor_console.post("/staff/api/content/procedures/dang_ky_khuyen_mai", data=form)).text()
    chat = re.search(r'data-channel="chat">(.*?)</pre>', page, re.S)[1]
    sms = re.search(r'data-channel="sms">(.*?)</pre>', page, re.S)[1]
    assert "Cách nộp: Nộp trực tuyến trên Cổng Dịch vụ công quốc gia" in chat
    # The SMS preview is what a handset gets: folded, and this long guidance cut at the gateway's three parts.
    assert sms.startswith("Thu tuc &quot;Dang ky thuc hien khuyen mai") and sms.endswith("...")
    assert "3 tin: dài quá 3 tin, phần cuối bị cắt như trên" in page
    assert (content_dir / "procedures.yml").read_bytes() == before


async def test_an_editor_edits_and_adds_policy_answers(editor_console, content_dir) -> None:
    form = _form_of(await (await editor_console.get("/staff/content/qa/dien_mat_troi_giay_phep")).text())
    form.update(answer=form["answer"] + " Gọi {hotline} để được hướng dẫn thêm.", reviewed="30/11/2026",
                action="save")  # the review flag box left unticked
    response = await editor_console.post("/staff/api/content/qa/dien_mat_troi_giay_phep", data=form,
                                         allow_redirects=False)
    assert response.status == 302
    entry = load(content_dir / "knowledge").get("dien_mat_troi_giay_phep")
    assert entry.answer.endswith("Gọi {hotline} để được hướng dẫn thêm.") and not entry.review_needed
    assert str(entry.reviewed) == "2026-11-30"
    raw = yaml.safe_load((content_dir / "knowledge" / "dien.yml").read_text(encoding="utf-8"))
    assert raw["topic"] == "dien" and "answer: >-" in (content_dir / "knowledge" / "dien.yml").read_text()

    token = await csrf(editor_console)
    new = {"csrf_token": token, "topic_file": "khuyen_mai.yml", "id": "km_thu_nghiem_moi",
           "question": "Khuyến mại tặng voucher có phải thông báo không?",
           "alternatives": "tặng phiếu mua hàng có cần báo sở không\nvoucher khuyến mại thông báo ở đâu",
           "answer": "Tặng phiếu mua hàng là một hình thức khuyến mại; thương nhân thông báo trước cho Sở Công "
                     "Thương theo quy định, trừ trường hợp được miễn.",
           "legal_basis": "Nghị định 81/2018/NĐ-CP, Điều 17", "reviewed": "01/12/2026", "review_needed": "1",
           "procedures": "thong_bao_khuyen_mai", "action": "save"}
    response = await editor_console.post("/staff/api/content/qa", data=new, allow_redirects=False)
    assert response.status == 302, await response.text()
    added = load(content_dir / "knowledge").get("km_thu_nghiem_moi")
    assert added.procedures == ("thong_bao_khuyen_mai",) and added.review_needed

    again = await editor_console.post("/staff/api/content/qa", data={**new, "procedures": "khong_co_thu_tuc"})
    text = await again.text()
    assert again.status == 400 and "đã có" in text and "khong_co_thu_tuc" in text


async def test_a_reply_text_keeps_its_placeholders(editor_console, content_dir) -> None:
    listing = await (await editor_console.get("/staff/content/texts?q=xin chao")).text()
    assert "greeting.web" in listing and "greeting.sms" not in listing
    form = _form_of(await (await editor_console.get("/staff/content/texts/greeting.web")).text())
    form.update(value="Chào anh/chị, đây là trợ lý ảo.", action="save")
    response = await editor_console.post("/staff/api/content/texts/greeting.web", data=form)
    assert response.status == 400 and "{department}" in await response.text()
    form.update(value="Chào anh/chị! Trợ lý ảo của {department} xin được hỗ trợ.")
    response = await editor_console.post("/staff/api/content/texts/greeting.web", data=form, allow_redirects=False)
    assert response.status == 302
    text = (content_dir / "texts.yml").read_text(encoding="utf-8")
    assert text.startswith("# Reply texts") and yaml.safe_load(text)["greeting"]["web"].startswith("Chào anh/chị!")
    assert "hotline_note" in text


async def test_json_callers_get_json(editor_console, content_dir) -> None:
    page = await (await editor_console.get("/staff/content/procedures/hoi_cho_trien_lam")).text()
    form = _form_of(page)
    token = form.pop("csrf_token")
    form.update(so_bo="0")
    response = await editor_console.post("/staff/api/content/procedures/hoi_cho_trien_lam", json=form,
                                         headers={"X-CSRF-Token": token})
    assert response.status == 400 and "Số bộ hồ sơ" in (await response.json())["error"]
    form.update(so_bo="2", action="save")
    response = await editor_console.post("/staff/api/content/procedures/hoi_cho_trien_lam", json=form,
                                         headers={"X-CSRF-Token": token})
    body = await response.json()
    assert response.status == 200 and body["after"]["so_bo"] == 2


def test_roles_are_ordered_and_the_cli_creates_an_editor(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from bot.staff.accounts import Accounts

    assert Role.EDITOR.may(Role.ANNOTATOR) and Role.ADMIN.may(Role.EDITOR) and not Role.ANNOTATOR.may(Role.EDITOR)
    assert not Role.EDITOR.may(Role.ADMIN)
    db = tmp_path / "staff.sqlite3"
    done = subprocess.run([sys.executable, "-m", "bot.staff", "create-user", "mai.tran", "--role", "editor",
                           "--password-stdin"], input=EDITOR_PASSWORD + "\n", capture_output=True, text=True,
                          env={**os.environ, "STAFF_DB_PATH": str(db)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [(s.username, s.role) for s in Accounts(db).list()] == [("mai.tran", Role.EDITOR)]


async def test_an_admin_edits_content_too(accounts, redis_url, gateway, content_dir) -> None:
    from tests.bot.conftest import ADMIN_PASSWORD

    client = await gateway(rasa_url="http://127.0.0.1:9", redis_url=redis_url, dossier_api_url="http://127.0.0.1:9",
                           staff_db_path=accounts.path, content_dir=str(content_dir))
    await sign_in(client, "admin.so", ADMIN_PASSWORD)
    assert '<a href="/staff/content">Nội dung</a>' in await (await client.get("/staff/")).text()
    assert (await client.get("/staff/content/qa?q=dien mat troi")).status == 200
