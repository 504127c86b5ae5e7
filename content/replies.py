"""Channel-neutral replies about dossiers, procedures, tickets and notifications.

Shared by the Rasa actions, the SMS keyword router and the notifier so a lookup reads the
same on every channel (the SMS renderer folds it to ASCII afterwards). The wording is in
``content/data/texts.yml``; this module picks the text for the facts it is given.
"""

from __future__ import annotations

import datetime as dt
import re

from common.dates import vn_date
from common.deadlines import deadline, finished_late_by
from common.feedback import ANSWER_WORKING_DAYS, OPEN_TICKETS, ticket_label
from common.settings import get_settings
from common.status import DossierStatus, RatingLevel
from common.text import fold_key
from content.texts import text
from dossier_api.models import ChangeEvent, Dossier, Procedure, Ticket


def _hint(status: DossierStatus) -> str:
    return text(f"lookup.hint.{status.value}")


def _about(dossier: Dossier, answer: str) -> str:
    """``Hồ sơ <mã> (<trạng thái>): <answer>``."""
    return text("lookup.about", code=dossier.code, status=dossier.status_label, answer=answer)


def _on_day(day: dt.date | None) -> str:
    return text("lookup.on_day", day=vn_date(day)) if day else ""


def _late_apology(dossier: Dossier, days_late: int) -> str:
    """Says how late a dossier is, apologises and gives the hotline."""
    overdue = text("lookup.late.overdue_days", days=days_late) if days_late else text("lookup.late.overdue")
    return text("lookup.late.apology", overdue=overdue, due=vn_date(dossier.due_date),
                hotline=get_settings().hotline)


def _on_time(dossier: Dossier, days_left: int) -> str:
    if days_left == 0:
        return text("lookup.on_time.due_today", due=vn_date(dossier.due_date))
    return text("lookup.on_time.days_left", due=vn_date(dossier.due_date), days=days_left)


def dossier_hint(dossier: Dossier, today: dt.date) -> str:
    """What the status means for the citizen today: late (how many days, apology, hotline) or not."""
    facts = deadline(dossier.status, dossier.due_date, today)
    if facts.late:
        return _late_apology(dossier, facts.days_late)
    if dossier.status in (DossierStatus.MOI_TIEP_NHAN, DossierStatus.DANG_XU_LY):
        prefix = _hint(DossierStatus.MOI_TIEP_NHAN) + " " if dossier.status is DossierStatus.MOI_TIEP_NHAN else ""
        return prefix + _on_time(dossier, facts.days_left)
    return _hint(dossier.status)


def _status_label(dossier: Dossier, today: dt.date) -> str:
    facts = deadline(dossier.status, dossier.due_date, today)
    label = dossier.status_label.upper()
    if facts.late and dossier.status is not DossierStatus.TRE_HAN:
        return text("lookup.label.late", label=label, days=facts.days_late)
    if facts.late and facts.days_late:
        return text("lookup.label.late_days", label=label, days=facts.days_late)
    return label


def dossier_status(dossier: Dossier, today: dt.date) -> str:
    """The full status reply for a dossier, late or not as of ``today`` (the department's date)."""
    lines = [text("lookup.status.full", code=dossier.code, procedure=dossier.procedure_name,
                  applicant=dossier.applicant, received=vn_date(dossier.received_date),
                  due=vn_date(dossier.due_date), status=_status_label(dossier, today), step=dossier.current_step)]
    if dossier.result_date is not None:
        lines.append(text("lookup.status.result_date", day=vn_date(dossier.result_date)))
    lines.append(dossier_hint(dossier, today))
    return "\n".join(lines)


def dossier_statuses_sms(found: list[Dossier | str], today: dt.date) -> str:
    """Several dossiers in one SMS: a line each (code, status, due date) or what was wrong with a code,
    then one apology with the hotline when any is late; one dossier gets :func:`dossier_status_short`."""
    if len(found) == 1:
        only = found[0]
        return only if isinstance(only, str) else dossier_status_short(only, today)
    lines = [d if isinstance(d, str) else text("lookup.status.tiny", code=d.code, status=_status_label(d, today),
                                                due=vn_date(d.due_date)) for d in found]
    if any(not isinstance(d, str) and deadline(d.status, d.due_date, today).late for d in found):
        lines.append(text("lookup.status.tiny_late", hotline=get_settings().hotline))
    return "\n".join(lines)


