"""The content staff edit in the console, as the same readable YAML files the repository keeps.

- **Round trip.** Files are read and written with ruamel.yaml's round-trip mode, so
  comments, key order, flow lists (``[a, b]``) and folded answers (``>-``) stay as
  they were; only the values edited change (a reviewer reads a small diff).
- **Versions.** A file's version is the digest of its bytes. An edit names the
  version its page was opened on; if the file changed since (another editor, a
  deploy), the edit is refused (:class:`StaleEdit`), nothing is written.
- **Atomic writes.** The new text is checked by the loader the bot uses, written to
  a temporary file in the same directory and swapped in with ``os.replace``, under
  an exclusive lock on the directory (one editor at a time, across processes).
- **Audit.** Every saved edit is recorded: who, when, which file and entry, the
  entry before and after (:class:`AuditLog`, SQLite next to the staff accounts).
- **Validation.** Pure functions turn a form into the entry's new fields, or raise
  :class:`ContentError` with every problem in Vietnamese for the editor.

Every function here blocks (files, SQLite): the console calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import re
import string
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

from common.sqlite import SqliteFile
from common.text import fold_key, nfc

STALE = ("Nội dung này đã được thay đổi (bởi cán bộ khác hoặc bản cập nhật) sau khi anh/chị mở trang. "
         "Không có gì được lưu: anh/chị vui lòng tải lại trang để xem bản mới rồi sửa lại.")
FOLD_WIDTH = 116  # where a new folded answer (``>-``) wraps, as the data files are written


class ContentError(ValueError):
    """An edit refused; ``problems`` are for the editor (Vietnamese)."""

    def __init__(self, *problems: str) -> None:
        super().__init__(" ".join(problems))
        self.problems = list(problems)


class StaleEdit(ContentError):
    """The file changed since the editor's page was opened."""

    def __init__(self) -> None:
        super().__init__(STALE)


def version_of(data: bytes) -> str:
    """A file's version: the digest of its bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # long lines stay on one line, as they were written
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_text(text: str) -> Any:
    """The round-trip data of a YAML text (comments and order kept)."""
    return _yaml().load(text)


def dump_text(data: Any, like: str) -> str:
    """``data`` as YAML written like the text ``like`` was: a top-level list whose items start
    at the first column (``- id: ...``) stays so, with the nested lists indented as before."""
    out = io.StringIO()
    _yaml().dump(data, out)
    text = out.getvalue()
    if isinstance(data, list) and re.search(r"^- ", like, re.MULTILINE):
        text = "".join(line[2:] if line.startswith("  ") else line for line in text.splitlines(keepends=True))
    return text


def plain(value: Any) -> Any:
    """Round-trip data as plain JSON-able values (dates as ISO text), for the audit and previews."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on ``directory`` (every process that edits files in it takes it)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path`` and swap it in (readers see old or new, never half)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Snapshot:
    """A file as read: its round-trip data and its version."""

    data: Any
    version: str


def read(path: Path) -> Snapshot:
    """Read a data file (``ContentError`` if it is missing)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ContentError(f"Không tìm thấy tệp nội dung {path.name}.") from exc
    return Snapshot(load_text(raw.decode("utf-8")), version_of(raw))


@dataclass(frozen=True)
class Saved:
    """An edit written: the entry before (None: added) and after, and the file's new version."""

    before: Any
    after: Any
    version: str


def edit(path: Path, version: str | None, change: Callable[[Any], tuple[Any, Any]],
         check: Callable[[str], None], lock_dir: Path | None = None) -> Saved:
    """Apply ``change`` to the file's data and write it back, if the file is still at ``version``.

    Args:
        path: the data file.
        version: the version the editor's page showed; None: no stale check (an addition).
        change: edits the round-trip data in place, returns the entry before and after (plain values).
        check: raises ``ContentError`` when the new text would not load as the bot loads it.
        lock_dir: the directory to lock (default the file's; the knowledge base locks its whole directory).

    Raises:
        StaleEdit: the file changed since ``version``.
        ContentError: ``change`` or ``check`` refused the edit.
    """
    with _locked(lock_dir or path.parent):
        raw = path.read_bytes()
        if version is not None and version_of(raw) != version:
            raise StaleEdit()
        original = raw.decode("utf-8")
        data = load_text(original)
        before, after = change(data)
        text = dump_text(data, original)
        check(text)
        write_atomically(path, text)
        return Saved(before, after, version_of(text.encode("utf-8")))


def styled_like(old: Any, new: str) -> Any:
    """``new`` in the scalar style of ``old``: a folded answer stays folded (wrapped as the files are)."""
    if isinstance(old, FoldedScalarString):
        return folded(new)
    if isinstance(old, LiteralScalarString) or "\n" in new:
        return LiteralScalarString(new)
    return new


