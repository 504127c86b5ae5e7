"""Procedure guidance: documents, fees, processing time, where to submit.

Resolution (docs/procedures.md): the catalog search ranks the procedures by the
words of the question and by the variant they name (product, activity, act);
``resolve`` turns the ranking into one procedure to answer, a few variants to
choose from with buttons, another agency's matter, or nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import DossierAction, channel_of, latest_entity, said_last_turn
from actions.handoff import ActionGapCanBo, asks_how_to_reach
from actions.policy import ActionHoiChinhSach, answers_the_last_question
from actions.smalltalk import wordless_answer
from common.delivery import DELIVERY_FEE_VND, asks_delivery_fee
from common.dossier_questions import (
    Followup,
    asks_legal_basis,
    asks_legality,
    asks_permission,
    asks_processing_time,
    asks_validity,
    followup_of,
)
from common.settings import get_settings
from common.text import fold_key
from content import replies, texts
from dossier_api.catalog import NAMED_ONLY_ACTIVITIES, QUESTION_WORDS, FacetVocabulary, close_matches
from dossier_api.client import DossierApiUnavailable, DossierNotFound
from dossier_api.models import Procedure, ProcedureMatch
from knowledge.retrieval import DISPUTED_THRESHOLD
from vn_nlu.lexicon import CUES_FILE, Lexicon, OtherAgency, load_teencode, other_agency, split_tokens

logger = logging.getLogger(__name__)

# A search hit below this score is a coincidence of common words, not a match.
MIN_SCORE = 1.5
# A question that names another agency's paper is ours only when it clearly names one
# of our procedures too ("bán lẻ xăng dầu có cần bản sao sổ đỏ không").
OURS_DESPITE_AGENCY = 18.0
# A message the NLU called out of scope is ours when it names a procedure this clearly
# ("đổi trưởng VPĐD", "giảm giá dịp tết có phải đăng ký với sở không").
OURS_DESPITE_NLU = 8.0
MAX_CHOICES = 5
# After a procedure answer, a match weaker than this is a follow-up about that procedure
# ("còn lệ phí thì sao", "bán lẻ thì sao"), not a new question.
FOLLOW_UP_BELOW = 6.0

ANSWERS: dict[str, Callable[[Procedure], str]] = {
    "hoi_le_phi": replies.procedure_fee,
    "hoi_thoi_han": replies.procedure_time,
    "hoi_giay_to": replies.procedure_documents,
    "hoi_nop_ho_so": replies.procedure_submission,
    "hoi_thu_tuc": replies.procedure_summary,
}


VALIDITY = "hieu_luc"  # an aspect no intent names: how long the licence issued stays valid
LEGAL_BASIS = "can_cu"  # another: the legal texts it rests on (the summary says them)


def _aspect_answer(intent: str, procedure: Procedure, sms: bool) -> str:
    """The answer on one aspect; on SMS the summary counts the documents and lists are not numbered
    (the options after them are)."""
    if intent == VALIDITY:
        return replies.procedure_validity(procedure, get_settings().hotline)
    if intent == LEGAL_BASIS:
        return replies.procedure_legal_basis(procedure)
    if intent == "hoi_giay_to":
        return replies.procedure_documents(procedure, numbered=not sms)
    if intent in ANSWERS and intent != "hoi_thu_tuc":
        return ANSWERS[intent](procedure)
    return replies.procedure_summary(procedure, sms)


# Cue groups (vn_nlu/data/cues.yml) that say which aspect a message asks about.
ASPECT_CUES = {"phi": "hoi_le_phi", "thoi_gian": "hoi_thoi_han", "giay_to": "hoi_giay_to", "noi_nop": "hoi_nop_ho_so"}


@dataclass(frozen=True)
class Resolution:
    """What a question names: one procedure (answer it), several (ask which), another
    agency's matter, or nothing (``procedures`` empty, ``agency`` None)."""

    procedures: list[Procedure] = field(default_factory=list)
    agency: OtherAgency | None = None
    score: float = 0.0  # the best match's
    each: bool = False  # several goods named ("tạp hóa bán rượu và thuốc lá"): answer every procedure


def resolve(text: str, matches: list[ProcedureMatch], open_acts: bool = True) -> Resolution:
    """Turn the catalog's ranking of ``text`` into a resolution. A family named on its own
    ("văn phòng đại diện") leaves its act open (``open_acts``): its new licence, renewal,
    amendment... are offered, not the new licence the ranking prefers."""
    strong = [m for m in matches if m.score >= MIN_SCORE]
    agency = other_agency(text)  # (its general words yield to what the sector names: "... khí đốt hóa lỏng")
    if agency is not None and not (strong and strong[0].score >= OURS_DESPITE_AGENCY):
        return Resolution(agency=agency)
    if (each := _one_per_good(text, strong)) is not None:
        return Resolution(procedures=each, score=strong[0].score, each=True)
    close = close_matches(strong)
    found = _facets().find(text)
    # Only the named product's procedures ("cho hỏi về VPĐD": "về" met another one's words).
    of_product = [m for m in strong if m.procedure.product in found.get("san_pham", ())]
    activities = _activity_groups(of_product)
    if open_acts and names_only_a_family(text):
        products = found["san_pham"]
        if _LIST_WORDS.search(fold_key(text)):  # "về xăng dầu thì có những thủ tục nào": all of them
            close = of_product
        elif not found.get("hoat_dong") and len(activities) > 1:
            # "cho hỏi về giấy phép rượu": its activities (bán buôn, bán lẻ, sản xuất...), each one's best
            close = activities
        else:
            named = [m for m in close if m.procedure.product in products]
            if len(named) == 1:
                close = act_variants(named[0].procedure, strong)
    elif open_acts and len(activities) > 1 and asks_of_a_product_only(text):
        # "giấy phép thuốc lá lệ phí nhiêu vậy": the fee of which one, bán buôn (the department's) or bán lẻ?
        # (Not asked again of the answer to "which procedure?": "cho hỏi lệ phí" ... "xăng dầu".)
        close = activities
    return Resolution(procedures=[m.procedure for m in close[:MAX_CHOICES]],
                      score=strong[0].score if strong else 0.0)


