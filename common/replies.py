"""Channel-neutral Vietnamese replies about dossiers and procedures.

Shared by the Rasa actions and the SMS keyword router so a lookup reads the
same on every channel (the SMS renderer folds it to ASCII afterwards).
"""

from __future__ import annotations

import datetime as dt

from common.deadlines import deadline, finished_late_by
from common.feedback import ANSWER_WORKING_DAYS, OPEN_TICKETS, ticket_label
from common.settings import get_settings
from common.status import DossierStatus, RatingLevel
from common.text import fold_key
from dossier_api.models import ChangeEvent, Dossier, Procedure, Ticket

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
    DossierStatus.TRE_HAN: "Hồ sơ đã quá hạn giải quyết.",
    DossierStatus.TU_CHOI: "Hồ sơ không được giải quyết; lý do được nêu trong văn bản trả lời gửi kèm.",
}


def vn_date(day: dt.date) -> str:
    """``15/01/2020``."""
    return day.strftime("%d/%m/%Y")


def _late_apology(dossier: Dossier, days_late: int) -> str:
    """Says how late a dossier is, apologises and gives the hotline."""
    hotline = get_settings().hotline
    overdue = f"đã trễ hạn {days_late} ngày" if days_late else "đã trễ hạn"
    return (
        f"Hồ sơ {overdue} so với ngày hẹn trả {vn_date(dossier.due_date)}. "
        "Sở Công Thương thành thật xin lỗi anh/chị vì sự chậm trễ này; bộ phận chuyên môn sẽ gửi "
        f"văn bản xin lỗi và hẹn lại ngày trả kết quả. Cần hỗ trợ ngay, anh/chị vui lòng gọi đường dây nóng {hotline}."
    )


def _on_time(dossier: Dossier, days_left: int) -> str:
    if days_left == 0:
        return f"Hồ sơ đang trong thời hạn giải quyết; hôm nay ({vn_date(dossier.due_date)}) là ngày hẹn trả kết quả."
    return (f"Hồ sơ đang trong thời hạn giải quyết, hẹn trả kết quả ngày {vn_date(dossier.due_date)} "
            f"(còn {days_left} ngày).")


def dossier_hint(dossier: Dossier, today: dt.date) -> str:
    """What the status means for the citizen today: late (how many days, apology, hotline) or not."""
    facts = deadline(dossier.status, dossier.due_date, today)
    if facts.late:
        return _late_apology(dossier, facts.days_late)
    if dossier.status in (DossierStatus.MOI_TIEP_NHAN, DossierStatus.DANG_XU_LY):
        prefix = _HINTS[DossierStatus.MOI_TIEP_NHAN] + " " if dossier.status is DossierStatus.MOI_TIEP_NHAN else ""
        return prefix + _on_time(dossier, facts.days_left)
    return _HINTS[dossier.status]


def _status_label(dossier: Dossier, today: dt.date) -> str:
    facts = deadline(dossier.status, dossier.due_date, today)
    label = dossier.status_label.upper()
    if facts.late and dossier.status is not DossierStatus.TRE_HAN:
        label += f" - TRỄ HẠN {facts.days_late} NGÀY"
    elif facts.late and facts.days_late:
        label += f" {facts.days_late} NGÀY"
    return label


def dossier_status(dossier: Dossier, today: dt.date) -> str:
    """The full status reply for a dossier, late or not as of ``today`` (the department's date)."""
    lines = [
        f"Hồ sơ {dossier.code}",
        f"- Thủ tục: {dossier.procedure_name}",
        f"- Người nộp: {dossier.applicant}",
        f"- Ngày nhận: {vn_date(dossier.received_date)}; hẹn trả: {vn_date(dossier.due_date)}",
        f"- Trạng thái: {_status_label(dossier, today)}",
        f"- Bước hiện tại: {dossier.current_step}",
    ]
    if dossier.result_date is not None:
        lines.append(f"- Ngày có kết quả: {vn_date(dossier.result_date)}")
    lines.append(dossier_hint(dossier, today))
    return "\n".join(lines)