def folded(text: str) -> FoldedScalarString:
    """``text`` as a folded block (``>-``), wrapped at :data:`FOLD_WIDTH` as the data files are written."""
    scalar = FoldedScalarString(text)
    scalar.fold_pos = _fold_positions(text)  # type: ignore[attr-defined]
    return scalar


def _fold_positions(text: str, width: int = FOLD_WIDTH) -> list[int]:
    """Spaces where a folded scalar wraps so that no line is longer than ``width``."""
    positions: list[int] = []
    start, last_space = 0, -1
    for i, char in enumerate(text):
        if char == " " and text[i - 1 : i] != " " and text[i + 1 : i + 2] not in (" ", ""):
            if i - start > width and last_space > start:
                positions.append(last_space)
                start = last_space + 1
            last_space = i
    if len(text) - start > width and last_space > start:
        positions.append(last_space)
    return positions


# -- The audit trail ---------------------------------------------------------------------------------

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS content_edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    file TEXT NOT NULL,
    entry TEXT NOT NULL,
    before TEXT,
    after TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS content_edits_by_entry ON content_edits (file, entry);
"""


@dataclass(frozen=True)
class AuditRecord:
    """One saved edit."""

    id: int
    at: dt.datetime
    username: str
    file: str
    entry: str
    before: Any  # None: the entry was added
    after: Any

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) of each field that changed, in the entry's order."""
        before = self.before if isinstance(self.before, dict) else {}
        after = self.after if isinstance(self.after, dict) else {}
        if not isinstance(self.after, dict):
            return [] if self.before == self.after else [("", self.before, self.after)]
        keys = list(after) + [k for k in before if k not in after]
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


