"""Channel-neutral Vietnamese replies about dossiers and procedures.

Shared by the Rasa actions and the SMS keyword router so a lookup reads the
same on every channel (the SMS renderer folds it to ASCII afterwards).
"""

from __future__ import annotations

import datetime as dt

from common.feedback import ANSWER_WORKING_DAYS
from common.settings import get_settings
from common.status import DossierStatus, RatingLevel
from dossier_api.models import ChangeEvent, Dossier, Procedure

_HINTS = {
    DossierStatus.MOI_TIEP_NHAN: "Hồ sơ đã được tiếp nhận và sẽ được chuyển phòng chuyên môn xử lý.",
    DossierStatus.DANG_XU_LY: "Hồ sơ đang trong thời hạn giải quyết.",
    DossierStatus.CHO_BO_SUNG: (
        "Hồ sơ cần bổ sung theo thông báo đã gửi. Thời hạn giải quyết được tính lại "
        "từ khi nhận đủ hồ sơ bổ sung."
    ),
    DossierStatus.DA_CO_KET_QUA: (
        "Mời anh/chị mang giấy tiếp nhận đến Bộ phận Một cửa để nhận kết quả, "
        "hoặc đăng ký nhận qua bưu chính."
    ),
    DossierStatus.DA_TRA_KET_QUA: "Kết quả đã được trả cho tổ chức, cá nhân.",
    DossierStatus.TRE_HAN: (
        "Hồ sơ đã quá hạn giải quyết. Sở Công Thương xin lỗi anh/chị; bộ phận chuyên môn "
        "sẽ gửi văn bản xin lỗi và hẹn lại ngày trả kết quả."
    ),
    DossierStatus.TU_CHOI: "Hồ sơ không được giải quyết; lý do được nêu trong văn bản trả lời gửi kèm.",
}


def vn_date(day: dt.date) -> str:
    """``15/01/2020``."""
    return day.strftime("%d/%m/%Y")


def dossier_status(dossier: Dossier) -> str:
    """The full status reply for a dossier."""
    lines = [
        f"Hồ sơ {dossier.code}",
        f"- Thủ tục: {dossier.procedure_name}",
        f"- Người nộp: {dossier.applicant}",
        f"- Ngày nhận: {vn_date(dossier.received_date)}; hẹn trả: {vn_date(dossier.due_date)}",
        f"- Trạng thái: {dossier.status_label.upper()}",
        f"- Bước hiện tại: {dossier.current_step}",
    ]
    if dossier.result_date is not None:
        lines.append(f"- Ngày có kết quả: {vn_date(dossier.result_date)}")
    lines.append(_HINTS[dossier.status])
    return "\n".join(lines)


def dossier_status_short(dossier: Dossier) -> str:
    """The status in a few lines, for SMS."""
    return (
        f"Hồ sơ {dossier.code}: {dossier.status_label.upper()}. "
        f"{dossier.procedure_name}. Người nộp: {dossier.applicant}. "
        f"Nhận {vn_date(dossier.received_date)}, hẹn trả {vn_date(dossier.due_date)}. {dossier.current_step}."
    )


def dossier_not_found(code: str) -> str:
    """Reply for a well-formed code that no dossier has (or that another agency issued)."""
    settings = get_settings()
    agency = code.split("-", 1)[0].upper()
    if agency not in settings.agencies:
        return (
            f"Mã hồ sơ {code} do cơ quan khác cấp (mã cơ quan {agency}), không phải hồ sơ nộp tại "
            f"{settings.department_name}. Anh/chị vui lòng tra cứu tại cơ quan đã tiếp nhận hồ sơ "
            "hoặc trên Cổng Dịch vụ công quốc gia."
        )
    return (
        f"Không tìm thấy hồ sơ có mã {code}. Anh/chị vui lòng kiểm tra lại mã trên giấy "
        "tiếp nhận hồ sơ; hồ sơ vừa nộp có thể cần vài giờ để xuất hiện trên hệ thống."
    )


