"""What a citizen's message asks about a dossier or a feedback ticket (pure, no I/O).

- A follow-up about the dossier just looked up: when is the result due
  ("khi nào có kết quả"), is it late ("trễ hạn rồi phải không"), where is the
  result collected ("nhận kết quả ở đâu").
- Whether a message that holds a dossier code is a plain complaint (filed as a
  ticket) or a question about the dossier (a lookup): only an explicit
  complaint verb makes it a complaint; "sao lâu vậy" in a question is not one.
- Feedback ticket numbers (``PA<yymmdd>-<số>``) typed in any case or spacing, and
  questions about a ticket already filed ("phiếu vừa rồi thế nào rồi").

Matching is on folded text (``common.text.fold_key``), with the Central
Vietnamese words citizens of Đà Nẵng type (``mô`` = đâu, ``chừ`` = giờ).
"""

from __future__ import annotations

import enum
import re

from common.feedback import VIOLATION_FACTS
from common.text import fold_key, nfc


class Followup(str, enum.Enum):
    """The facts a follow-up question asks about a dossier."""

    WHERE = "where"  # where / how the result is collected
    LATE = "late"  # is it late?
    WHEN = "when"  # when is the result due?
    WHY = "why"  # why refused, what is to be supplemented: the current step and what it means


# Checked in this order: "trễ hạn rồi, khi nào có kết quả" is about lateness (the answer gives the date too).
_FOLLOWUPS: dict[Followup, tuple[str, ...]] = {
    Followup.WHERE: (
        "nhan ket qua o", "lay ket qua o", "tra ket qua o", "nhan ket qua tai", "lay ket qua tai",
        "nhan o dau", "lay o dau", "nhan o mo", "lay o mo", "o dau nhan", "o dau lay", "cho nao nhan",
        "cho nao lay", "noi nhan ket qua", "noi tra ket qua", "nhan ket qua the nao", "nhan ket qua nhu the nao",
        "nhan ket qua bang cach nao", "lay ket qua the nao", "lay ket qua nhu the nao", "di dau nhan",
        "den dau nhan", "den dau lay", "ra dau lay", "ra dau nhan",
        # going to collect it: what to bring ("mai em lên lấy, cần mang theo gì")
        "len lay", "den lay", "toi lay", "mang theo gi", "mang theo nhung gi", "can mang gi", "mang gi theo",
        "where do i get", "where can i get", "where can i collect", "where do i collect", "pick up", "pick it up",
    ),
    Followup.LATE: (
        "tre han", "qua han", "tre hen", "qua hen", "lo hen", "bi tre", "bi cham", "cham roi", "tre roi",
        "dung han", "dung hen", "dung ngay hen", "kip han", "con han", "trong han", "tre", "tre may ngay",
        "tre bao nhieu ngay", "cham may ngay", "overdue", "late", "delayed",
        # "sao lâu rứa", "lâu quá vậy": a complaint about the wait, answered with where it stands
        "sao lau", "lau rua", "lau vay", "lau qua", "lau the", "lau ghe", "lau du vay",
        "lam cham", "cham tre", "cham qua", "cham vay", "cham the", "cham rua", "ai chiu trach nhiem",
    ),
    Followup.WHEN: (
        "khi nao co ket qua", "bao gio co ket qua", "khi mo co ket qua", "bao chu co ket qua", "chung nao co",
        "khi nao xong", "bao gio xong", "khi mo xong", "chung nao xong", "may ngay nua", "bao lau nua",
        "khi nao lay duoc", "bao gio lay duoc", "khi nao nhan duoc", "bao gio nhan duoc", "ngay nao co ket qua",
        "ngay nao tra", "ngay hen tra", "hen tra ngay nao", "hen ngay nao", "den khi nao", "toi khi nao",
        "bao gio co", "khi nao co", "khi mo co", "co ket qua chua", "xong chua", "co chua", "may gio thi lay",
        "may gio lay", "lay luc may gio",
        "when will", "when can i", "when do i", "how long", "how many days", "han tra", "ngay tra", "ngay hen",
        "due date", "hen tra",
    ),
    Followup.WHY: (
        "tai sao", "vi sao", "sao lai", "ly do", "vi ly do gi", "bo sung gi", "bo sung cai gi", "bo sung cai chi",
        "bo sung chi", "bo sung nhung gi", "thieu gi", "thieu cai gi", "thieu chi", "thieu giay gi", "can bo sung",
        "phai bo sung", "why", "what is missing", "what do i need to add",
        # who has it now, and what to do after a refusal: the current step and what the status means
        "ai dang xu ly", "ai xu ly", "ai giai quyet", "dang o buoc nao", "o buoc nao", "o khau nao", "phong nao",
        "lam lai", "nop lai", "lam sao bay gio", "gio phai lam sao", "gio lam sao", "phai lam gi", "lam gi bay gio",
        "gio lam gi", "bo sung o dau", "nop bo sung", "bo sung roi", "da bo sung", "bo sung the nao",
    ),
}
# "bao giờ mới xong", "chừng nào thì có kết quả": a when-question with words in between.
_WHEN_LOOSE = re.compile(r"(?<!\w)(?:khi nao|bao gio|bao chu|chung nao|khi mo|luc nao|hom nao|ngay nao|may ngay)"
                         r"(?: (?:thi|moi|se|co the|duoc|nua|la))* (?:xong|co ket qua|co|tra|lay|nhan|duyet|cap)(?!\w)")