def dossier_status_short(dossier: Dossier, today: dt.date) -> str:
    """The status in a few lines, for SMS (late or not as of ``today``)."""
    text = (
        f"Hồ sơ {dossier.code}: {_status_label(dossier, today)}. "
        f"{dossier.procedure_name}. Người nộp: {dossier.applicant}. "
        f"Nhận {vn_date(dossier.received_date)}, hẹn trả {vn_date(dossier.due_date)}. {dossier.current_step}."
    )
    facts = deadline(dossier.status, dossier.due_date, today)
    if facts.late:
        text += f" Sở Công Thương xin lỗi anh/chị vì sự chậm trễ. Đường dây nóng {get_settings().hotline}."
    return text


def dossier_when(dossier: Dossier, today: dt.date) -> str:
    """When the result of a dossier is due ("khi nào có kết quả"), late or not as of ``today``."""
    facts = deadline(dossier.status, dossier.due_date, today)
    head = f"Hồ sơ {dossier.code} ({dossier.status_label}): "
    if dossier.status is DossierStatus.DA_CO_KET_QUA:
        when = f" ngày {vn_date(dossier.result_date)}" if dossier.result_date else ""
        return head + f"đã có kết quả{when}. " + _HINTS[dossier.status]
    if dossier.status is DossierStatus.DA_TRA_KET_QUA:
        when = f" ngày {vn_date(dossier.result_date)}" if dossier.result_date else ""
        return head + f"đã có kết quả{when} và kết quả đã được trả."
    if dossier.status is DossierStatus.TU_CHOI:
        return head + _HINTS[dossier.status]
    if dossier.status is DossierStatus.CHO_BO_SUNG:
        return head + "chưa thể hẹn ngày có kết quả. " + _HINTS[dossier.status]
    if facts.late:
        return head + _late_apology(dossier, facts.days_late)
    return head + _on_time(dossier, facts.days_left)


def dossier_late(dossier: Dossier, today: dt.date) -> str:
    """Whether a dossier is late ("trễ hạn rồi phải không"), as of ``today``."""
    facts = deadline(dossier.status, dossier.due_date, today)
    head = f"Hồ sơ {dossier.code} ({dossier.status_label}): "
    if facts.late:
        return head + "đúng vậy. " + _late_apology(dossier, facts.days_late)
    if dossier.status in (DossierStatus.DA_CO_KET_QUA, DossierStatus.DA_TRA_KET_QUA):
        late_by = finished_late_by(dossier.due_date, dossier.result_date)
        when = f" ngày {vn_date(dossier.result_date)}" if dossier.result_date else ""
        verdict = (f"chậm {late_by} ngày so với ngày hẹn trả {vn_date(dossier.due_date)}; Sở Công Thương xin lỗi "
                   "anh/chị vì sự chậm trễ" if late_by else f"đúng hẹn (hẹn trả {vn_date(dossier.due_date)})")
        return head + f"không còn trễ hạn: hồ sơ đã có kết quả{when}, {verdict}."
    if dossier.status is DossierStatus.TU_CHOI:
        return head + "hồ sơ đã được trả lời, không còn tính thời hạn. " + _HINTS[dossier.status]
    if dossier.status is DossierStatus.CHO_BO_SUNG:
        return head + "chưa trễ hạn. " + _HINTS[dossier.status]
    return head + "chưa trễ hạn. " + _on_time(dossier, facts.days_left)


def dossier_why(dossier: Dossier, today: dt.date) -> str:
    """Why a dossier stands where it does ("tại sao bị từ chối", "phải bổ sung cái chi"): its
    current step as the one-stop system states it, and what that status means today."""
    return (f"Hồ sơ {dossier.code} ({dossier.status_label}): {dossier.current_step}. "
            f"{dossier_hint(dossier, today)} Chi tiết, anh/chị vui lòng gọi đường dây nóng {get_settings().hotline}.")


