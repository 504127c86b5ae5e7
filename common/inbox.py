"""The NLU inbox: what the assistant did not understand well, for staff to review.

The NLU pipeline's last component (``vn_nlu.components.InboxRecorder``) adds a
message here when its top intent is below a confidence threshold or it fell
back; the staff console lists them (text masked), and each is confirmed with
an intent, or discarded. Confirmed examples go to a Rasa NLU file per review
batch (``nlu_data/nlu/inbox_<date>.yml``), skipping any that folds to an
example already in the training data.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from common import stats
from common.codes import CODE_PATTERN
from common.feedback import Category, classify
from common.privacy import anonymize, redact
from common.text import as_str, fold_key

STREAM = "nlu:inbox"
MAX_ITEMS = 10_000  # the stream is capped: the oldest unreviewed messages go first
RETENTION_DAYS = 30  # and nothing in it is older than this, reviewed or not


_PAYLOAD = re.compile(r"^/(\w+)")
LAST_PARSE = "nlu:last:{}"  # the last message of a sender, for a later "unhelpful" mark
LAST_PARSE_TTL_S = 3600
REASONS = {"low_confidence": "độ tin cậy thấp", "fallback": "không hiểu", "unhelpful": "người dân báo chưa hữu ích",
           "staff": "cán bộ gửi từ cuộc trò chuyện"}


@dataclass(frozen=True)
class InboxItem:
    id: str
    text: str
    channel: str
    at: str
    intent: str
    confidence: float
    reason: str = "low_confidence"

    @property
    def masked(self) -> str:
        """The text as staff see it: phone, ID numbers and dossier codes hidden."""
        return CODE_PATTERN.sub("<MÃ HỒ SƠ>", redact(self.text))


def record_fields(text: str, sender: str, intent: str, confidence: float, at: dt.datetime,
                  reason: str = "low_confidence") -> dict[str, str]:
    # Phone and ID numbers never reach Redis: numbers of the same shape stand in for them
    # (staff see them masked; a confirmed example reads like a citizen's).
    return {"text": anonymize(text), "channel": sender.split(":", 1)[0], "at": at.isoformat(timespec="seconds"),
            "intent": intent, "confidence": f"{confidence:.3f}", "reason": reason}


def _item(entry_id: Any, fields: dict) -> InboxItem:
    f = {as_str(k): as_str(v) for k, v in fields.items()}
    return InboxItem(as_str(entry_id), f["text"], f["channel"], f["at"], f["intent"], float(f["confidence"]),
                     f.get("reason", "low_confidence"))


def note_parse(client: Any, text: str, sender: str, intent: str, confidence: float, threshold: float,
               at: dt.datetime) -> None:
    """What the NLU pipeline keeps of a citizen's message (synchronous client): the intent
    counted for the dashboard, the message in the inbox when barely understood, and the
    message kept an hour in case its sender marks the answer unhelpful. A button press
    (``/intent{...}``: Rasa takes the intent from the payload, not from the pipeline) only
    counts the payload's intent."""
    payload = _PAYLOAD.match(text)
    if payload:
        stats.queue(client.pipeline(transaction=False), [stats.Count(stats.INTENTS, payload[1])], at.date()).execute()
        return
    low = intent == "nlu_fallback" or confidence < threshold
    fields = record_fields(text, sender, intent, confidence, at, "fallback" if intent == "nlu_fallback"
                           else "low_confidence")
    entry = client.xadd(STREAM, fields, maxlen=MAX_ITEMS, approximate=True) if low else None
    pipe = client.pipeline(transaction=False)
    if low:
        oldest = int((at - dt.timedelta(days=RETENTION_DAYS)).timestamp() * 1000)
        pipe.xtrim(STREAM, minid=str(oldest), approximate=True)
    pipe.set(LAST_PARSE.format(sender), json.dumps({**fields, "entry": as_str(entry) if entry else ""}),
             ex=LAST_PARSE_TTL_S)
    stats.queue(pipe, [stats.Count(stats.INTENTS, intent)], at.date()).execute()


