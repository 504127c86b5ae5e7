import datetime as dt

from content import replies
from dossier_api.models import ChangeEvent


def test_not_found_tells_apart_a_code_of_another_agency() -> None:
    assert replies.dossier_not_found("000.00.12.H17-200115-0999").startswith("Không tìm thấy hồ sơ")
    other = replies.dossier_not_found("000.00.31.H56-200115-0001")
    assert "do cơ quan khác cấp (mã cơ quan 000.00.31.H56)" in other


def test_status_change_says_how_to_stop_on_each_channel() -> None:
    event = ChangeEvent(id=1, code="000.00.12.H17-200115-0001", old_status="dang_xu_ly", new_status="da_co_ket_qua",
                        current_step="Đã ký kết quả", at=dt.datetime(2026, 11, 26, 9))
    sms = replies.status_changed(event, "sms")
    assert sms == ("Hồ sơ 000.00.12.H17-200115-0001 đã có kết quả (trước đó: đang xử lý). Đã ký kết quả. "
                   "Soạn HUY 000.00.12.H17-200115-0001 gửi 8283 để ngừng nhận tin.")
    zalo = replies.status_changed(event, "zalo")  # may reach the citizen by SMS: it says where to write
    assert "nhắn \"hủy đăng ký 000.00.12.H17-200115-0001\" cho Zalo OA" in zalo and "HUY" not in zalo
    assert "Gõ \"hủy đăng ký 000.00.12.H17-200115-0001\"" in replies.status_changed(event, "telegram")


def test_status_change_reads_as_a_sentence_whatever_the_status_and_step() -> None:
    """Issue 19: "(trước đó: đang xử lý). đã có kết quả." read badly; a step that only repeats
    the status is left out, and "từ chối" reads "bị từ chối"."""
    event = ChangeEvent(id=2, code="000.00.12.H17-200115-0002", old_status="dang_xu_ly", new_status="da_co_ket_qua",
                        current_step="đã có kết quả", at=dt.datetime(2026, 11, 26, 9))
    assert replies.status_changed(event, "web").startswith(
        "Hồ sơ 000.00.12.H17-200115-0002 đã có kết quả (trước đó: đang xử lý). Gõ")
    refused = event.copy(update={"new_status": "tu_choi", "current_step": "thiếu giấy phép kinh doanh."})
    assert "bị từ chối (trước đó: đang xử lý). Thiếu giấy phép kinh doanh. Gõ" in replies.status_changed(refused, "web")


def test_a_time_answer_says_how_long_before_its_event_the_papers_must_be_in() -> None:
    from dossier_api.catalog import CatalogIndex, load_catalog

    index = CatalogIndex(load_catalog())
    fair = replies.procedure_time(index.get("hoi_cho_trien_lam"))
    assert "07 ngày làm việc" in fair and "chậm nhất 30 ngày trước ngày khai mạc" in fair
    assert "ít nhất 03 ngày làm việc" in replies.procedure_time(index.get("thong_bao_khuyen_mai"))
    assert "Lưu ý" not in replies.procedure_time(index.get("ban_buon_ruou"))  # no event to be early for
