"""What staff read for the assistant's intents and entities: Vietnamese names beside the codes
Rasa uses (the codes stay the values forms send). A code without a name here is shown as it is."""

from __future__ import annotations

INTENT_LABELS = {
    "tra_cuu_ho_so": "Tra cứu hồ sơ",
    "hoi_thu_tuc": "Hỏi thủ tục",
    "hoi_giay_to": "Hỏi giấy tờ cần nộp",
    "hoi_le_phi": "Hỏi lệ phí",
    "hoi_thoi_han": "Hỏi thời hạn giải quyết",
    "hoi_nop_ho_so": "Hỏi nơi, cách nộp hồ sơ",
    "danh_gia": "Đánh giá mức độ hài lòng",
    "dat_lich_hen": "Đặt lịch hẹn",
    "chuyen_phat_ket_qua": "Nhận kết quả qua bưu điện",
    "phan_anh_kien_nghi": "Phản ánh, kiến nghị",
    "tim_dia_diem": "Tìm địa điểm",
    "gap_can_bo": "Gặp cán bộ",
    "dang_ky_thong_bao": "Đăng ký nhận thông báo hồ sơ",
    "huy_dang_ky": "Hủy đăng ký",
    "hoi_bot": "Hỏi về trợ lý ảo",
    "chao_hoi": "Chào hỏi",
    "tam_biet": "Tạm biệt",
    "cam_on": "Cảm ơn",
    "ngoai_pham_vi": "Ngoài phạm vi",
    "hoi_chinh_sach": "Hỏi chính sách",
    "dang_ky_nhan_tin": "Đăng ký nhận tin tức",
    "hoi_tin_moi": "Hỏi tin mới",
    "khang_dinh": "Đồng ý, xác nhận",
    "phu_dinh": "Không, trả lời chưa đúng",
    "nlu_fallback": "Không hiểu",
}
ENTITY_LABELS = {"thu_tuc": "Thủ tục", "muc_do": "Mức độ hài lòng", "loai_dia_diem": "Loại địa điểm"}


def label(intent: str) -> str:
    """The intent's Vietnamese name (its code when it has none)."""
    return INTENT_LABELS.get(intent, intent)


def option(code: str, names: dict[str, str] = INTENT_LABELS) -> str:
    """A select option's text: the Vietnamese name, then the code staff may meet in the data files."""
    return f"{names[code]} ({code})" if code in names else code
