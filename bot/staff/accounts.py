"""Staff accounts: bcrypt-hashed passwords, three roles, and sign-in failures
counted per (account, client address) and per client address.

Accounts are created by ``python -m bot.staff create-user`` (there is no
default account and no default password) or by an admin in the console, who
also disables and re-enables them (never the last active admin) and sets a new
password for another account; each staff member changes their own, the current
one asked. Every such change is audited (who, whom, when; never a password).

Failed sign-ins (issue 15, M4):

- a name locks *for one client address* after ``max_failures`` failures from
  that address within ``lock_minutes``: an attacker elsewhere cannot lock the
  admin out of their own desk;
- an address that fails ``address_max_failures`` times within ``lock_minutes``,
  whatever the names it tries, is refused before any password check, so its
  attempts cost no bcrypt time and it cannot walk through many names;
- an unknown name, a wrong password and a locked name cost the same work (one
  bcrypt check, the same SQLite reads and writes) and the caller gives them the
  same answer: the sign-in page tells nobody which names exist or are locked.

Names are stored in the failure table as digests (a password typed into the
name field is not kept in clear). Every method blocks (bcrypt, SQLite): the
console calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from common.sqlite import SqliteFile

MIN_PASSWORD = 12
MAX_PASSWORD_BYTES = 72  # bcrypt ignores what follows
_USERNAME = re.compile(r"^[a-z0-9._-]{3,32}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sign_in_failures (
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    since TEXT NOT NULL,
    locked_until TEXT,
    PRIMARY KEY (name, address)
);
CREATE INDEX IF NOT EXISTS sign_in_failures_by_address ON sign_in_failures (address);
CREATE TABLE IF NOT EXISTS staff_disabled (
    username TEXT PRIMARY KEY,
    since TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS staff_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
);
"""
# What the audit records (never a password): the action's code and how the console reads it.
AUDITED = {"created": "tạo tài khoản", "disabled": "khóa tài khoản", "enabled": "mở khóa tài khoản",
           "password_reset": "đặt lại mật khẩu", "password_changed": "tự đổi mật khẩu"}
# A hash of nothing anyone knows, at the cost of real ones (bcrypt.gensalt()'s 12 rounds): an unknown
# name is checked against it so that it takes as long as a known one.
_DUMMY_HASH = b"$2b$12$SISnkLK0mLYHE1xtouMFguRlUMaYbHZj9parN.TLbP/PTWIAncmfO"
# One failure more for (name, address); a window that has passed (and no lock running) starts again.
_COUNT_FAILURE = """
INSERT INTO sign_in_failures (name, address, failures, since) VALUES (:name, :address, 1, :now)
ON CONFLICT (name, address) DO UPDATE SET
    failures = CASE WHEN :fresh THEN 1 ELSE failures + 1 END,
    locked_until = CASE WHEN :fresh THEN NULL ELSE locked_until END,
    since = CASE WHEN :fresh THEN :now ELSE since END
"""
_FRESH = "(since <= :window AND (locked_until IS NULL OR locked_until <= :now))"


class Role(str, enum.Enum):
    """What a staff member may do; each role may do all that the roles before it may."""

    ANNOTATOR = "annotator"  # reviews the inbox, retrains, compares
    EDITOR = "editor"  # also edits the content: catalog, policy Q&A, reply texts
    ADMIN = "admin"  # also promotes models and manages accounts

    def may(self, role: Role) -> bool:
        """Whether this role may do what ``role`` may."""
        order = list(Role)
        return order.index(self) >= order.index(role)


class AccountError(ValueError):
    """A refused account operation; the message is for the staff member (Vietnamese)."""


class NoSuchAccount(AccountError):
    """The account named does not exist."""


@dataclass(frozen=True)
class Staff:
    username: str
    role: Role