def invalid_code() -> str:
    """Reply for a text that tries to be a code but is malformed."""
    return (
        "Mã hồ sơ chưa đúng định dạng. Mã gồm mã cơ quan, ngày nhận (năm-tháng-ngày) "
        "và số thứ tự, ví dụ: 000.00.12.H17-200115-0001. Anh/chị vui lòng kiểm tra lại."
    )


def service_unavailable(hotline: str) -> str:
    """Reply when the dossier system does not answer."""
    return (
        "Hệ thống tra cứu đang bận, anh/chị vui lòng thử lại sau ít phút "
        f"hoặc gọi đường dây nóng {hotline}."
    )


def procedure_fee(p: Procedure) -> str:
    """Fee answer."""
    return f"Lệ phí thủ tục \"{p.name}\": {p.fee}."


def procedure_time(p: Procedure) -> str:
    """Processing-time answer."""
    return f"Thời hạn giải quyết thủ tục \"{p.name}\": {p.processing_time}."


def procedure_documents(p: Procedure) -> str:
    """Documents answer."""
    items = "\n".join(f"{i}. {d}" for i, d in enumerate(p.documents, 1))
    return f"Hồ sơ thủ tục \"{p.name}\" gồm ({p.copies} bộ):\n{items}"


def procedure_submission(p: Procedure) -> str:
    """Where/how-to-submit answer."""
    return (
        f"Cách nộp hồ sơ thủ tục \"{p.name}\": {p.submission}. "
        f"Dịch vụ công trực tuyến: {p.online_level}."
    )


def procedure_summary(p: Procedure) -> str:
    """General guidance on a procedure."""
    return "\n".join([
        f"Thủ tục \"{p.name}\" (lĩnh vực {p.field}):",
        f"- Hồ sơ: {len(p.documents)} loại giấy tờ, {p.copies} bộ",
        f"- Lệ phí: {p.fee}",
        f"- Thời hạn: {p.processing_time}",
        f"- Cách nộp: {p.submission} (dịch vụ công {p.online_level})",
        f"- Căn cứ pháp lý: {p.legal_basis}",
    ])


WHICH_PROCEDURE = "Anh/chị hỏi về thủ tục nào ạ?"
# Buttons under a procedure answer (title, intent) and under "which procedure?" (title, id).
PROCEDURE_FOLLOW_UPS = [
    ("Giấy tờ cần nộp", "hoi_giay_to"),
    ("Lệ phí", "hoi_le_phi"),
    ("Thời hạn", "hoi_thoi_han"),
    ("Nơi nộp", "hoi_nop_ho_so"),
]
POPULAR_PROCEDURES = [
    ("Bán lẻ xăng dầu", "ban_le_xang_dau"),
    ("Bán buôn rượu", "ban_buon_ruou"),
    ("Bán buôn thuốc lá", "ban_buon_thuoc_la"),
    ("Đăng ký khuyến mại", "dang_ky_khuyen_mai"),
    ("An toàn thực phẩm", "attp_co_so"),
    ("Cửa hàng LPG chai", "ban_le_lpg_chai"),
]


def which_procedure() -> str:
    """The question when a message names no procedure."""
    return f"{WHICH_PROCEDURE} Hãy nêu tên thủ tục (ví dụ: \"bán lẻ xăng dầu\") hoặc chọn:"


def which_variant() -> str:
    """The question when the words fit several variants (bán buôn / bán lẻ, cấp mới / cấp lại...)."""
    return f"{WHICH_PROCEDURE} Có một số thủ tục gần với câu hỏi, anh/chị chọn giúp thủ tục đúng:"


def _review_note(review: bool, who: str) -> str:
    return (f"\n(Thông tin thẩm quyền này đang được Sở rà soát theo quy định mới; anh/chị vui lòng xác nhận "
            f"với {who} trước khi nộp hồ sơ.)" if review else "")


def procedure_under_review(hotline: str) -> str:
    """Added to an answer from a catalog entry staff have yet to confirm (``review``)."""
    return (f"\n(Thông tin của thủ tục này đang được Sở rà soát theo quy định mới; anh/chị vui lòng gọi {hotline} "
            "để xác nhận trước khi nộp hồ sơ.)")


