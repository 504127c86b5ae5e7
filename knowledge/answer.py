"""How a policy answer reads on chat and over SMS (pure functions, Vietnamese text).

Chat gets the whole answer, its legal basis and the review date; SMS gets as many
whole sentences as fit the segment cap (~3 concatenated GSM-7 parts) with the
first legal document, the date and the hotline. The SMS layer folds to ASCII.
"""

from __future__ import annotations

import re

from common.dates import vn_date
from common.text import cut_at_word
from knowledge.loader import Entry

# Three concatenated GSM-7 parts carry 3 x 153 characters; keep a little room.
SMS_BUDGET = 450
MIN_PIECE = 60  # characters of a sentence worth sending cut, rather than dropped
REVIEW_NOTE = ("Lưu ý: nội dung này đang được cán bộ rà soát lại theo văn bản mới nhất; "
               "anh/chị nên xác nhận với Sở trước khi thực hiện.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def answer_text(entry: Entry, hotline: str) -> str:
    """The answer of ``entry`` with the configured hotline in it."""
    return entry.answer.replace("{hotline}", hotline)


def chat_reply(entry: Entry, hotline: str) -> str:
    """Answer, legal basis, review date (and the review note when the entry is flagged)."""
    lines = [
        answer_text(entry, hotline),
        f"Căn cứ: {entry.legal_basis}.",
        f"(Cập nhật ngày {vn_date(entry.reviewed)})",
    ]
    if entry.review_needed:
        lines.append(REVIEW_NOTE)
    return "\n".join(lines)


def sms_reply(entry: Entry, hotline: str, budget: int = SMS_BUDGET) -> str:
    """The answer shortened to whole sentences that fit ``budget`` characters with its tail."""
    basis = entry.legal_basis.split(";")[0].strip()
    tail = f"Căn cứ: {basis}. Cập nhật {vn_date(entry.reviewed)}. Hỏi thêm: {hotline}"
    room = budget - len(tail) - 1
    kept = ""
    for sentence in _SENTENCE_END.split(answer_text(entry, hotline)):
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
    return (
        "Anh/chị muốn hỏi quy định nào? Ví dụ: \"giảm giá tối đa bao nhiêu phần trăm\", "
        "\"điện mặt trời mái nhà có cần giấy phép không\", \"bán rượu online có được không\"."
    )


def not_known(hotline: str) -> str:
    """The honest answer when no entry matches well enough."""
    return (
        "Xin lỗi, tôi chưa có câu trả lời chắc chắn cho câu hỏi này. Anh/chị có thể gặp cán bộ của Sở, "
        "hoặc gửi câu hỏi để cán bộ trả lời (anh/chị nhận được số phiếu); "
        f"đường dây nóng: {hotline}."
    )


def not_known_buttons() -> list[dict[str, str]]:
    """A person or a ticket."""
    return [
        {"title": "Gặp cán bộ", "payload": "/gap_can_bo"},
        {"title": "Gửi câu hỏi cho Sở", "payload": "/phan_anh_kien_nghi"},
    ]