def dossier_where(dossier: Dossier, today: dt.date) -> str:
    """Where the result of a dossier is collected ("nhận kết quả ở đâu")."""
    settings = get_settings()
    where = (f"Kết quả hồ sơ {dossier.code} được trả tại {settings.office_address} ({settings.office_hours}); "
             "anh/chị mang theo giấy tiếp nhận hồ sơ và giấy tờ tùy thân, hoặc gõ \"nhận kết quả qua bưu điện\" "
             "để được gửi tận nhà.")
    if dossier.status is DossierStatus.DA_CO_KET_QUA:
        return where + " Hồ sơ đã có kết quả, anh/chị có thể đến nhận ngay."
    if dossier.status is DossierStatus.DA_TRA_KET_QUA:
        when = f" ngày {vn_date(dossier.result_date)}" if dossier.result_date else ""
        return f"Kết quả hồ sơ {dossier.code} đã được trả{when} cho tổ chức, cá nhân."
    if dossier.status is DossierStatus.TU_CHOI:
        return f"Hồ sơ {dossier.code}: " + _HINTS[dossier.status]
    return where + " Hồ sơ chưa có kết quả. " + dossier_hint(dossier, today)


def several_codes(count: int) -> str:
    """Said before answering a message that gave several dossier codes."""
    return f"Anh/chị gửi {count} mã hồ sơ; tôi trả lời lần lượt từng hồ sơ:"


def ticket_status(ticket: Ticket) -> str:
    """A feedback ticket's state and its latest answer, told to its author who asked by its number."""
    text = f"Phiếu {ticket.number} của anh/chị: {ticket.status.label}."
    if ticket.answers:
        latest = ticket.answers[-1]
        count = f" (Sở đã trả lời {len(ticket.answers)} lần)" if len(ticket.answers) > 1 else ""
        text += f" Trả lời mới nhất của Sở Công Thương, ngày {vn_date(latest.at.date())}{count}: {latest.text}"
    elif ticket.status in OPEN_TICKETS:
        text += f" Hạn trả lời chậm nhất ngày {vn_date(ticket.due_date)}."
    return text


def ticket_number_needed() -> str:
    """Asked about a ticket without its number, in a conversation that filed none."""
    return ("Anh/chị vui lòng cho biết số phiếu (dạng PA<năm tháng ngày>-<số>, ví dụ PA261201-0003) "
            "được gửi khi tiếp nhận phản ánh, tôi sẽ tra tình trạng phiếu cho anh/chị.")


def ticket_not_found(number: str) -> str:
    """A ticket number this sender did not file (or that does not exist): nothing about it is told."""
    return (f"Tôi không tìm thấy phiếu {number} do anh/chị gửi từ kênh này. Anh/chị vui lòng kiểm tra lại số phiếu "
            f"hoặc gọi đường dây nóng {get_settings().hotline}.")


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


# How a status reads after "Hồ sơ <mã>" where its label alone is not a sentence.
STATUS_PHRASES = {
    DossierStatus.MOI_TIEP_NHAN: "đã được tiếp nhận",
    DossierStatus.DA_TRA_KET_QUA: "đã được trả kết quả",
    DossierStatus.TRE_HAN: "đã trễ hạn",
    DossierStatus.TU_CHOI: "bị từ chối",
}


def stop_notifications(code: str, channel: str) -> str:
    """How to stop a subscription made on ``channel``. A Zalo notification may reach the citizen
    by SMS (outside Zalo's interaction window), so it names the Zalo OA: the subscription is the
    Zalo identity's, and "HUY" by SMS would not find it."""
    if channel == "sms":
        return f"Soạn HUY {code} gửi 8283 để ngừng nhận tin."
    if channel == "zalo":
        return f"Để ngừng nhận thông báo, anh/chị nhắn \"hủy đăng ký {code}\" cho Zalo OA Sở Công Thương."
    return f"Gõ \"hủy đăng ký {code}\" để ngừng nhận thông báo."