def dossier_status_short(dossier: Dossier, today: dt.date) -> str:
    """The status in a few lines, for SMS (late or not as of ``today``)."""
    short = text("lookup.status.short", code=dossier.code, status=_status_label(dossier, today),
                 procedure=dossier.procedure_name, applicant=dossier.applicant,
                 received=vn_date(dossier.received_date), due=vn_date(dossier.due_date), step=dossier.current_step)
    if deadline(dossier.status, dossier.due_date, today).late:
        return text("lookup.status.short_late", short=short, hotline=get_settings().hotline)
    return short


def dossier_when(dossier: Dossier, today: dt.date) -> str:
    """When the result of a dossier is due ("khi nào có kết quả"), late or not as of ``today``."""
    facts = deadline(dossier.status, dossier.due_date, today)
    if dossier.status is DossierStatus.DA_CO_KET_QUA:
        answer = text("lookup.when.has_result", when=_on_day(dossier.result_date), hint=_hint(dossier.status))
    elif dossier.status is DossierStatus.DA_TRA_KET_QUA:
        answer = text("lookup.when.returned", when=_on_day(dossier.result_date))
    elif dossier.status is DossierStatus.TU_CHOI:
        answer = _hint(dossier.status)
    elif dossier.status is DossierStatus.CHO_BO_SUNG:
        answer = text("lookup.when.supplement", hint=_hint(dossier.status))
    elif facts.late:
        answer = _late_apology(dossier, facts.days_late)
    else:
        answer = _on_time(dossier, facts.days_left)
    return _about(dossier, answer)


def dossier_late(dossier: Dossier, today: dt.date, reason: bool = False) -> str:
    """Whether a dossier is late ("trễ hạn rồi phải không"), as of ``today``; asked why (``reason``:
    "sao trễ vậy"), where it stands instead of a yes."""
    facts = deadline(dossier.status, dossier.due_date, today)
    if facts.late:
        key = "lookup.is_late.why" if reason else "lookup.is_late.yes"
        return _about(dossier, text(key, apology=_late_apology(dossier, facts.days_late), step=dossier.current_step))
    if dossier.status in (DossierStatus.DA_CO_KET_QUA, DossierStatus.DA_TRA_KET_QUA):
        late_by = finished_late_by(dossier.due_date, dossier.result_date)
        due = vn_date(dossier.due_date)
        verdict = (text("lookup.is_late.finished_late", days=late_by, due=due) if late_by
                   else text("lookup.is_late.finished_on_time", due=due))
        return _about(dossier, text("lookup.is_late.finished", when=_on_day(dossier.result_date), verdict=verdict))
    if dossier.status is DossierStatus.TU_CHOI:
        return _about(dossier, text("lookup.is_late.refused", hint=_hint(dossier.status)))
    if dossier.status is DossierStatus.CHO_BO_SUNG:
        return _about(dossier, text("lookup.is_late.no", detail=_hint(dossier.status)))
    return _about(dossier, text("lookup.is_late.no", detail=_on_time(dossier, facts.days_left)))


def dossier_why(dossier: Dossier, today: dt.date) -> str:
    """Why a dossier stands where it does ("tại sao bị từ chối", "phải bổ sung cái chi"): its
    current step as the one-stop system states it, and what that status means today."""
    hotline, hint = get_settings().hotline, dossier_hint(dossier, today)
    details = "" if hotline in hint else text("lookup.why_details", hotline=hotline)  # the hotline once
    return text("lookup.why", code=dossier.code, status=dossier.status_label, step=dossier.current_step, hint=hint,
                details=details)


def dossier_where(dossier: Dossier, today: dt.date) -> str:
    """Where the result of a dossier is collected ("nhận kết quả ở đâu")."""
    settings = get_settings()
    if dossier.status is DossierStatus.DA_TRA_KET_QUA:
        return text("lookup.where.returned", code=dossier.code, when=_on_day(dossier.result_date))
    if dossier.status is DossierStatus.TU_CHOI:
        return text("lookup.where.refused", code=dossier.code, hint=_hint(dossier.status))
    where = text("lookup.where.office", code=dossier.code, address=settings.office_address,
                 hours=settings.office_hours)
    if dossier.status is DossierStatus.DA_CO_KET_QUA:
        return text("lookup.where.has_result", where=where)
    return text("lookup.where.pending", where=where, hint=dossier_hint(dossier, today))


