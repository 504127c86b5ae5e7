"""How a policy answer reads on chat and over SMS (its wording: content/data/texts.yml, policy.*).

Chat gets the whole answer, its legal basis and the review date; SMS gets as many
whole sentences as fit the segment cap (~3 concatenated GSM-7 parts) with the
first legal document, the date and the hotline. The SMS layer folds to ASCII.
"""

from __future__ import annotations

import re

from common.dates import vn_date
from common.text import cut_at_word
from content import texts
from knowledge.loader import Entry

# Three concatenated GSM-7 parts carry 3 x 153 characters; keep a little room.
SMS_BUDGET = 450
MIN_PIECE = 60  # characters of a sentence worth sending cut, rather than dropped
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def answer_text(entry: Entry, hotline: str) -> str:
    """The answer of ``entry`` with the configured hotline in it."""
    return entry.answer.replace("{hotline}", hotline)


# Below this retrieval score the chat answer first says which question it answers, so a near miss
# ("nhà hàng có được bán rượu không" meeting the vending-machine entry) shows instead of a bare "Không.".
CONFIDENT_SCORE = 0.5


# An answer that opens with a bare yes or no answers its entry's own question: asked otherwise ("bị phạt
# không" met "có được bán không"), the yes or no reads reversed unless that question is said first.
_BARE_YES_NO = re.compile(r"^(?:Có|Không|Được|Không được)\.")
EXACT_SCORE = 0.8


def chat_reply(entry: Entry, hotline: str, score: float = 1.0) -> str:
    """Answer, legal basis, review date (and the review note when the entry is flagged); the entry's
    question first when the match was not a confident one (``score``), or not a near-exact one and
    the answer opens with a bare yes or no."""
    asked_otherwise = score < CONFIDENT_SCORE or (score < EXACT_SCORE and _BARE_YES_NO.match(entry.answer))
    lines = [texts.text("policy.matched_question", question=entry.question)] if asked_otherwise else []
    lines += [
        answer_text(entry, hotline),
        texts.text("policy.legal_basis", basis=entry.legal_basis),
        texts.text("policy.reviewed", day=vn_date(entry.reviewed)),
    ]
    if entry.review_needed:
        lines.append(texts.text("policy.review_note"))
    return "\n".join(lines)


def sms_reply(entry: Entry, hotline: str, budget: int = SMS_BUDGET, score: float = 1.0) -> str:
    """The answer shortened to whole sentences that fit ``budget`` characters with its tail; a bare
    yes or no it opens with is dropped unless the match was near-exact (no room to say the question)."""
    basis = entry.legal_basis.split(";")[0].strip()
    tail = texts.text("policy.sms_tail", basis=basis, day=vn_date(entry.reviewed), hotline=hotline)
    room = budget - len(tail) - 1
    kept = ""
    text = answer_text(entry, hotline)
    if score < EXACT_SCORE:
        text = _BARE_YES_NO.sub("", text).lstrip()
    for sentence in _SENTENCE_END.split(text):
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > room:
            left = room - len(kept) - 4
            if left >= MIN_PIECE:  # room for a useful piece of the next sentence
                kept = f"{kept} {cut_at_word(sentence, left)}...".strip()
            break
        kept = candidate
    return f"{kept}\n{tail}"


def ask_question() -> str:
    """When the citizen chose "policy questions" without asking one yet."""
    return texts.text("policy.ask_question")


def not_known(hotline: str) -> str:
    """The honest answer when no entry matches well enough."""
    return texts.text("policy.not_known", hotline=hotline)


def not_known_buttons() -> list[dict[str, str]]:
    """A person or a ticket."""
    return [
        {"title": texts.text("policy.button.person"), "payload": "/gap_can_bo"},
        {"title": texts.text("policy.button.ticket"), "payload": "/phan_anh_kien_nghi"},
    ]