# Words that make a message a complaint even when it names a dossier code.
_COMPLAINT_VERBS = (
    "phan anh", "khieu nai", "to cao", "to giac", "kien nghi", "gop y", "khieu kien", "bao cao vi pham",
    "muon phan anh", "gui phan anh",
)

# A question about a ticket already filed, without its number ("phiếu vừa rồi thế nào rồi").
_TICKET_MENTIONS = (
    "phieu phan anh", "phieu kien nghi", "phieu gop y", "phieu khieu nai", "phieu vua roi", "phieu vua gui",
    "phieu luc nay", "phieu hoi nay", "phieu hom truoc", "phieu hom qua", "phieu cua toi", "phieu cua em",
    "phieu cua minh", "phieu do", "phieu nay", "phieu no", "phan anh cua toi", "phan anh cua em",
    "phan anh cua minh", "phan anh vua roi", "phan anh vua gui", "phan anh hom truoc", "phan anh hom qua",
    "don phan anh", "kien nghi cua toi", "kien nghi cua em", "gop y cua toi", "gop y cua em",
    "da gui phan anh", "da phan anh", "da khieu nai", "da gui khieu nai", "da gui kien nghi", "da kien nghi",
    "da gui gop y", "da to cao", "da gui don", "phan anh truoc", "khieu nai truoc", "phan anh lan truoc",
    "phan anh roi", "khieu nai roi", "complained", "my complaint", "my ticket", "phieu cua tui", "phieu cua tau",
    "so phieu", "ma phieu", "phan anh cua tui",
)
_STATE_WORDS = (
    "the nao", "sao roi", "ra sao", "chua", "toi dau", "den dau", "xu ly", "tra loi", "giai quyet", "tinh trang",
    "rang roi", "co gi", "ket qua", "so may", "so bao nhieu", "la so may", "ma so", "la gi", "la bao nhieu",
)
TICKET_PATTERN = re.compile(r"(?<![0-9A-Za-z])PA\s*[-.]?\s*(?P<date>\d{6})\s*[-.\s]\s*(?P<serial>\d{1,6})(?!\d)",
                            re.IGNORECASE)