# Goods a shop sells under a licence each: a question naming several asks about every licence.
LICENSED_GOODS = ("ruou", "thuoc_la", "xang_dau", "lpg")


def _one_per_good(text: str, strong: list[ProcedureMatch]) -> list[Procedure] | None:
    """For a question naming several licensed goods ("tạp hóa bán rượu bia thuốc lá"), the one
    procedure each good clearly matches; None when fewer than two goods are named, or one of them
    matches no procedure clearly (its variants tie: that one is asked, as usual)."""
    named = _facets().find(text).get("san_pham", set())
    goods = [g for g in LICENSED_GOODS if g in named]
    if len(goods) < 2:
        return None
    chosen = []
    for good in goods:
        ranked = [m for m in strong if m.procedure.product == good]
        if not ranked or ranked[0].score < FOLLOW_UP_BELOW or len(close_matches(ranked)) > 1:
            return None
        chosen.append(ranked[0].procedure)
    return chosen


def _activity_groups(matches: list[ProcedureMatch]) -> list[ProcedureMatch]:
    """The best match of each (product, activities) group, best first."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    best = []
    for m in matches:
        group = (m.procedure.product, tuple(m.procedure.activities))
        if group not in seen:
            seen.add(group)
            best.append(m)
    return best


def act_variants(procedure: Procedure, matches: list[ProcedureMatch]) -> list[ProcedureMatch]:
    """The matches of ``procedure``'s family that differ by their act only (same product and
    activities: "Cấp", "Gia hạn", "Điều chỉnh" Giấy phép văn phòng đại diện), ``procedure`` first."""
    if not procedure.product:
        return [m for m in matches if m.procedure.id == procedure.id]
    family = [m for m in matches if m.procedure.product == procedure.product
              and m.procedure.activities == procedure.activities]
    return sorted(family, key=lambda m: m.procedure.id != procedure.id)


# Words that add nothing to a procedure family named on its own ("cho hỏi về thủ tục VPĐD ạ"); a
# word of applying ("xin", "cấp", "làm", "mở") asks for the new licence and is not among them.
_TOPIC_WORDS = frozenset("""
    giay phep thu tuc huong dan thong tin tim hieu linh vuc ve cua cac viec cho hoi toi minh em anh chi ad
    a oi nhe voi giup the nao sao ra gi thi con vay z ha
    co nhung loai danh sach tat ca liet ke gom ke may
    """.split())


_LIST_WORDS = re.compile(r"(?<!\w)(?:nhung|cac|nao|danh sach|liet ke|tat ca|co may|may loai|may thu tuc|gom nhung|"
                         r"list|which)(?!\w)")


def names_only_a_family(text: str) -> bool:
    """Whether ``text`` names a procedure family and nothing else: its product (and activity),
    no act (cấp mới, gia hạn...), no aspect (fee, time...), no other word."""
    if text.startswith("/"):
        return False
    named = _facets().find(text)
    if not named.get("san_pham") or named.get("hanh_vi") or aspects_of(text):
        return False
    return all(w in _TOPIC_WORDS for w in _facets().other_words(text))


def documents_named(procedure: Procedure, text: str, most: int = 2) -> list[str]:
    """The procedure's document lines that a word of ``text`` names, beyond its question words, the
    facets it names and the procedure's own name ("kho phải rộng bao nhiêu m2": the warehouse line,
    with its 50 m²)."""
    own = set(re.findall(r"\w+", fold_key(procedure.name))) | QUESTION_WORDS | _TOPIC_WORDS
    words = {w for w in _facets().other_words(text) if len(w) >= 3 and w not in own}
    found = [line for line in procedure.documents if words & set(re.findall(r"\w+", fold_key(line)))]
    return found[:most]


def asks_of_a_product_only(text: str) -> bool:
    """Whether ``text`` asks a fact (fee, time...) of a licensed good's licence and names nothing
    else of it ("giấy phép thuốc lá lệ phí nhiêu vậy": bán buôn and bán lẻ differ in fee and in who
    issues them): no activity, no word but a question's."""
    named = _facets().find(text)
    goods = named.get("san_pham", set()) & set(LICENSED_GOODS)
    if text.startswith("/") or not goods or named.get("hoat_dong") or not aspects_of(text):
        return False
    return all(w in QUESTION_WORDS or w in _TOPIC_WORDS for w in _facets().other_words(text))