async def mark_unhelpful(client: Any, sender: str) -> bool:
    """A citizen says the answer to their last message did not help: that message goes to
    the inbox marked so (replacing its entry if it was already there unreviewed; once).
    False when there is no recent message of theirs."""
    raw = await client.getdel(LAST_PARSE.format(sender))
    if raw is None:
        return False
    fields = json.loads(raw)
    entry = fields.pop("entry", "")
    if not entry or await client.xdel(STREAM, entry):  # an entry staff already reviewed stays reviewed
        await client.xadd(STREAM, {**fields, "reason": "unhelpful"}, maxlen=MAX_ITEMS, approximate=True)
    return True


async def items(redis: Any, count: int = 100) -> list[InboxItem]:
    """The oldest unreviewed messages first."""
    rows = await redis.xrange(STREAM, count=count)
    return [_item(entry_id, fields) for entry_id, fields in rows]


async def peek(redis: Any, entry_id: str) -> InboxItem | None:
    """One unreviewed item, left in the inbox (None when it is not there any more)."""
    rows = await redis.xrange(STREAM, min=entry_id, max=entry_id)
    return _item(*rows[0]) if rows else None


async def take(redis: Any, entry_id: str) -> InboxItem | None:
    """Remove one item and return it (None when another reviewer took it first)."""
    rows = await redis.xrange(STREAM, min=entry_id, max=entry_id)
    if not rows or not await redis.xdel(STREAM, entry_id):
        return None
    return _item(*rows[0])


async def restore(redis: Any, item: InboxItem) -> str:
    """Put back an item taken by mistake (e.g. its review was invalid), as a new entry; its id."""
    fields = record_fields(item.text, item.channel, item.intent, item.confidence,
                           dt.datetime.fromisoformat(item.at), item.reason)
    return as_str(await redis.xadd(STREAM, fields, maxlen=MAX_ITEMS, approximate=True))


# Complaints name officials: their texts reach the training data only rewritten without the names.
COMPLAINT_INTENTS = frozenset({"phan_anh_kien_nghi"})
NEEDS_ANONYMISING = ("Đây là phản ánh, kiến nghị: chỉ đưa vào dữ liệu huấn luyện khi đã ẩn danh. Anh/chị vui lòng "
                     "viết lại câu vào ô “Câu đã ẩn danh”, bỏ tên người, chức vụ, nơi làm việc cụ thể.")
NOT_REWRITTEN = "Câu đã ẩn danh vẫn giống hệt câu gốc; anh/chị vui lòng bỏ tên người bị phản ánh."
NAMES_LEFT = "Câu đã ẩn danh vẫn còn tên: {names}. Anh/chị vui lòng thay bằng cách gọi chung (ví dụ “cán bộ”)."
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SENTENCE_END = ".!?…\n"
NOT_NAMES = frozenset({"Sở", "Công", "Thương", "UBND", "Ủy", "Ban", "Nhân", "Dân", "Tôi", "Em", "Anh", "Chị"})


def is_complaint(intent: str, text: str, predicted: str = "") -> bool:
    """A complaint or feedback: the intent chosen (or predicted) says so, or the text is about officials."""
    return intent in COMPLAINT_INTENTS or predicted in COMPLAINT_INTENTS or classify(text) is Category.CAN_BO


def name_runs(text: str) -> list[str]:
    """Runs of capitalised words that do not begin a sentence (how a citizen writes a person's
    name: "cán bộ Trần Văn B"), a few institution words aside."""
    runs: list[str] = []
    current: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group()
        before = text[:match.start()].rstrip()
        starts_sentence = not before or before[-1] in _SENTENCE_END
        if word[0].isupper() and not starts_sentence and word not in NOT_NAMES:
            current.append(word)
            continue
        if current:
            runs.append(" ".join(current))
        current = []
    if current:
        runs.append(" ".join(current))
    return runs