def _has(key: str, phrase: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", key) is not None


def _says(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether ``text``, folded, has one of ``phrases`` as whole words."""
    key = fold_key(text)
    return any(_has(key, p) for p in phrases)


# "giờ tôi phải làm sao", "vậy em nên làm gì đây": what to do now, the question ending there (not "phải làm
# sao để xin giấy phép"): the current step and what it means.
_WHAT_NOW = re.compile(r"(?<!\w)(?:phai|nen|can) lam (?:sao|gi|the nao|chi)(?: (?:bay gio|gio|day|a|ha|vay|ad|nhi|nua|"
                       r"rua|ri|z))*\W*$")


# "sao hồ sơ <mã> của tôi bị từ chối": a "sao" asking why, its verb further on.
_WHY_LOOSE = re.compile(r"(?<!\w)(?:sao|rang)(?!\w).*(?<!\w)(?:bi tu choi|tu choi|phai bo sung|bi tra ve|"
                        r"bi tra lai)(?!\w)")


def followup_of(text: str) -> Followup | None:
    """The dossier fact ``text`` asks about, if it is such a follow-up question."""
    key = fold_key(text)
    for kind, phrases in _FOLLOWUPS.items():
        if any(_has(key, p) for p in phrases) or (kind is Followup.WHEN and _WHEN_LOOSE.search(key)):
            return kind
    return Followup.WHY if _WHAT_NOW.search(key) or _WHY_LOOSE.search(key) else None


# "sao trễ vậy", "trễ rứa là răng": asking the reason of a delay, not whether there is one.
_REASON = ("tai sao", "vi sao", "sao lai", "sao tre", "sao cham", "sao lau", "rang tre", "rang cham", "rang lau",
           "la rang", "la sao", "ly do", "why", "how come")


def asks_reason(text: str) -> bool:
    """Whether a question about a delay asks why it happened ("sao trễ vậy"), not whether it did."""
    return _says(text, _REASON)


# "giấy phép có thời hạn mấy năm", "hiệu lực bao lâu": how long a licence stays valid, not how long
# the procedure takes ("thời hạn giải quyết").
_VALIDITY = ("may nam", "bao nhieu nam", "hieu luc", "co thoi han", "duoc bao lau", "dung duoc bao lau",
             "bao lau thi het han", "bao lau phai gia han", "het han sau", "how long is it valid", "valid for",
             "thoi han giay phep", "thoi han cua giay", "thoi han giay chung nhan", "het han khi nao",
             "khi nao het han", "co gia tri", "gia tri bao lau", "gia tri may nam", "su dung duoc bao lau",
             "co han bao lau", "han su dung", "han dung", "duoc may nam", "xai duoc bao lau", "xai duoc may nam",
             "bao lau het han", "may nam thi het han", "may nam phai gia han")
# The processing time asked beside the validity ("có thời hạn bao lâu, và xin mất mấy ngày").
_PROCESSING = ("mat may ngay", "may ngay", "bao nhieu ngay", "mat bao lau", "xu ly bao lau", "giai quyet bao lau",
               "thoi han giai quyet", "bao lau thi co", "bao lau thi xong", "bao lau moi co")


def asks_validity(text: str) -> bool:
    """Whether ``text`` asks how long a licence or certificate stays valid."""
    key = fold_key(text)
    return any(_has(key, p) for p in _VALIDITY) and not _has(key, "thoi han giai quyet")


def asks_processing_time(text: str) -> bool:
    """Whether ``text`` asks how long the procedure takes (also beside its validity)."""
    return _says(text, _PROCESSING)


# "giảm giá 70% có được không", "bán thế có vi phạm không": whether something is allowed, a rule's question
# (the knowledge base's), not how to do a procedure.
_PERMISSION = ("duoc khong", "co duoc", "duoc phep", "co vi pham", "vi pham khong", "co sao khong", "co bi phat",
               "bi phat khong", "trai phep", "hop phap khong", "dung luat khong", "sai luat khong", "is it allowed",
               "is it legal")


# "có đúng luật không", "giảm nhiều nhất bao nhiêu phần trăm": what the law allows or limits, whatever
# else the words touch ("bắt em nộp tiền": no fee of a procedure).
_LEGALITY = ("dung luat", "sai luat", "trai luat", "trai phep", "vi pham", "bi phat", "hop phap", "bi cam", "co cam",
             "toi da", "nhieu nhat", "toi thieu", "it nhat", "bao nhieu phan tram", "may phan tram")


def asks_legality(text: str) -> bool:
    """Whether ``text`` asks what the law allows, forbids or limits."""
    return _says(text, _LEGALITY)


def asks_permission(text: str) -> bool:
    """Whether ``text`` asks whether something is allowed (or punished)."""
    return _says(text, _PERMISSION)


# "căn cứ pháp lý", "theo nghị định nào": the legal basis of a procedure.
_LEGAL_BASIS = ("can cu", "co so phap ly", "theo quy dinh nao", "quy dinh o dau", "nghi dinh nao", "thong tu nao",
                "van ban nao", "luat nao", "dieu nao", "legal basis", "which decree", "which law")


def asks_legal_basis(text: str) -> bool:
    """Whether ``text`` asks which legal texts a procedure rests on."""
    return _says(text, _LEGAL_BASIS)


def is_explicit_complaint(text: str) -> bool:
    """True when ``text`` says it complains, petitions or reports (not merely asks, however upset)."""
    return _says(text, _COMPLAINT_VERBS)


def asks_about_ticket(text: str) -> bool:
    """True when ``text`` asks how a feedback ticket already filed is doing (with or without its number)."""
    if find_ticket_numbers(text):
        return True
    key = fold_key(text)
    return any(_has(key, m) for m in _TICKET_MENTIONS) and any(_has(key, w) for w in _STATE_WORDS)


def find_ticket_numbers(text: str) -> list[str]:
    """Feedback ticket numbers in ``text``, canonical (``PA261201-0003``), in order, without repeats."""
    numbers: list[str] = []
    for match in TICKET_PATTERN.finditer(nfc(text)):
        number = f"PA{match['date']}-{int(match['serial']):04d}"
        if number not in numbers:
            numbers.append(number)
    return numbers


# Leaving a form: "thôi không cần nữa", "hủy đi", "em đổi ý rồi", "để sau", "thoi khong can".
# "hủy" and "thôi" count only as typed with diacritics or at the start of the message
# (Huy, Thới are names people type into the same form).
_STOP_PHRASES = (
    "khong can", "doi y", "de sau", "de khi khac", "bo qua", "dung lai", "khoi can", "khoi di", "khong lam nua",
    "khong dang ky nua", "khong gui nua", "thoi khoi", "thoi bo", "huy di", "huy bo", "huy yeu cau", "tu len",
    "never mind", "cancel", "forget it", "stop",
)
_STOP_MARKED = re.compile(r"(?<!\w)(thôi|hủy|huỷ)(?!\w)", re.IGNORECASE)
_STOP_START = re.compile(r"^(?:(?:a |ua |vay |the )?thoi(?!\w)|huy$)")
MAX_STOP_WORDS = 12


def wants_to_stop(text: str) -> bool:
    """True when ``text`` leaves what the bot is asking for (a short change of mind, not an answer)."""
    plain = nfc(text or "").strip()
    if not plain or len(plain.split()) > MAX_STOP_WORDS:
        return False
    key = fold_key(plain)
    return (_STOP_MARKED.search(plain.lower()) is not None or _STOP_START.search(key) is not None
            or any(_has(key, p) for p in _STOP_PHRASES))


# A report of something wrong, told as a fact rather than asked about: a market violation (short
# measure, unstamped or smuggled goods, illegal refilling, selling to minors: the words that also
# file it as one, common.feedback) or nobody attending to a citizen.
_REPORT_CUES = (
    *VIOLATION_FACTS,
    "khong ai tiep", "khong ai giai quyet", "khong ai tra loi", "khong ai kiem tra",
    "khong ai thong bao", "khong ai huong dan", "doi tien", "vong vo", "hach dich", "sach nhieu", "nhung nhieu",
    "nobody answered", "nobody helped",
    # a seller's conduct told as a fact
    "chui khach", "noi tuc", "xuc pham khach", "chui boi", "danh khach", "doa khach", "lua khach",
)
# A question about how to complain, or about the rules, is not the complaint itself.
_HOW_TO = (
    "lam sao", "the nao", "nhu the nao", "ra sao", "o dau", "cho nao", "cach nao", "thu tuc", "can gi",
    "muon biet", "cho hoi", "xin hoi", "hoi ve", "how do", "how can", "how to", "where",
    # whom to send it to, and how long the answer takes: a question about complaining
    "o mo", "cho mo", "the mo", "lam rang", "khieu nai sao", "phan anh sao", "dieu kien gi", "dieu kien nao",
    "gui cho ai", "nop cho ai", "bao cho ai", "bao ai", "voi ai", "ai giai quyet", "ai xu ly", "mat bao lau",
    "bao lau thi", "bao lau moi", "who handles", "to whom",
)
_ASKS_RULE = ("bi phat", "phat bao nhieu", "muc phat", "bao nhieu", "co duoc khong", "duoc khong", "co sao khong",
              "co phai", "phai khong", "is it", "can i", "do i")
_LEAD_REPORT = re.compile(r"^(?:bao cao|bao tin|tin bao|report)\s*:")
# A grievance told about how one was treated: a complaint even when it ends on a question word ("bắt tôi
# về bổ sung 3 lần mà không nói rõ thiếu cái gì").
_GRIEVANCES = ("buc xuc", "cau gat", "cau kinh", "hach sach", "gay kho de", "lam kho de", "lam kho dan", "lam kho toi",
               "lam kho em", "lam kho minh", "lam kho nguoi", "lam kho cho", "thai do khong tot",  # not "làm kho"
               "thai do te", "thai do kem", "bat ve bo sung", "bat bo sung nhieu lan", "bat di lai nhieu lan",
               "bat cho doi", "to tieng", "quat thao")
MIN_REPORT_WORDS = 8


def _report_key(text: str) -> str:
    return fold_key(re.sub(r"[!?.,;]+(?=\s|$)", lambda m: " ? " if "?" in m.group(0) else " ", nfc(text or "")))


# "cần xin giấy gì bên sở ạ", "phải làm thủ tục nào", "mấy giờ đóng cửa": a question word not at the end.
_ASKS_WHAT = re.compile(r"(?<!\w)(?:(?:can|phai|xin|lam|nop|mang) (?:\w+ ){0,3}(?:gi|chi|nao|nhung gi)|may gio|"
                        r"o dau|cho nao|bao gio|khi nao)(?!\w)")


def is_question(text: str) -> bool:
    """True when ``text`` asks (how, where, how much, is it allowed...) rather than tells."""
    key = _report_key(text)
    return ("?" in key or any(_has(key, p) for p in _HOW_TO + _ASKS_RULE) or _ASKS_WHAT.search(key) is not None
            or re.search(r"(?<!\w)(khong|ko|hong|hok|k|gi|nao|chua) *$", key) is not None)


def is_report(text: str) -> bool:
    """True when ``text`` tells a complaint with its substance, whatever the classifier read.

    An explicit verb ("khiếu nại, hồ sơ của tôi quá hạn 2 tuần...", "tố giác tiệm vàng cân
    thiếu") or a violation told as a fact ("cây xăng bơm thiếu, đồng hồ chạy không đúng"), in at
    least ``MIN_REPORT_WORDS`` words; not a question how to complain or what the rule is.
    """
    key = _report_key(text)
    if len(key.split()) < MIN_REPORT_WORDS or any(_has(key, p) for p in _HOW_TO) or asks_about_ticket(text):
        return False
    if is_explicit_complaint(text) or _LEAD_REPORT.match(fold_key(text)) or any(_has(key, g) for g in _GRIEVANCES):
        return True
    if is_question(text):
        return False
    return any(_has(key, cue) for cue in _REPORT_CUES)


# "em không nhớ mã", "quên mã hồ sơ rồi", "mất giấy tiếp nhận": a lookup that cannot give its code.
_FORGOT_CODE = ("khong nho ma", "ko nho ma", "k nho ma", "quen ma", "mat ma", "khong biet ma", "ko biet ma",
                "khong co ma", "ko co ma", "mat giay tiep nhan", "mat phieu hen", "quen mat ma", "forgot my code",
                "lost my code", "don't have the code", "dont have the code", "khong nho so ho so", "quen so ho so")


def forgot_the_code(text: str) -> bool:
    """Whether ``text`` says the citizen has no dossier code to give (forgotten, lost)."""
    return _says(text, _FORGOT_CODE)