@lru_cache(maxsize=1)
def _aspect_cues() -> Lexicon:
    cues = yaml.safe_load(CUES_FILE.read_text(encoding="utf-8")) or {}
    return Lexicon.of_groups({g: cues[g] for g in ASPECT_CUES}, load_teencode(), cues.get("exact_only", []))


# Prices of goods, not the fee of a procedure ("giảm giá 30%" is a promotion, not "giá" asked).
_PRICE_WORDS = re.compile(r"(?<!\w)(?:giảm giá|giam gia|hạ giá|ha gia|đồng giá|dong gia|tăng giá|tang gia|"
                          r"giá cả|gia ca|niêm yết giá|niem yet gia|giá bán|gia ban)(?!\w)", re.IGNORECASE)


def aspects_of(text: str) -> list[str]:
    """The intents of the aspects a message asks about by its cue words, in the order
    of ``ANSWERS`` ("lệ phí và thời hạn" asks two)."""
    text = _PRICE_WORDS.sub(" ", text)
    found = {ASPECT_CUES[h.value] for h in _aspect_cues().find(split_tokens(text, load_teencode()))}
    return [intent for intent in ANSWERS if intent in found]


def aspect_of(text: str) -> str:
    """The intent of the aspect a message asks about by its cue words (fee, time...);
    the general guidance when it names none or several."""
    found = aspects_of(text)
    return found[0] if len(found) == 1 else "hoi_thu_tuc"


def pending_question(events: list[dict[str, Any]]) -> tuple[str, str] | None:
    """When the bot's last message asked "which procedure?": the intent of the question
    it asked about and that question's text (empty for a button); else None."""
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if len(users) < 2:
        return None
    before, latest = users[-2], users[-1]
    asked = any(
        e.get("event") == "bot" and (e.get("text") or "").startswith(replies.which_procedure_question())
        for e in events[before + 1 : latest]
    )
    if not asked:
        return None
    previous = events[before]
    intent = ((previous.get("parse_data") or {}).get("intent") or {}).get("name")
    text = previous.get("text") or ""
    return (intent if intent in ANSWERS else "hoi_thu_tuc"), ("" if text.startswith("/") else text)


@lru_cache(maxsize=1)
def _facets() -> FacetVocabulary:
    return FacetVocabulary.from_file()


def _names_a_product(text: str) -> bool:
    """Whether a message names what a procedure is about (rượu, xăng dầu...), not only a
    variant ("cấp lại thì sao"): without one, it is about the procedure discussed before."""
    return bool(_facets().find(text).get("san_pham"))


_DOCUMENTS_FOLLOW_UP = re.compile(r"^(?:con |the |vay )?(?:ho so|giay to)(?: thi| the| nua| can)*"
                                  r"(?: sao| nao| gi| chi| ra sao| the nao| gom gi)?(?: a| vay| z| ha)?$")


def asks_documents_only(text: str) -> bool:
    """ "hồ sơ thì sao", "còn giấy tờ?": after a procedure answer, its documents."""
    return _DOCUMENTS_FOLLOW_UP.match(fold_key(text).strip(" ?.!")) is not None


_PROCEDURE_WORDS = re.compile(r"\b(?:thu tuc|giay phep|giay chung nhan|dieu kien|cap phep|xin phep|dang ky)\b")


_NEAR_WORDS = re.compile(r"\b(?:gan day|gan nhat|gan toi|gan minh|gan em|gan nha|quanh day|xung quanh|near me|nearby"
                         r"|nearest)\b")


def asks_places_again(tracker: Tracker) -> bool:
    """A message that names a place type and asks nothing of a procedure, after a places answer
    ("còn cây xăng thì sao": a petrol station is a place and a licence) or with a word of nearness
    ("cửa hàng bán LPG quanh đây"), asks for those places."""
    from actions.lookup import latest_topic  # it imports this module

    text = tracker.latest_message.get("text") or ""
    key = fold_key(text)
    if latest_entity(tracker, "loai_dia_diem") is None or text.startswith("/") or aspects_of(text) or (
            _PROCEDURE_WORDS.search(key) is not None):
        return False
    after_places = latest_topic(tracker, ("ho_so_gan_nhat", "thu_tuc_gan_nhat", "khu_vuc_gan_nhat")) == (
        "khu_vuc_gan_nhat")
    return after_places or _NEAR_WORDS.search(key) is not None


_QUESTION_SPLIT = re.compile(r"[,;?]|\b(?:và|va|với lại|voi lai|còn|con nua|thêm nữa)\b", re.IGNORECASE)


_PAPER_ASKED = re.compile(r"\b(?:co can|can co|phai co|kem theo|nop kem|ban sao|can)\b")


def other_agency_asked_too(text: str) -> OtherAgency | None:
    """Another agency's matter asked in a part of the message of its own, beside one of ours: the part
    names that agency's paper and none of the sector's products ("..., và làm hộ chiếu thì ra đâu")."""
    parts = [p for p in _QUESTION_SPLIT.split(text) if p and p.strip()]
    if len(parts) < 2:
        return None
    for part in parts:
        agency = other_agency(part)
        # "có cần sổ đỏ không": the paper asked about is one of ours' documents, not a matter of its own
        if agency is not None and not _names_a_product(part) and _PAPER_ASKED.search(fold_key(part)) is None:
            return agency
    return None