def training_text(item: InboxItem, intent: str, anonymised: str = "") -> tuple[str, bool]:
    """What confirming ``item`` as ``intent`` adds to the training data, and whether it is a
    complaint staff rewrote without names (then ``anonymised`` is the text).

    Raises:
        ValueError: a complaint without a rewritten text, rewritten identically, or with a name
            of the original left in it (the message is for staff).
    """
    if not is_complaint(intent, item.text, item.intent):
        return item.text, False
    rewritten = " ".join(anonymised.split())
    if not rewritten:
        raise ValueError(NEEDS_ANONYMISING)
    if fold_key(rewritten) == fold_key(" ".join(item.text.split())):
        raise ValueError(NOT_REWRITTEN)
    folded = f" {fold_key(' '.join(_WORD.findall(rewritten)))} "
    # The whole name, or the given name alone ("cán bộ Tuấn"): its last word.
    left = [run for run in name_runs(item.text)
            if f" {fold_key(run)} " in folded or (len(last := run.split()[-1]) > 1 and f" {fold_key(last)} " in folded)]
    if left:
        raise ValueError(NAMES_LEFT.format(names=", ".join(f"“{run}”" for run in left)))
    return rewritten, True


def known_examples(nlu_dir: Path) -> set[str]:
    """Every training example of ``nlu_dir``, folded, annotations removed."""
    known = set()
    for path in nlu_dir.glob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    known.add(fold_key(re.sub(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})", r"\1", line[2:])))
    return known


def annotate(text: str, entities: list[tuple[str, str]]) -> str:
    """``text`` with each (value, entity) marked the Rasa way: ``[value](entity)``.

    Raises:
        ValueError: a value is not in the text, or overlaps another one (message for staff).
    """
    spans = []
    for value, entity in entities:
        value = value.strip()
        start = text.find(value) if value else -1
        if start < 0:
            raise ValueError(f"Không thấy “{value}” trong câu.")
        if any(start < end and s < start + len(value) for s, end, _ in spans):
            raise ValueError(f"“{value}” trùng với một thực thể khác.")
        spans.append((start, start + len(value), entity))
    for start, end, entity in sorted(spans, reverse=True):
        text = f"{text[:start]}[{text[start:end]}]({entity}){text[end:]}"
    return text


def add_example(nlu_dir: Path, intent: str, text: str, day: dt.date,
                entities: list[tuple[str, str]] | None = None, anonymised: bool = False) -> Path | None:
    """Append a confirmed example (entities marked) to the batch file of ``day``; None when it
    is already known. Phone and ID numbers are replaced (:func:`common.privacy.anonymize`).
    A complaint is written only when staff rewrote it without names (``anonymised``, see
    :func:`training_text`). Raises ValueError when an entity value is not in the text, or for a
    complaint not anonymised."""
    if not anonymised and is_complaint(intent, text):
        raise ValueError(NEEDS_ANONYMISING)
    text = " ".join(anonymize(text).split())
    if not text or fold_key(text) in known_examples(nlu_dir):
        return None
    text = annotate(text, entities or [])
    path = nlu_dir / f"inbox_{day:%Y%m%d}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    data = data or {"version": "3.1", "nlu": []}
    block = next((b for b in data["nlu"] if b.get("intent") == intent), None)
    if block is None:
        block = {"intent": intent, "examples": ""}
        data["nlu"].append(block)
    block["examples"] = str(block["examples"]) + f"- {text}\n"
    header = "# Examples confirmed by staff in the NLU inbox (staff console), one file per review day.\n"
    body = yaml.dump(data, Dumper=_LiteralDumper, allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(header + body, encoding="utf-8")
    return path


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, the way Rasa's files are written by hand."""


def _literal(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _literal)