def several_codes(count: int) -> str:
    """Said before answering a message that gave several dossier codes."""
    return text("lookup.several_codes", count=count)


def ticket_status(ticket: Ticket) -> str:
    """A feedback ticket's state and its latest answer, told to its author who asked by its number."""
    if ticket.answers:
        latest = ticket.answers[-1]
        count = text("feedback.ticket.answer_count", count=len(ticket.answers)) if len(ticket.answers) > 1 else ""
        return text("feedback.ticket.answered", number=ticket.number, status=ticket.status.label,
                    day=vn_date(latest.at.date()), count=count, answer=latest.text)
    if ticket.status in OPEN_TICKETS:
        return text("feedback.ticket.open", number=ticket.number, status=ticket.status.label,
                    due=vn_date(ticket.due_date))
    return text("feedback.ticket.status", number=ticket.number, status=ticket.status.label)


def ticket_number_needed() -> str:
    """Asked about a ticket without its number, in a conversation that filed none."""
    return text("feedback.ticket.number_needed")


def ticket_not_found(number: str) -> str:
    """A ticket number this sender did not file (or that does not exist): nothing about it is told."""
    return text("feedback.ticket.not_found", number=number, hotline=get_settings().hotline)


def forgot_code() -> str:
    """Told a citizen who has no dossier code to give: where it is printed, and how to be looked up by name."""
    return text("lookup.forgot_code", hotline=get_settings().hotline)


def dossier_not_found(code: str) -> str:
    """Reply for a well-formed code that no dossier has (or that another agency issued)."""
    settings = get_settings()
    agency = code.split("-", 1)[0].upper()
    if agency not in settings.agencies:
        return text("lookup.other_agency", code=code, agency=agency, department=settings.department_name)
    return text("lookup.not_found", code=code)


def invalid_code() -> str:
    """Reply for a text that tries to be a code but is malformed."""
    return text("lookup.invalid_code")


def service_unavailable(hotline: str) -> str:
    """Reply when the dossier system does not answer."""
    return text("lookup.unavailable", hotline=hotline)


def procedure_fee(p: Procedure) -> str:
    """Fee answer."""
    return text("procedure.fee", name=p.name, fee=p.fee)


# A clause of the catalog saying how long before an event the papers must go in ("chậm nhất 30 ngày
# trước ngày khai mạc", "gửi trước ngày bắt đầu chương trình ít nhất 03 ngày làm việc").
_LEAD_TIME = re.compile(r"[^;.,]*\btrước (?:ngày|khi)\b[^;.]*")


def lead_time(p: Procedure) -> str | None:
    """When the papers of ``p`` must be in, before the event they are for (the catalog's words), if it says."""
    for clause in (p.submission, *p.documents):
        if (found := _LEAD_TIME.search(clause)) is not None and re.search(r"\d", found.group()):
            return found.group().strip(" ,")
    return None


def procedure_time(p: Procedure) -> str:
    """Processing-time answer, and how long before its event the papers must be in when the catalog says."""
    answer = text("procedure.time", name=p.name, time=p.processing_time)
    lead = lead_time(p)
    return f"{answer} {text('procedure.lead_time', rule=lead)}" if lead else answer


def procedure_legal_basis(p: Procedure) -> str:
    """The legal texts a procedure rests on."""
    return text("procedure.legal_basis", name=p.name, legal_basis=p.legal_basis)


def procedure_validity(p: Procedure, hotline: str) -> str:
    """How long what ``p`` issues stays valid ("giấy phép có thời hạn mấy năm"), or that the catalog does not say."""
    if p.validity:
        return text("procedure.validity", name=p.name, validity=p.validity)
    return text("procedure.validity_unknown", name=p.name, hotline=hotline)


def _document_items(p: Procedure, numbered: bool = True) -> str:
    """One line per document: numbered, or (on SMS, where the options below are numbered) dashed."""
    if not numbered:
        return "\n".join(text("procedure.document_bullet", document=d) for d in p.documents)
    return "\n".join(text("procedure.document_item", number=i, document=d) for i, d in enumerate(p.documents, 1))


