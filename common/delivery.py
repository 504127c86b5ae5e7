"""Result delivery by post: the postal fee and reading the recipient's answers (pure, no I/O).

The fee is the one the reference dossier API charges (``dossier_api/server.py`` imports it), so
the bot's answer to "phí gửi qua bưu điện bao nhiêu" and the fee on the request are one fact.
"""

from __future__ import annotations

import datetime as dt
import re

from common.status import DossierStatus
from common.text import fold_key, nfc, squash_spaces

DELIVERY_FEE_VND = 25_000  # public postal service, within the province; staff adjust it here
# Which dossiers' results may be asked to be posted, and the delivery's first state: a result
# that exists, or one still in progress whose due date is at most NEAR_RESULT_DAYS away.
DELIVERABLE = {DossierStatus.DA_CO_KET_QUA: "cho_giao", DossierStatus.DANG_XU_LY: "cho_ket_qua"}
NEAR_RESULT_DAYS = 5


def delivery_state(status: DossierStatus, due: dt.date, today: dt.date) -> str | None:
    """The first state of a delivery asked for a dossier in ``status`` due on ``due``; None when its
    result cannot be asked for yet or at all."""
    state = DELIVERABLE.get(status)
    if state == "cho_ket_qua" and (due - today).days > NEAR_RESULT_DAYS:
        return None
    return state

# "tên là", "người nhận là", "em tên", "my name is": words before the name itself.
_NAME_LEADS = re.compile(
    r"^(?:(?:họ\s+)?tên(?:\s+người\s+nhận)?(?:\s+là)?|người\s+nhận(?:\s+là)?|(?:tôi|em|mình|tui|chị|anh)"
    r"(?:\s+tên)?\s+là|(?:tôi|em|mình|tui)\s+tên|my\s+name\s+is|name\s*:?|recipient\s*:?)\s*[:,-]?\s*",
    re.IGNORECASE)
_ID_WORDS = re.compile(r"\b(?:cccd|cmnd|cmt|căn cước|sđt|sdt|số điện thoại|đt|tel|phone|id)\b.*$", re.IGNORECASE)
_NAME_CHARS = re.compile(r"^[^\W\d_](?:[^\W\d_]|[\s.'\-])*$")
# Words of a message that asks about the fee ("phí gửi bao nhiêu", "tốn bao nhiêu tiền", "how much").
_FEE_WORDS = ("phi", "cuoc", "bao nhieu tien", "ton bao nhieu", "het bao nhieu", "mat bao nhieu", "gia cuoc",
              "tien ship", "how much", "fee", "cost")


# One-word answers that are not a name ("có" to "Họ tên người nhận là gì?").
_NOT_NAMES = frozenset({"co", "khong", "ko", "ok", "oke", "vang", "da", "u", "roi", "dung", "sai", "chua", "yes", "no",
                        "thoi", "khoi", "nhe", "a"})


def recipient_name(text: str) -> str | None:
    """The person's name in an answer like "Huỳnh Thị Kim Oanh, CCCD 0491..." or "tên là Lê Văn Tám"."""
    head = re.split(r"[,;\n(]", nfc(text or ""), maxsplit=1)[0]
    head = squash_spaces(_ID_WORDS.sub("", _NAME_LEADS.sub("", head.strip())))
    head = head.strip(" .:-")
    if not 2 <= len(head) <= 100 or not _NAME_CHARS.match(head) or fold_key(head) in _NOT_NAMES:
        return None
    return head


_POST_WORDS = ("buu dien", "buu chinh", "chuyen phat", "gui ve nha", "gui ket qua", "ship", "giao tan nha", "by post",
               "delivery")


def asks_delivery_fee(text: str) -> bool:
    """True when ``text`` asks what posting a result costs, with words of posting ("phí gửi bưu điện")."""
    key = fold_key(text)
    return asks_fee(text) and any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", key) for w in _POST_WORDS)


def asks_fee(text: str) -> bool:
    """True when ``text`` asks what posting the result costs."""
    key = fold_key(text)
    return any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", key) for w in _FEE_WORDS)