def procedure_elsewhere(p: Procedure, hotline: str) -> str:
    """A procedure of the sector that another body decides: who, where, the legal
    basis, and what the department can still help with."""
    a = p.authority
    if a is None:
        return procedure_summary(p)
    lines = [
        f"Thủ tục \"{p.name}\" không do Sở Công Thương giải quyết: cơ quan có thẩm quyền là {a.name}.",
        f"- Nơi nộp: {a.where}",
        f"- Căn cứ: {a.legal_basis}",
    ]
    if a.department_help:
        lines.append(f"- Sở Công Thương vẫn hỗ trợ anh/chị: {a.department_help}; đường dây nóng {hotline}.")
    return "\n".join(lines) + _review_note(a.review, a.name)


def other_agency_matter(name: str, where: str, legal_basis: str, review: bool, hotline: str) -> str:
    """Another agency's matter (passport, marriage, land...): who handles it and where."""
    return (
        f"Việc này không thuộc phạm vi của Sở Công Thương: cơ quan giải quyết là {name}.\n"
        f"- Nơi nộp, liên hệ: {where}\n- Căn cứ: {legal_basis}\n"
        f"Sở Công Thương hỗ trợ các thủ tục lĩnh vực công thương (rượu, thuốc lá, xăng dầu, khí, khuyến mại, "
        f"an toàn thực phẩm, điện...); đường dây nóng {hotline}." + _review_note(review, name)
    )


def rating_thanks(level: RatingLevel, hotline: str) -> str:
    """Thanks for a rating; an unhappy citizen is offered a way to be heard."""
    text = f"Cảm ơn anh/chị đã đánh giá \"{level.label}\". Ý kiến của anh/chị giúp Sở Công Thương phục vụ tốt hơn."
    if level is RatingLevel.KHONG_HAI_LONG:
        text += (
            " Chúng tôi rất tiếc vì trải nghiệm chưa tốt; anh/chị có thể gửi phản ánh chi tiết "
            f"hoặc gọi đường dây nóng {hotline} để được giải quyết."
        )
    return text


def status_changed(event: ChangeEvent, channel: str) -> str:
    """The notification of a status change; says how to stop them on that channel."""
    stop = (f"Soạn HUY {event.code} gửi 8283 để ngừng nhận tin." if channel == "sms"
            else f"Gõ \"hủy đăng ký {event.code}\" để ngừng nhận thông báo.")
    new, old = DossierStatus(event.new_status).label, DossierStatus(event.old_status).label
    return (f"Hồ sơ {event.code} vừa chuyển sang trạng thái {new.upper()} (trước đó: {old}). "
            f"{event.current_step}. {stop}")


def subscribed(code: str, status_label: str, channel: str) -> str:
    """Reply to a subscription."""
    stop = f"Soạn HUY {code} gửi 8283 để ngừng." if channel == "sms" else f"Gõ \"hủy đăng ký {code}\" để ngừng."
    return (f"Đã đăng ký nhận thông báo khi hồ sơ {code} thay đổi trạng thái (hiện tại: {status_label}). "
            f"{stop}")


TICKET_STATUS = {"moi": "mới tiếp nhận", "dang_xu_ly": "đang xử lý", "da_tra_loi": "đã trả lời"}


def ticket_created(number: str, category_label: str, due: dt.date, hotline: str) -> str:
    """Reply to a feedback or complaint filed."""
    return (f"Sở Công Thương đã tiếp nhận {category_label} của anh/chị, số phiếu {number}. "
            f"Anh/chị sẽ nhận được trả lời chậm nhất ngày {vn_date(due)} ({ANSWER_WORKING_DAYS} ngày làm việc theo "
            f"Nghị định 20/2008/NĐ-CP). Cần gấp, vui lòng gọi đường dây nóng {hotline}.")


def ticket_answered(event: ChangeEvent) -> str:
    """Told to the author when staff move their ticket on."""
    status = TICKET_STATUS.get(event.new_status, event.new_status)
    answer = f" Trả lời: {event.current_step}" if event.current_step else ""
    return f"Phản ánh số {event.code} của anh/chị: {status}.{answer}"