def procedure_documents(p: Procedure, numbered: bool = True) -> str:
    """Documents answer (``numbered`` lines, or dashed where options are numbered after it)."""
    return text("procedure.documents", name=p.name, copies=p.copies, items=_document_items(p, numbered))


def procedure_submission(p: Procedure) -> str:
    """Where/how-to-submit answer."""
    return text("procedure.submission", name=p.name, submission=p.submission, online=p.online_level)


def procedure_summary(p: Procedure, short: bool = False) -> str:
    """General guidance on a procedure: what to submit, fee, time, where, legal basis (``short``,
    for SMS's few segments: how many documents instead of which)."""
    return text("procedure.summary_short" if short else "procedure.summary", name=p.name, field=p.field,
                documents=len(p.documents), items=_document_items(p), copies=p.copies, fee=p.fee,
                time=p.processing_time, submission=p.submission, online=p.online_level, legal_basis=p.legal_basis)


def procedure_documents_named(lines: list[str]) -> str:
    """The document lines a question named, before the summary that only counts them (SMS)."""
    return text("procedure.documents_named", items="; ".join(lines))


def which_procedure_question() -> str:
    """The bare question "which procedure?" (a follow-up to it answers the form, not a new topic)."""
    return text("procedure.which")


# Buttons under a procedure answer (text key, intent) and under "which procedure?" (text key, id).
_FOLLOW_UPS = [
    ("procedure.button.documents", "hoi_giay_to"),
    ("procedure.button.fee", "hoi_le_phi"),
    ("procedure.button.time", "hoi_thoi_han"),
    ("procedure.button.submission", "hoi_nop_ho_so"),
]
_POPULAR = ["ban_le_xang_dau", "ban_buon_ruou", "ban_buon_thuoc_la", "dang_ky_khuyen_mai", "attp_co_so",
            "ban_le_lpg_chai"]


def procedure_follow_ups() -> list[tuple[str, str]]:
    """(title, intent) of the buttons under a procedure answer."""
    return [(text(key), intent) for key, intent in _FOLLOW_UPS]


def popular_procedures() -> list[tuple[str, str]]:
    """(title, procedure id) of the buttons under "which procedure?"."""
    return [(text(f"procedure.popular.{pid}"), pid) for pid in _POPULAR]


def which_procedure() -> str:
    """The question when a message names no procedure."""
    return text("procedure.which_named", which=which_procedure_question())


def which_variant() -> str:
    """The question when the words fit several variants (bán buôn / bán lẻ, cấp mới / cấp lại...)."""
    return text("procedure.which_variant", which=which_procedure_question())


def _review_note(review: bool, who: str) -> str:
    return text("procedure.review_note", who=who) if review else ""


def procedure_under_review(hotline: str) -> str:
    """Added to an answer from a catalog entry staff have yet to confirm (``review``)."""
    return text("procedure.under_review", hotline=hotline)


def procedure_elsewhere(p: Procedure, hotline: str) -> str:
    """A procedure of the sector that another body decides: who, where, the legal
    basis, and what the department can still help with."""
    a = p.authority
    if a is None:
        return procedure_summary(p)
    lines = [text("procedure.elsewhere", name=p.name, authority=a.name, where=a.where, legal_basis=a.legal_basis)]
    if a.department_help:
        lines.append(text("procedure.elsewhere_help", help=a.department_help, hotline=hotline))
    return "\n".join(lines) + _review_note(a.review, a.name)


_ELSEWHERE_ASPECTS = {"hoi_le_phi": "fee", "hoi_thoi_han": "time", "hoi_giay_to": "documents",
                      "hoi_nop_ho_so": "submission"}


def elsewhere_aspect(p: Procedure, intent: str, hotline: str) -> str:
    """The fee, time, documents or place of a procedure another body decides, asked after its answer:
    that body sets and tells them (where to submit is known: its desk)."""
    a = p.authority
    if a is None:
        return procedure_summary(p)
    return text(f"procedure.elsewhere_aspect.{_ELSEWHERE_ASPECTS.get(intent, 'fee')}", name=p.name,
                authority=a.name, where=a.where, hotline=hotline)