def status_changed(event: ChangeEvent, channel: str) -> str:
    """The notification of a status change, e.g. "Hồ sơ … đã có kết quả (trước đó: đang xử lý).",
    the current step when it says more, and how to stop them on that channel."""
    new, old = DossierStatus(event.new_status), DossierStatus(event.old_status)
    text = f"Hồ sơ {event.code} {STATUS_PHRASES.get(new, new.label)} (trước đó: {old.label})."
    step = event.current_step.strip().rstrip(".")
    if step and fold_key(step) not in {fold_key(new.label), fold_key(STATUS_PHRASES.get(new, ""))}:
        text += f" {step[0].upper()}{step[1:]}."
    return f"{text} {stop_notifications(event.code, channel)}"


def subscribed(code: str, status_label: str, channel: str) -> str:
    """Reply to a subscription."""
    stop = f"Soạn HUY {code} gửi 8283 để ngừng." if channel == "sms" else f"Gõ \"hủy đăng ký {code}\" để ngừng."
    return (f"Đã đăng ký nhận thông báo khi hồ sơ {code} thay đổi trạng thái (hiện tại: {status_label}). "
            f"{stop}")


def ticket_created(number: str, category_label: str, due: dt.date, hotline: str) -> str:
    """Reply to a feedback or complaint filed."""
    return (f"Sở Công Thương đã tiếp nhận {category_label} của anh/chị, số phiếu {number}. "
            f"Anh/chị sẽ nhận được trả lời chậm nhất ngày {vn_date(due)} ({ANSWER_WORKING_DAYS} ngày làm việc theo "
            f"Nghị định 20/2008/NĐ-CP). Cần gấp, vui lòng gọi đường dây nóng {hotline}.")


def ticket_answered(event: ChangeEvent) -> str:
    """Told to the author when staff move their ticket on."""
    status = ticket_label(event.new_status)
    answer = f" Trả lời: {event.current_step}" if event.current_step else ""
    return f"Phản ánh số {event.code} của anh/chị: {status}.{answer}"


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def delivery_fee(fee_vnd: int) -> str:
    """What posting a result costs, and how to ask for it."""
    return (f"Phí chuyển phát kết quả qua bưu điện là {_vnd(fee_vnd)} đồng (trong thành phố), trả khi nhận. "
            "Anh/chị muốn đăng ký thì gõ \"nhận kết quả qua bưu điện\" kèm mã hồ sơ, ví dụ: "
            "nhận kết quả qua bưu điện 000.00.12.H17-200115-0001.")


def delivery_stopped() -> str:
    """The citizen left the result-by-post form."""
    return ("Dạ, tôi đã dừng đăng ký chuyển phát. Anh/chị vẫn có thể nhận kết quả trực tiếp tại Bộ phận Một cửa, "
            "hoặc đăng ký lại bất cứ lúc nào.")


def delivery_bad_name() -> str:
    return "Họ tên người nhận chưa hợp lệ (2-100 chữ cái), anh/chị vui lòng nhập lại."


def delivery_bad_phone() -> str:
    return "Số điện thoại chưa đúng (ví dụ 0905123456), anh/chị vui lòng nhập lại."


def delivery_phone_corrected() -> str:
    return "Dạ, tôi đã sửa số điện thoại người nhận."


def delivery_short_address() -> str:
    return "Địa chỉ hơi ngắn, anh/chị vui lòng ghi rõ số nhà, đường, phường."


def delivery_long_address() -> str:
    return "Địa chỉ quá dài (tối đa 300 ký tự), anh/chị vui lòng rút gọn."


def feedback_stopped() -> str:
    """The citizen left the feedback form before telling what happened."""
    return "Dạ, khi nào cần anh/chị cứ nhắn nội dung phản ánh, kiến nghị cho tôi bất cứ lúc nào."