class AuditLog:
    """Content edits in SQLite (a small file next to the staff accounts); no I/O until first used."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = SqliteFile(path, AUDIT_SCHEMA)

    @classmethod
    def next_to(cls, staff_db_path: str | Path) -> AuditLog:
        """The audit file in the staff accounts' directory."""
        return cls(Path(staff_db_path).with_name("content_audit.sqlite3"))


    def record(self, at: dt.datetime, username: str, file: str, entry: str, before: Any, after: Any) -> int:
        """Record one saved edit; returns its number."""
        with closing(self._db.connect()) as conn, conn:
            cursor = conn.execute(
                "INSERT INTO content_edits (at, username, file, entry, before, after) VALUES (?, ?, ?, ?, ?, ?)",
                (at.isoformat(), username, file, entry,
                 None if before is None else json.dumps(plain(before), ensure_ascii=False),
                 json.dumps(plain(after), ensure_ascii=False)))
            return int(cursor.lastrowid or 0)

    def recent(self, limit: int = 100, file: str = "", entry: str = "") -> list[AuditRecord]:
        """The latest edits, newest first (of one file and entry when given)."""
        query, params = "SELECT * FROM content_edits", []
        if file:
            query += " WHERE file = ? AND entry = ?"
            params += [file, entry]
        with closing(self._db.connect()) as conn:
            rows = conn.execute(query + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        return [AuditRecord(r["id"], dt.datetime.fromisoformat(r["at"]), r["username"], r["file"], r["entry"],
                            None if r["before"] is None else json.loads(r["before"]), json.loads(r["after"]))
                for r in rows]


# -- Validation: form fields -> new values (pure) ----------------------------------------------------------

_AMOUNT = re.compile(r"^(\d{1,3}(?:[. ]\d{3})+|\d{1,15})\s*(?:đồng|đ|vnđ|vnd)?$", re.IGNORECASE | re.ASCII)
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_ID = re.compile(r"^[a-z][a-z0-9_]{2,60}$")
MAX_FIELD = 4000


def text_field(form: Mapping[str, Any], name: str, label: str, problems: list[str], required: bool = True) -> str:
    """A one-block text field, NFC, spaces collapsed; a problem added when required and empty."""
    value = nfc(" ".join(str(form.get(name, "")).split()))
    if required and not value:
        problems.append(f"Cần nhập {label}.")
    elif len(value) > MAX_FIELD:
        problems.append(f"{label[:1].upper()}{label[1:]} dài quá {MAX_FIELD} ký tự.")
    return value


def lines_field(form: Mapping[str, Any], name: str) -> list[str]:
    """A textarea of one item per line (empty lines and list dashes dropped)."""
    lines = (nfc(line.strip().lstrip("-•").strip()) for line in str(form.get(name, "")).splitlines())
    return [" ".join(line.split()) for line in lines if line]


def amount_in_dong(value: str) -> int | None:
    """An amount of đồng as typed (``2.200.000``, ``2 200 000 đồng``, ``1200000``); None if it is not one."""
    match = _AMOUNT.match(value.strip())
    return int(re.sub(r"\D", "", match.group(1))) if match else None


def dong(amount: int) -> str:
    """``2200000`` -> ``2.200.000`` (how fees are written)."""
    return f"{amount:,}".replace(",", ".")


def whole_number(value: str, low: int, high: int) -> int | None:
    """A whole number in [low, high] as typed; None otherwise."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and low <= int(value) <= high else None


def procedure_fields(form: Mapping[str, Any], own: bool = True) -> dict[str, Any]:
    """The editable fields of a catalog entry (data-file keys) from a form.

    ``own``: the department decides the procedure (documents, fee, time and submission are required).

    Raises:
        ContentError: every problem found, in Vietnamese.
    """
    problems: list[str] = []
    documents = lines_field(form, "giay_to")
    if own and not documents:
        problems.append("Cần ít nhất một giấy tờ trong thành phần hồ sơ (mỗi giấy tờ một dòng).")
    copies = whole_number(str(form.get("so_bo", "")), 1, 20)
    if copies is None:
        problems.append("Số bộ hồ sơ phải là số nguyên từ 1 đến 20.")
    fee = text_field(form, "le_phi", "lệ phí (như công bố)", problems, own)
    typed_amount = str(form.get("le_phi_vnd", "")).strip()
    amount = amount_in_dong(typed_amount) if typed_amount else None
    if typed_amount and amount is None:
        problems.append("Số tiền lệ phí phải là một số tiền bằng đồng, ví dụ 2.200.000 (để trống nếu chưa xác định).")
    elif amount and fee and dong(amount) not in fee:
        problems.append(f"Phần mô tả lệ phí không có số tiền {dong(amount)} đồng: anh/chị sửa cho hai ô khớp nhau.")
    elif amount == 0 and re.search(r"\d{1,3}(?:\.\d{3})+ ?đồng", fee):
        problems.append("Số tiền lệ phí là 0 (không thu) nhưng phần mô tả lại ghi một số tiền.")
    time_text = text_field(form, "thoi_han", "thời hạn giải quyết (như công bố)", problems, own)
    days = whole_number(str(form.get("thoi_han_ngay", "")), 0, 365)
    if days is None:
        problems.append("Thời hạn giải quyết phải là số ngày làm việc, số nguyên từ 0 đến 365.")
    validity = str(form.get("hieu_luc", "")).strip()  # optional: absent means "not stated"
    if len(validity) > 300:
        problems.append("Thời hạn hiệu lực của giấy tờ được cấp dài quá 300 ký tự.")
    submission = text_field(form, "cach_nop", "nơi và cách nộp hồ sơ", problems, own)
    legal_basis = text_field(form, "can_cu", "căn cứ pháp lý", problems, own)
    if legal_basis and not re.search(r"\d", legal_basis):
        problems.append("Căn cứ pháp lý cần nêu số hiệu văn bản (ví dụ: Nghị định 105/2017/NĐ-CP).")
    if problems:
        raise ContentError(*problems)
    fields: dict[str, Any] = {"giay_to": documents, "so_bo": copies, "le_phi": fee, "le_phi_vnd": amount,
                              "thoi_han": time_text, "thoi_han_ngay": days, "hieu_luc": validity,
                              "cach_nop": submission,
                              "can_cu": legal_basis}
    return fields


def set_fields(entry: CommentedMap, fields: Mapping[str, Any]) -> None:
    """Set ``fields`` on a round-trip mapping: existing keys keep their place and style, new ones go
    last; an empty value (None, "", []) removes the key (the loaders read an absent key as empty)."""
    for key, value in fields.items():
        old = entry.get(key)
        if value is None or value == "" or value == []:
            entry.pop(key, None)
            continue
        if isinstance(value, list):
            seq = CommentedSeq(value)
            if isinstance(old, CommentedSeq) and old.fa.flow_style():
                seq.fa.set_flow_style()
            value = seq
        elif isinstance(value, str):
            value = styled_like(old, value)
        entry[key] = value


_PLACEHOLDER_HINT = "{tên}"


def placeholders(text: str) -> set[str] | None:
    """The ``{name}`` placeholders of a text; None when its braces do not parse."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


def check_placeholders(old: str, new: str, problems: list[str]) -> None:
    """A reply text keeps exactly the placeholders it had (the code fills them in)."""
    found = placeholders(new)
    if found is None:
        problems.append(f"Dấu ngoặc nhọn không khớp: chỗ điền dữ liệu viết dạng {_PLACEHOLDER_HINT}; "
                        "muốn in dấu ngoặc thì viết hai lần: {{ }}.")
        return
    wanted = placeholders(old) or set()
    missing, extra = sorted(wanted - found), sorted(found - wanted)
    if missing:
        problems.append("Thiếu chỗ điền dữ liệu: " + ", ".join(f"{{{m}}}" for m in missing) + ".")
    if extra:
        problems.append("Chỗ điền dữ liệu không có trong bản gốc: " + ", ".join(f"{{{e}}}" for e in extra) + ".")


def qa_fields(form: Mapping[str, Any], known_procedures: set[str], today: dt.date) -> dict[str, Any]:
    """The fields of a policy Q&A entry (data-file keys) from a form.

    Raises:
        ContentError: every problem found, in Vietnamese.
    """
    problems: list[str] = []
    question = text_field(form, "question", "câu hỏi", problems)
    alternatives = lines_field(form, "alternatives")
    if not alternatives:
        problems.append("Cần ít nhất một cách hỏi khác (mỗi cách một dòng).")
    answer = text_field(form, "answer", "câu trả lời", problems)
    if answer and len(answer) < 40:
        problems.append("Câu trả lời quá ngắn (ít nhất 40 ký tự).")
    found = placeholders(answer)
    if answer and (found is None or found - {"hotline"}):
        problems.append("Câu trả lời chỉ được dùng chỗ điền {hotline} (số đường dây nóng); "
                        "dấu ngoặc nhọn khác không được dùng.")
    legal_basis = text_field(form, "legal_basis", "căn cứ pháp lý", problems)
    if legal_basis and not re.search(r"\d", legal_basis):
        problems.append("Căn cứ pháp lý cần nêu số hiệu văn bản và điều khoản "
                        "(ví dụ: Nghị định 81/2018/NĐ-CP, Điều 6).")
    reviewed = _date(str(form.get("reviewed", "")))
    if reviewed is None:
        problems.append("Ngày rà soát phải là một ngày (ngày/tháng/năm, ví dụ 01/12/2026).")
    elif reviewed > today:
        problems.append("Ngày rà soát không được sau hôm nay.")
    procedures = [p for p in str(form.get("procedures", "")).replace(",", " ").split() if p]
    strangers = [p for p in procedures if p not in known_procedures]
    if strangers:
        problems.append("Không có thủ tục mã " + ", ".join(strangers) + " trong danh mục.")
    if problems:
        raise ContentError(*problems)
    return {"question": question, "alternatives": alternatives, "answer": answer, "legal_basis": legal_basis,
            "reviewed": reviewed, "review_needed": True if form.get("review_needed") else None,
            "procedures": procedures or None}


def new_entry_id(form: Mapping[str, Any], taken: set[str]) -> str:
    """The id of a new Q&A entry: ASCII snake case, unique across the knowledge base.

    Raises:
        ContentError: the id is malformed or taken.
    """
    entry_id = str(form.get("id", "")).strip()
    if not _ID.match(entry_id):
        raise ContentError("Mã câu hỏi gồm 3-61 ký tự: chữ thường không dấu, số và dấu gạch dưới, "
                           "bắt đầu bằng chữ (ví dụ: km_gioi_han_giam_gia).")
    if entry_id in taken:
        raise ContentError(f"Mã {entry_id} đã có; anh/chị chọn mã khác.")
    return entry_id


def _date(value: str) -> dt.date | None:
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def text_value(form: Mapping[str, Any], old: str) -> str:
    """A reply text from a form: kept as typed (lines too), its placeholders as the original's.

    Raises:
        ContentError: empty, or placeholders changed.
    """
    value = nfc(str(form.get("value", "")).replace("\r\n", "\n")).strip()
    problems: list[str] = []
    if not value:
        problems.append("Nội dung không được để trống.")
    else:
        check_placeholders(old, value, problems)
    if problems:
        raise ContentError(*problems)
    return value


# -- Mapping files of texts (dotted keys) -------------------------------------------------------------------

def flatten(mapping: Any, prefix: str = "") -> dict[str, str]:
    """The string leaves of a nested mapping by dotted key (``greeting.web``), in file order."""
    found: dict[str, str] = {}
    if isinstance(mapping, Mapping):
        for key, value in mapping.items():
            dotted = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, str):
                found[dotted] = str(value)
            elif isinstance(value, Mapping):
                found.update(flatten(value, dotted))
    return found


def set_dotted(mapping: Any, dotted: str, value: str) -> str:
    """Replace the string leaf that :func:`flatten` calls ``dotted``; returns the old value.

    Raises:
        KeyError: no such leaf.
    """
    for key, child in (mapping.items() if isinstance(mapping, Mapping) else ()):
        if isinstance(child, str) and str(key) == dotted:
            mapping[key] = styled_like(child, value)
            return str(child)
        if isinstance(child, Mapping) and dotted.startswith(f"{key}."):
            try:
                return set_dotted(child, dotted[len(str(key)) + 1 :], value)
            except KeyError:
                continue
    raise KeyError(dotted)


def search_key(*texts: str) -> str:
    """What a list's search compares: the texts folded (with or without diacritics)."""
    return " ".join(fold_key(t) for t in texts)