def elsewhere_validity(p: Procedure, hotline: str) -> str:
    """How long the licence of a procedure another body decides stays valid (the catalog's
    figure when it has one) and who issues it."""
    a = p.authority
    if a is None:
        return procedure_validity(p, hotline)
    key = "procedure.elsewhere_validity" if p.validity else "procedure.elsewhere_validity_unknown"
    return text(key, name=p.name, validity=p.validity or "", authority=a.name, where=a.where, hotline=hotline)


def other_agency_matter(name: str, where: str, legal_basis: str, review: bool, hotline: str) -> str:
    """Another agency's matter (passport, marriage, land...): who handles it and where."""
    return (text("procedure.other_agency", name=name, where=where, legal_basis=legal_basis, hotline=hotline)
            + _review_note(review, name))


def rating_thanks(level: RatingLevel, hotline: str) -> str:
    """Thanks for a rating; an unhappy citizen is offered a way to be heard."""
    thanks = text("rating.thanks", level=level.label)
    if level is RatingLevel.KHONG_HAI_LONG:
        thanks += text("rating.unhappy", hotline=hotline)
    return thanks


# Statuses whose label alone is not a sentence after "Hồ sơ <mã>" (texts notify.phrase.<status>).
_PHRASED = {DossierStatus.MOI_TIEP_NHAN, DossierStatus.DA_TRA_KET_QUA, DossierStatus.TRE_HAN, DossierStatus.TU_CHOI}


def status_phrase(status: DossierStatus) -> str:
    """How a status reads after "Hồ sơ <mã>"."""
    return text(f"notify.phrase.{status.value}") if status in _PHRASED else status.label


def stop_notifications(code: str, channel: str) -> str:
    """How to stop a subscription made on ``channel``. A Zalo notification may reach the citizen
    by SMS (outside Zalo's interaction window), so it names the Zalo OA: the subscription is the
    Zalo identity's, and "HUY" by SMS would not find it."""
    key = channel if channel in ("sms", "zalo") else "other"
    return text(f"notify.stop.{key}", code=code)


def status_changed(event: ChangeEvent, channel: str) -> str:
    """The notification of a status change, e.g. "Hồ sơ … đã có kết quả (trước đó: đang xử lý).",
    the current step when it says more, and how to stop them on that channel."""
    new, old = DossierStatus(event.new_status), DossierStatus(event.old_status)
    phrase = status_phrase(new)
    changed = text("notify.changed", code=event.code, phrase=phrase, old=old.label)
    step = event.current_step.strip().rstrip(".")
    if step and fold_key(step) not in {fold_key(new.label), fold_key(phrase) if new in _PHRASED else ""}:
        changed += f" {step[0].upper()}{step[1:]}."
    return f"{changed} {stop_notifications(event.code, channel)}"


def subscribed(code: str, status_label: str, channel: str) -> str:
    """Reply to a subscription."""
    stop = text("notify.subscribed_stop.sms" if channel == "sms" else "notify.subscribed_stop.other", code=code)
    return text("notify.subscribed", code=code, status=status_label, stop=stop)


def ticket_created(number: str, category_label: str, due: dt.date, hotline: str) -> str:
    """Reply to a feedback or complaint filed."""
    return text("feedback.ticket.created", category=category_label, number=number, due=vn_date(due),
                days=ANSWER_WORKING_DAYS, hotline=hotline)


def ticket_answered(event: ChangeEvent) -> str:
    """Told to the author when staff move their ticket on."""
    answer = text("feedback.ticket.moved_on_answer", answer=event.current_step) if event.current_step else ""
    return text("feedback.ticket.moved_on", number=event.code, status=ticket_label(event.new_status), answer=answer)


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def delivery_fee(fee_vnd: int) -> str:
    """What posting a result costs, and how to ask for it."""
    return text("delivery.fee", fee=_vnd(fee_vnd))


def delivery_stopped() -> str:
    """The citizen left the result-by-post form."""
    return text("delivery.stopped")


def delivery_bad_name() -> str:
    return text("delivery.bad_name")


def delivery_bad_phone() -> str:
    return text("delivery.bad_phone")


def delivery_phone_corrected() -> str:
    return text("delivery.phone_corrected")


def delivery_short_address() -> str:
    return text("delivery.short_address")


def delivery_long_address() -> str:
    return text("delivery.long_address")


def feedback_stopped() -> str:
    """The citizen left the feedback form before telling what happened."""
    return text("feedback.stopped")