def names_a_variant(text: str) -> bool:
    """Whether ``text`` names a product, an activity or an act of a procedure ("bán lẻ thôi" answers
    "which of the tobacco procedures?")."""
    return any(_facets().find(text).values())


def names_a_product(text: str) -> bool:
    """Public for the lookup form: whether ``text`` names what a procedure is about."""
    return _names_a_product(text)


def _matched_without_its_product(text: str, resolution: Resolution) -> bool:
    """Whether the search matched procedures of a product the message does not name: words
    like "phí thẩm định" met another procedure's name, the question is about the one before."""
    return bool(resolution.procedures) and all(p.product for p in resolution.procedures) and not _names_a_product(text)


def _payload(intent: str, procedure_id: str) -> str:
    return f'/{intent}{{"thu_tuc": "{procedure_id}"}}'


class GuidanceAction(DossierAction):
    """Shared resolution and answers of the procedure actions (abstract: not registered)."""

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str, resolution: Resolution,
        also: tuple[str, ...] = (),
    ) -> list[EventType] | None:
        """Utter the resolution (``intent``'s aspect, and those in ``also`` when the question
        asked several: "phí và thời hạn"); None when it holds nothing to say."""
        hotline = self.settings.hotline
        if resolution.agency is not None:
            a = resolution.agency
            text = replies.other_agency_matter(a.name, a.where, a.legal_basis, a.review, hotline)
            dispatcher.utter_message(text=text)
            return [SlotSet("thu_tuc", None)]
        if len(resolution.procedures) > 1 and not resolution.each:
            dispatcher.utter_message(
                text=replies.which_variant(),
                buttons=[{"title": p.name, "payload": _payload(intent, p.id)} for p in resolution.procedures],
            )
            return [SlotSet("thu_tuc", None)]
        if not resolution.procedures:
            return None
        for procedure in resolution.procedures:
            self._answer_one(dispatcher, tracker, intent, procedure, also)
        text = tracker.latest_message.get("text") or ""
        if resolution.procedures[-1].authority is None and (agency := other_agency_asked_too(text)) is not None:
            # "lệ phí bán lẻ xăng dầu bao nhiêu, và làm hộ chiếu thì ra đâu": who does the other one
            dispatcher.utter_message(text=replies.other_agency_matter(agency.name, agency.where, agency.legal_basis,
                                                                      agency.review, hotline))
        return [SlotSet("thu_tuc_gan_nhat", resolution.procedures[-1].id), SlotSet("thu_tuc", None)]

    def _answer_one(self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str, procedure: Procedure,
                    also: tuple[str, ...]) -> None:
        """Utter ``intent``'s aspect (and ``also``'s) of one procedure, or who decides it."""
        hotline = self.settings.hotline
        said = tracker.latest_message.get("text") or ""
        told_before = tracker.get_slot("thu_tuc_gan_nhat") == procedure.id
        if procedure.authority is not None and asks_validity(said):
            # "giấy đó có hạn mấy năm": the licence's validity and who issues it, after its answer or first
            lines = [] if told_before else [replies.procedure_elsewhere(procedure, hotline)]
            dispatcher.utter_message(text="\n".join([*lines, replies.elsewhere_validity(procedure, hotline)]))
        elif procedure.authority is not None and told_before and intent in ANSWERS and intent != "hoi_thu_tuc":
            # "phí bao nhiêu" after being told who decides it: that body's, said once, not the whole answer again
            dispatcher.utter_message(text=replies.elsewhere_aspect(procedure, intent, hotline))
        elif procedure.authority is not None:
            dispatcher.utter_message(text=replies.procedure_elsewhere(procedure, hotline))
        else:
            asked = [intent, *(a for a in also if a != intent)]
            if asks_validity(said):
                # "có thời hạn mấy năm": the licence's validity, not the processing time (nor a summary),
                # unless that is asked too ("..., và xin mất mấy ngày")
                kept = ("hoi_thu_tuc",) if asks_processing_time(said) else ("hoi_thoi_han", "hoi_thu_tuc")
                asked = [VALIDITY, *(a for a in asked if a not in kept)]
                if asks_processing_time(said) and "hoi_thoi_han" not in asked:
                    asked.append("hoi_thoi_han")
            if asks_legal_basis(said) and "hoi_thu_tuc" not in asked:
                asked.append(LEGAL_BASIS)  # "thời hạn giải quyết với căn cứ pháp lý ạ"
            buttons = [{"title": t, "payload": _payload(i, procedure.id)}
                       for t, i in replies.procedure_follow_ups() if i not in asked]
            short = channel_of(tracker) == "sms"  # a few segments: the summary counts the documents
            text = "\n".join(_aspect_answer(a, procedure, short) for a in asked)
            if short and "hoi_thu_tuc" in asked and (lines := documents_named(procedure, said)):
                # "kho phải rộng bao nhiêu m2": the document lines it names, first (the count hides them)
                text = f"{replies.procedure_documents_named(lines)}\n{text}"
            if procedure.review:
                text += replies.procedure_under_review(hotline)
            dispatcher.utter_message(text=text, buttons=buttons)

    async def search(self, query: str, open_acts: bool = True) -> Resolution:
        """Resolve a free-text query against the catalog (``open_acts``: see :func:`resolve`)."""
        matches = await self.client.search_procedures(query, limit=MAX_CHOICES + 3) if query.strip() else []
        return resolve(query, matches, open_acts)

    async def _follow_up(self, tracker: Tracker, resolution: Resolution) -> Resolution:
        """A message that names no procedure clearly, after a procedure answer: the variant
        it names of the same product ("bán lẻ thì sao" after bán buôn rượu), else the
        procedure discussed before; without one, the resolution as it was."""
        previous = await self.previous_procedure(tracker)
        if previous is None:
            return resolution
        text = tracker.latest_message.get("text") or ""
        named = not text.startswith("/") and any(_facets().find(text).values())
        # What stays true of the asker: the product, and a variant meant only when named (a foreign-invested
        # trader asking "thế còn lập thêm cửa hàng tiện lợi thì sao" is still one).
        kept = [a for a in previous.activities if a in NAMED_ONLY_ACTIVITIES]
        if resolution.procedures and (previous.product or kept) and named:  # it named a variant
            # Facet values are folded words ("thuoc_la" -> "thuoc la"): the product, then its activity too.
            product = [previous.product] if previous.product else []
            for words in ([*product, *kept], [*product, *previous.activities]):
                variant = await self.search(" ".join([text, *(w.replace("_", " ") for w in words)]), open_acts=False)
                if variant.agency is None and len(variant.procedures) == 1:
                    return variant
        return Resolution(procedures=[previous])

    async def _like_the_previous(self, tracker: Tracker, resolution: Resolution) -> Resolution:
        """Variants left open by a product named after a procedure answer ("còn giấy thuốc lá thì mấy ngày"
        after the wholesale alcohol licence): the procedure discussed if it is one of them, else the one
        with its activity; the open choice otherwise."""
        previous = await self.previous_procedure(tracker)
        if previous is None:
            return resolution
        if previous.id in {p.id for p in resolution.procedures}:
            return Resolution(procedures=[previous], score=resolution.score)
        same = [p for p in resolution.procedures if p.activities == previous.activities and previous.activities]
        return Resolution(procedures=same[:1], score=resolution.score) if len(same) == 1 else resolution

    async def previous_procedure(self, tracker: Tracker) -> Procedure | None:
        """The procedure discussed before, for a follow-up ("còn lệ phí thì sao")."""
        previous = tracker.get_slot("thu_tuc_gan_nhat")
        if not previous:
            return None
        try:
            return await self.client.get_procedure(previous)
        except DossierNotFound:
            return None

    async def rule_asked(self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str,
                         pending: tuple[str, str] | None = None) -> list[EventType] | None:
        """Whether something is allowed, asked with a procedure's words and no fact of it ("shop em giảm
        giá 70% dịp cuối năm được không"): the rule's answer when the knowledge base knows it; None otherwise."""
        text = tracker.latest_message.get("text") or ""
        if pending is not None or text.startswith("/"):
            return None
        # what the law allows or limits, however else it reads; or a "thuốc lá điện tử thì sao" after a rule
        after_a_rule = said_last_turn(tracker, texts.opening("policy.matched_question"))
        strong = asks_legality(text) or (after_a_rule and not aspects_of(text))
        if not strong and (intent != "hoi_thu_tuc" or aspects_of(text) or not asks_permission(text)):
            return None
        return await self._policy_answer(dispatcher, tracker, text)

    @staticmethod
    async def _policy_answer(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType] | None:
        """The policy questions' answer to a typed question they know well; None otherwise."""
        # Only question words ("mất bao lâu", "cần giấy tờ gì"): a procedure is still to be named.
        says_what = any(w not in QUESTION_WORDS and w not in _TOPIC_WORDS for w in re.findall(r"\w+", fold_key(text)))
        policy = ActionHoiChinhSach()
        if says_what and not text.startswith("/") and (
                answered := await policy.reply_from_knowledge(dispatcher, tracker, text)) is not None:
            return answered
        return None

    async def answer_follow_up(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
        """A message the classifier could not place, or took for out of scope, after a procedure
        answer: another variant of it named ("còn nếu em bán sỉ thì phí nhiêu", "nếu chạy cả Huế
        thì sao"), or one of its facts asked and nothing else named ("vay xin giay do mat bao
        nhieu tien"), answered about that one. None when it is neither."""
        text = tracker.latest_message.get("text") or ""
        if text.startswith("/") or other_agency(text) is not None or asks_delivery_fee(text):
            return None
        aspect = aspect_of(text)
        if (variant := await self._variant_named(tracker)) is not None:
            return await self.answer(dispatcher, tracker, aspect, variant)
        if not aspects_of(text) or _names_a_product(text):
            return None
        if (previous := await self.previous_procedure(tracker)) is None:
            return None
        return await self.answer(dispatcher, tracker, aspect, Resolution(procedures=[previous]))

    async def _variant_named(self, tracker: Tracker) -> Resolution | None:
        """Another variant of the procedure just discussed, named by an activity, an act or provinces
        and nothing else of another product; None otherwise."""
        text = tracker.latest_message.get("text") or ""
        named = _facets().find(text)
        if named.get("san_pham") or not any(named.get(k) for k in ("hoat_dong", "hanh_vi", "tinh_thanh")):
            return None
        previous = await self.previous_procedure(tracker)
        if previous is None or not (previous.product or set(previous.activities) & NAMED_ONLY_ACTIVITIES):
            return None
        variant = await self._follow_up(tracker, Resolution(procedures=[previous]))
        return variant if variant.procedures and variant.procedures[0].id != previous.id else None


# "giá xăng hôm nay", "giá gas bao nhiêu": the price of the goods, not a licence's fee.
_PRICE = re.compile(r"(?<!\w)gia (?:ban (?:le )?)?(?:xang|dau|gas|ga|dien|ruou|bia|thuoc la|vang)(?!\w)")


def asks_a_price(text: str) -> bool:
    """Whether ``text`` asks what goods cost (petrol, gas, electricity...), not a procedure's fee."""
    key = fold_key(text)
    return _PRICE.search(key) is not None and not re.search(r"(?<!\w)(?:le phi|phi tham dinh|giay phep)(?!\w)", key)


class ActionHuongDanThuTuc(GuidanceAction):
    """Finds the procedure the citizen means and answers the asked aspect of it."""

    def name(self) -> str:
        return "action_huong_dan_thu_tuc"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        from actions.appointments import booking_answer, what_to_bring  # it imports actions.lookup

        if (booked := await booking_answer(dispatcher, tracker, domain)) is not None:
            return booked  # "thứ hai tuần tới" after the days were offered: not a procedure
        if (bring := await what_to_bring(dispatcher, tracker)) is not None:
            return bring  # "lên đó cần mang theo chi" right after booking
        if asks_delivery_fee(text) and not _names_a_product(text):
            dispatcher.utter_message(text=replies.delivery_fee(DELIVERY_FEE_VND))  # "phí gửi bưu điện bao nhiêu"
            return []
        from actions.feedback import ticket_followup  # it imports this module

        if (told := await ticket_followup(dispatcher, tracker)) is not None:
            return told  # "khi nào có trả lời" right after filing a complaint: the ticket's, not a procedure's
        if asks_a_price(text) and (answered := await self._policy_answer(dispatcher, tracker, text)) is not None:
            return answered  # "giá xăng hôm nay bao nhiêu" after the petrol licence: the price rules
        if asks_places_again(tracker):
            from actions.places import ActionTimDiaDiem

            return await ActionTimDiaDiem().run(dispatcher, tracker, domain)  # "còn cây xăng thì sao" after ATMs
        from actions.lookup import ActionHoiHoSo, latest_topic, ranked_code  # it imports this module

        if (ranked := ranked_code(tracker)) is not None:  # "còn bộ thứ hai thì sao" after two codes
            return await ActionHoiHoSo().tell_one(dispatcher, tracker, ranked)
        if (tracker.get_slot("ho_so_gan_nhat") and followup_of(text) in (Followup.WHY, Followup.WHERE)
                and not _names_a_product(text) and not text.startswith("/")):
            # "phải bổ sung cái chi", "mai em lên lấy, cần mang theo gì" about the dossier
            if latest_topic(tracker) == "ho_so_gan_nhat":
                return await ActionHoiHoSo().run(dispatcher, tracker, domain)
        return await self.guide(dispatcher, tracker, (tracker.latest_message.get("intent") or {}).get("name"))

    async def guide(self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str | None) -> list[EventType]:
        """Answer the latest message as a question on ``intent``'s aspect of a procedure."""
        intent = intent or "hoi_thu_tuc"
        pending = pending_question(tracker.events)
        asked_intent, asked_text = pending or ("hoi_thu_tuc", "")
        text = tracker.latest_message.get("text") or ""
        if intent not in ANSWERS or intent == "hoi_thu_tuc":
            # "an toàn thực phẩm", the answer to "which procedure?" about a fee; else the aspect the
            # words ask ("phí thẩm định bao nhiêu" read as a policy question)
            intent = asked_intent if asked_intent != "hoi_thu_tuc" or text.startswith("/") else aspect_of(text)
        asked = aspects_of(text) if not text.startswith("/") else []
        if len(asked) > 1 and intent not in asked:
            intent = asked[0]
        try:
            resolution = await self._find(tracker, asked_text)
            if resolution.agency is None and (resolution.score < FOLLOW_UP_BELOW or (
                    len(resolution.procedures) > 1 and not _names_a_product(text))
                    or _matched_without_its_product(text, resolution)):
                if (await self.previous_procedure(tracker) is None
                        and self._asks_for_the_department(tracker, resolution)):
                    return await ActionGapCanBo().run(dispatcher, tracker, {})  # "địa chỉ sở ở đâu": the office
                weak, resolution = resolution, await self._follow_up(tracker, resolution)
                # No procedure discussed before, and only words every licence shares matched ("hàng giả
                # hàng nhái thì báo ở đâu"): a policy answer that knows it comes first.
                if (resolution is weak and pending is None and not _names_a_product(text)
                        and (weak.score < FOLLOW_UP_BELOW or len(weak.procedures) > 1)
                        and (answered := await self._policy_answer(dispatcher, tracker, text)) is not None):
                    return answered
            elif len(resolution.procedures) > 1 and not resolution.each and pending is None:
                resolution = await self._like_the_previous(tracker, resolution)
            if (answered := await self.rule_asked(dispatcher, tracker, intent, pending)) is not None:
                return answered
            events = await self.answer(dispatcher, tracker, intent, resolution, tuple(asked) if len(asked) > 1 else ())
        except DossierApiUnavailable:
            logger.warning("dossier API unavailable during procedure guidance", exc_info=True)
            dispatcher.utter_message(text=replies.service_unavailable(self.settings.hotline))
            return []
        if events is None:
            if (answered := await self._policy_answer(dispatcher, tracker, text)) is not None:
                return answered  # no procedure, but the policy questions know it
            dispatcher.utter_message(
                text=replies.which_procedure(),
                buttons=[{"title": t, "payload": _payload(intent, pid)} for t, pid in replies.popular_procedures()],
            )
            return []
        return events

    @staticmethod
    def _asks_for_the_department(tracker: Tracker, resolution: Resolution) -> bool:
        """A question how to reach the department (its address, hours, phone) that met a procedure
        only through a word of another product's ("đổi địa chỉ văn phòng đại diện"), or none."""
        text = tracker.latest_message.get("text") or ""
        return (not text.startswith("/") and asks_how_to_reach(text)
                and (not resolution.procedures or _matched_without_its_product(text, resolution)))

    async def _find(self, tracker: Tracker, asked_text: str) -> Resolution:
        """What the latest message means: a button's procedure id, else a catalog search
        (joined to the question it answers when it alone names no single procedure:
        "giấy phép rượu" ... "bán lẻ")."""
        mention = latest_entity(tracker, "thu_tuc")
        text = tracker.latest_message.get("text") or ""
        if mention and text.startswith("/"):  # a button payload names the procedure id, a mention a topic
            try:
                return Resolution(procedures=[await self.client.get_procedure(mention)])
            except DossierNotFound:
                pass
        if mention and not text.startswith("/") and other_agency(text) is not None:
            mention = None  # "xin so bao hiem xa hoi cho con": another body's words, not the "hội chợ" read into them
        query = " ".join(filter(None, [text if not text.startswith("/") else "", (mention or "").replace("_", " ")]))
        resolution = await self.search(query)
        if asked_text and len(resolution.procedures) != 1 and resolution.agency is None:
            # the first question's words keep the variant it named ("giấy phép rượu" ... "bán lẻ"); a family
            # named now with a wish for the list ("về xăng dầu thì có những thủ tục nào") leaves its acts open
            listed = _LIST_WORDS.search(fold_key(query)) is not None and not any(_facets().find(asked_text).values())
            joined = await self.search(f"{asked_text} {query}", open_acts=listed)
            if joined.procedures and len(joined.procedures) <= max(1, len(resolution.procedures) - 1):
                return joined
        return resolution


async def catalog_fact_reply(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                             any_question: bool = False) -> list[EventType] | None:
    """A fee, time or document question about one catalog procedure that the classifier read
    otherwise (a policy question): the catalog's facts answer it. None when the message asks no
    such fact or names no single procedure clearly. With ``any_question`` (nothing else answers
    it: the policy questions do not know it), whatever it asks, one procedure clearly matched, or
    procedures of a product the message names (the one, or a choice between its variants)."""
    text = tracker.latest_message.get("text") or ""
    asks_a_fact = any(a != "hoi_nop_ho_so" for a in aspects_of(text))
    if text.startswith("/") or not (asks_a_fact or any_question):
        return None
    action = ActionHuongDanThuTuc()
    try:
        resolution = await action.search(text)
    except DossierApiUnavailable:
        return None
    if resolution.agency is not None or not resolution.procedures:
        return None
    # A fee, time or documents question needs a good match; any other question a match as clear as
    # one that outweighs another agency's paper ("nhập khẩu ô tô cũ" is not the FDI trading licence).
    clear = (len(resolution.procedures) == 1 or resolution.each) and resolution.score >= (
        OURS_DESPITE_NLU if asks_a_fact else OURS_DESPITE_AGENCY)
    # Nothing else answers it: the procedures of the product it names (one, or its variants to choose from).
    named = any_question and all(p.product and p.product in _facets().find(text).get("san_pham", ())
                                 for p in resolution.procedures)
    return await action.run(dispatcher, tracker, domain) if clear or named else None


# Folded words that make a message a question ("điều kiện cửa hàng bán lẻ LPG chai là gì"), not a
# procedure's name pasted from the portal.
_ASKING = frozenset("gi nao sao khong ko k bao dau the chi rang mo la co nhieu lau may ai".split())
# Share of a pasted message's words that must be words of the procedure's name.
NAME_SHARE = 0.8


async def catalog_first_reply(dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> list[EventType] | None:
    """The catalog's answer before the policy questions' to a message that is a procedure's name pasted
    from the portal ("Cấp Giấy chứng nhận đủ điều kiện cửa hàng bán lẻ LPG chai": its "đủ điều kiện"
    reads as a policy question) or that names several licensed goods each clearly matched ("tiệm tạp hóa
    bán rượu bia thuốc lá thì cần giấy phép chi": one policy answer would tell one licence). None
    otherwise."""
    text = tracker.latest_message.get("text") or ""
    words = re.findall(r"\w+", fold_key(text))
    if text.startswith("/") or len(words) < 4:
        return None
    action = ActionHuongDanThuTuc()
    try:
        matches = await action.client.search_procedures(text, limit=MAX_CHOICES + 3)
    except DossierApiUnavailable:
        return None
    if resolve(text, matches).each:
        return await action.run(dispatcher, tracker, domain)
    if any(w in _ASKING for w in words) or "?" in text or not matches:
        return None
    name = set(re.findall(r"\w+", fold_key(matches[0].procedure.name)))
    if sum(w in name for w in words) < NAME_SHARE * len(words):
        return None
    return await action.run(dispatcher, tracker, domain)


_ENGLISH = frozenset("the a an is are do does how what when where which who can i my we our you to for of in on "
                     "with and or it this that be get need much many long".split())


def _in_english(text: str) -> bool:
    """A question typed in English ("How do I register a trade fair in Da Nang?"): its words meet the catalog's
    Vietnamese ones only through the facets (a product named), so a weaker match is still the answer."""
    words = re.findall(r"[a-z']+", text.lower())
    return text.isascii() and len(words) >= 4 and sum(w in _ENGLISH for w in words) >= len(words) / 3


async def validity_followup(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType] | None:
    """How long the licence of the procedure just discussed stays valid, asked in words the classifier
    did not place ("giay phep duoc may nam", "giấy này có hạn bao lâu"); None when it asks otherwise, names
    a product, or no procedure was discussed."""
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/") or not asks_validity(text) or _names_a_product(text):
        return None
    action = ActionHuongDanThuTuc()
    previous = await action.previous_procedure(tracker)
    if previous is None:
        return None
    return await action.answer(dispatcher, tracker, "hoi_thoi_han", Resolution(procedures=[previous]))


async def decided_elsewhere(text: str) -> Procedure | None:
    """The one procedure ``text`` clearly names (its product named, well ahead of the others)
    when another body decides it; None otherwise."""
    if text.startswith("/") or not _names_a_product(text):
        return None
    try:
        resolution = await ActionHuongDanThuTuc().search(text, open_acts=False)
    except DossierApiUnavailable:
        return None
    if resolution.agency is None and len(resolution.procedures) == 1 and resolution.score >= OURS_DESPITE_NLU:
        procedure = resolution.procedures[0]
        return procedure if procedure.authority is not None else None
    return None


class ActionNgoaiPhamVi(GuidanceAction):
    """Out of scope, as the NLU saw it: another agency's matter gets who handles it; a
    message that clearly names one of the sector's procedures gets that procedure; the
    rest the general "not ours" answer."""

    def name(self) -> str:
        return "action_ngoai_pham_vi"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if pending_question(tracker.events) is not None:
            # The answer to the bot's own "which procedure?" ("bán buôn", "an toàn thực phẩm").
            return await ActionHuongDanThuTuc().run(dispatcher, tracker, domain)
        if (response := wordless_answer(tracker.latest_message.get("text") or "")) is not None:
            dispatcher.utter_message(response=response)  # "👍" is not another agency's matter
            return []
        from actions.appointments import booking_answer  # it imports actions.lookup

        if (booked := await booking_answer(dispatcher, tracker, domain)) is not None:
            return booked  # "8h30" after the slots were offered
        from actions.feedback import file_if_report  # actions.feedback imports this module

        if (followed := await answers_the_last_question(dispatcher, tracker, domain)) is not None:
            return followed  # a ward after "which ward?", "sao lâu rứa" after a lookup: not another agency's

        if (filed := await file_if_report(dispatcher, tracker, domain)) is not None:
            return filed
        if (validity := await validity_followup(dispatcher, tracker)) is not None:
            return validity  # "giấy phép được mấy năm" after a procedure answer
        if (followed := await self.answer_follow_up(dispatcher, tracker)) is not None:
            return followed  # "nếu chạy luôn cả Huế với Quảng Ngãi thì sao" after the promotion registration
        text = tracker.latest_message.get("text") or ""
        answered = await self.rule_asked(dispatcher, tracker, aspect_of(text)) if _names_a_product(text) else None
        if answered is not None:
            return answered  # "shop quần áo giảm giá 70% được không": the rule, not the notification's how-to
        try:
            matches = await self.client.search_procedures(text, limit=MAX_CHOICES + 3) if text.strip() else []
        except DossierApiUnavailable:
            logger.warning("dossier API unavailable during the scope check", exc_info=True)
            matches = []
        floor = MIN_SCORE if _in_english(text) and _names_a_product(text) else OURS_DESPITE_NLU
        resolution = resolve(text, [m for m in matches if m.score >= floor])
        if resolution.agency is None and resolution.procedures and not _names_a_product(text) and (
                len(resolution.procedures) > 1 or _matched_without_its_product(text, resolution)):
            # Out of scope for the NLU, and the search meets procedures only through general words,
            # none of their products named ("giấy phép hoạt động" of a clinic and the electricity
            # licence; "đăng ký" and hội chợ, đa cấp): not ours to answer or to offer.
            resolution = Resolution()
        events = await self.answer(dispatcher, tracker, aspect_of(text), resolution)
        if events is not None:
            return events
        # A question on the sector's rules the classifier took for out of scope (the base declines
        # other agencies' matters itself).
        if text.strip() and (answered := await ActionHoiChinhSach().reply_from_knowledge(
                dispatcher, tracker, text, DISPUTED_THRESHOLD)) is not None:
            return answered
        dispatcher.utter_message(response="utter_ngoai_pham_vi")
        return []
