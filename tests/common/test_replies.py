import datetime as dt

from common import replies
from dossier_api.models import ChangeEvent


def test_not_found_tells_apart_a_code_of_another_agency() -> None:
    assert replies.dossier_not_found("000.00.12.H17-200115-0999").startswith("Không tìm thấy hồ sơ")
    other = replies.dossier_not_found("000.00.31.H56-200115-0001")
    assert "do cơ quan khác cấp (mã cơ quan 000.00.31.H56)" in other


def test_status_change_says_how_to_stop_on_each_channel() -> None:
    event = ChangeEvent(id=1, code="000.00.12.H17-200115-0001", old_status="dang_xu_ly", new_status="da_co_ket_qua",
                        current_step="Đã ký kết quả", at=dt.datetime(2026, 11, 26, 9))
    sms = replies.status_changed(event, "sms")
    assert "ĐÃ CÓ KẾT QUẢ (trước đó: đang xử lý)" in sms and "Soạn HUY 000.00.12.H17-200115-0001 gửi 8283" in sms
    assert "hủy đăng ký 000.00.12.H17-200115-0001" in replies.status_changed(event, "zalo")