class SignIn(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown name or wrong password
    LOCKED = "locked"  # too many failures for this name from this address
    THROTTLED = "throttled"  # too many failures from this address, whatever the names
    DISABLED = "disabled"  # the right password of an account an admin disabled (told only to who knows it)


@dataclass(frozen=True)
class Account:
    """An account as the accounts page lists it."""

    username: str
    role: Role
    disabled_since: str | None  # ISO time, None while active


@dataclass(frozen=True)
class AuditEntry:
    at: str
    actor: str
    action: str
    target: str


def _secret(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate is a wrong password, not a crash


def _name_key(username: str) -> str:
    return hashlib.sha256(_secret(username)).hexdigest()


def _hash(password: str) -> str:
    """The bcrypt hash of a new password that follows the rules.

    Raises:
        AccountError: a weak, too long or unencodable password.
    """
    if len(password) < MIN_PASSWORD or password.lower() == password or not any(c.isdigit() for c in password):
        raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự, có chữ hoa, chữ thường và chữ số.")
    try:
        secret = password.encode()
    except UnicodeEncodeError as exc:
        raise AccountError("Mật khẩu có ký tự không hợp lệ.") from exc
    if len(secret) > MAX_PASSWORD_BYTES:
        raise AccountError(f"Mật khẩu dài tối đa {MAX_PASSWORD_BYTES} byte (chữ có dấu tính 2-3 byte).")
    return bcrypt.hashpw(secret, bcrypt.gensalt()).decode()


def _audit(conn: sqlite3.Connection, now: dt.datetime, actor: str, action: str, target: str) -> None:
    conn.execute("INSERT INTO staff_audit (at, actor, action, target) VALUES (?, ?, ?, ?)",
                 (now.isoformat(timespec="seconds"), actor, action, target))


class Accounts:
    """Staff accounts in SQLite (one small file next to the other data); no I/O until first used."""

    def __init__(self, path: str | Path, max_failures: int = 5, lock_minutes: int = 15,
                 address_max_failures: int = 20) -> None:
        self.path = str(path)
        self._db = SqliteFile(path, SCHEMA)
        self.max_failures = max_failures
        self.address_max_failures = address_max_failures
        self.lock = dt.timedelta(minutes=lock_minutes)


    def create(self, username: str, password: str, role: Role, now: dt.datetime, actor: str = "") -> Staff:
        """Add an account (audited as ``actor``'s when given: the console's; the command line's is not).

        Raises:
            AccountError: bad username, weak password or taken name.
        """
        if not _USERNAME.match(username):
            raise AccountError("Tên đăng nhập gồm 3-32 ký tự: chữ thường không dấu, số, dấu chấm, gạch.")
        hashed = _hash(password)
        try:
            with closing(self._db.connect()) as conn, conn:
                conn.execute("INSERT INTO staff (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                             (username, hashed, role.value, now.isoformat()))
                if actor:
                    _audit(conn, now, actor, "created", username)
        except sqlite3.IntegrityError as exc:
            raise AccountError(f"Tài khoản {username} đã tồn tại.") from exc
        return Staff(username, role)

    def sign_in(self, username: str, password: str, now: dt.datetime,
                address: str = "") -> tuple[SignIn, Staff | None]:
        """Check a password typed at client ``address``; see the module's docstring for the failures."""
        key = {"name": _name_key(username), "address": address, "now": now.isoformat(),
               "window": (now - self.lock).isoformat()}
        with closing(self._db.connect()) as conn:
            (address_failures,) = conn.execute(
                f"SELECT COALESCE(SUM(failures), 0) FROM sign_in_failures WHERE address = :address AND NOT {_FRESH}",
                key).fetchone()
            if address_failures >= self.address_max_failures:
                return SignIn.THROTTLED, None
            account = conn.execute("SELECT username, password_hash, role FROM staff WHERE username = ?",
                                   (username,)).fetchone()
            lock = conn.execute("SELECT locked_until FROM sign_in_failures WHERE name = :name AND address = :address",
                                key).fetchone()
            # One bcrypt check whatever the case, so that unknown, wrong and locked take the same time.
            matches = bcrypt.checkpw(_secret(password), account["password_hash"].encode() if account else _DUMMY_HASH)
            locked = lock is not None and lock["locked_until"] is not None and lock["locked_until"] > key["now"]
            with conn:
                if account is not None and matches and not locked:
                    conn.execute("DELETE FROM sign_in_failures WHERE name = :name AND address = :address", key)
                    if conn.execute("SELECT 1 FROM staff_disabled WHERE username = ?", (username,)).fetchone():
                        return SignIn.DISABLED, None
                    return SignIn.OK, Staff(account["username"], Role(account["role"]))
                conn.execute(_COUNT_FAILURE.replace(":fresh", _FRESH), key)
                locks = conn.execute(
                    "UPDATE sign_in_failures SET locked_until = :until WHERE name = :name AND address = :address"
                    " AND failures >= :max AND (locked_until IS NULL OR locked_until <= :now)",
                    {**key, "until": (now + self.lock).isoformat(), "max": self.max_failures}).rowcount
                conn.execute(f"DELETE FROM sign_in_failures WHERE {_FRESH}", key)  # windows long over
            return (SignIn.LOCKED if locked or locks else SignIn.WRONG), None

    def list(self) -> list[Staff]:
        with closing(self._db.connect()) as conn:
            rows = conn.execute("SELECT username, role FROM staff ORDER BY username").fetchall()
        return [Staff(r["username"], Role(r["role"])) for r in rows]

    def accounts(self) -> list[Account]:
        """Every account with whether (since when) it is disabled."""
        with closing(self._db.connect()) as conn:
            rows = conn.execute("SELECT s.username, s.role, d.since FROM staff s LEFT JOIN staff_disabled d"
                                " ON d.username = s.username ORDER BY s.username").fetchall()
        return [Account(r["username"], Role(r["role"]), r["since"]) for r in rows]

    def set_disabled(self, actor: str, username: str, disabled: bool, now: dt.datetime) -> bool:
        """Disable or re-enable an account; False when it already was so (nothing audited).

        Raises:
            AccountError: no such account, or the last active admin would be disabled.
        """
        with closing(self._db.connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")  # the last-admin count and the change in one write transaction
            with conn:
                role = conn.execute("SELECT role FROM staff WHERE username = ?", (username,)).fetchone()
                if role is None:
                    raise NoSuchAccount(f"Không có tài khoản {username}.")
                if disabled and role["role"] == Role.ADMIN.value:
                    (others,) = conn.execute(
                        "SELECT COUNT(*) FROM staff WHERE role = ? AND username != ?"
                        " AND username NOT IN (SELECT username FROM staff_disabled)",
                        (Role.ADMIN.value, username)).fetchone()
                    if not others:
                        raise AccountError("Không thể khóa quản trị viên cuối cùng còn hoạt động: "
                                           "anh/chị hãy tạo hoặc mở khóa một tài khoản quản trị khác trước.")
                if disabled:
                    changed = conn.execute("INSERT OR IGNORE INTO staff_disabled (username, since) VALUES (?, ?)",
                                           (username, now.isoformat(timespec="seconds"))).rowcount
                else:
                    changed = conn.execute("DELETE FROM staff_disabled WHERE username = ?", (username,)).rowcount
                if changed:
                    _audit(conn, now, actor, "disabled" if disabled else "enabled", username)
        return bool(changed)

    def set_password(self, actor: str, username: str, password: str, now: dt.datetime) -> None:
        """An admin sets a new password for another account (the rules and bcrypt of creation).

        Raises:
            AccountError: no such account, or a password that breaks the rules.
        """
        hashed = _hash(password)
        with closing(self._db.connect()) as conn, conn:
            if not conn.execute("UPDATE staff SET password_hash = ? WHERE username = ?", (hashed, username)).rowcount:
                raise NoSuchAccount(f"Không có tài khoản {username}.")
            _audit(conn, now, actor, "password_reset", username)

    def change_password(self, username: str, current: str, password: str, now: dt.datetime) -> None:
        """A staff member changes their own password, the current one checked first.

        Raises:
            AccountError: the current password is wrong, or the new one breaks the rules.
        """
        with closing(self._db.connect()) as conn:
            row = conn.execute("SELECT password_hash FROM staff WHERE username = ?", (username,)).fetchone()
        if row is None or not bcrypt.checkpw(_secret(current), row["password_hash"].encode()):
            raise AccountError("Mật khẩu hiện tại không đúng.")
        if current == password:
            raise AccountError("Mật khẩu mới phải khác mật khẩu hiện tại.")
        hashed = _hash(password)
        with closing(self._db.connect()) as conn, conn:
            conn.execute("UPDATE staff SET password_hash = ? WHERE username = ?", (hashed, username))
            _audit(conn, now, username, "password_changed", username)

    def audit(self, limit: int = 50) -> list[AuditEntry]:
        """The latest account changes, newest first."""
        with closing(self._db.connect()) as conn:
            rows = conn.execute("SELECT at, actor, action, target FROM staff_audit ORDER BY id DESC LIMIT ?",
                                (limit,)).fetchall()
        return [AuditEntry(r["at"], r["actor"], r["action"], r["target"]) for r in rows]
