"""Staff accounts: bcrypt-hashed passwords, three roles, and sign-in failures
counted per (account, client address) and per client address.

Accounts are created by ``python -m bot.staff create-user`` (there is no
default account and no default password).

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
"""
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


@dataclass(frozen=True)
class Staff:
    username: str
    role: Role


class SignIn(enum.Enum):
    OK = "ok"
    WRONG = "wrong"  # unknown name or wrong password
    LOCKED = "locked"  # too many failures for this name from this address
    THROTTLED = "throttled"  # too many failures from this address, whatever the names


def _secret(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate is a wrong password, not a crash


def _name_key(username: str) -> str:
    return hashlib.sha256(_secret(username)).hexdigest()


class Accounts:
    """Staff accounts in SQLite (one small file next to the other data); no I/O until first used."""

    def __init__(self, path: str | Path, max_failures: int = 5, lock_minutes: int = 15,
                 address_max_failures: int = 20) -> None:
        self.path = str(path)
        self._db = SqliteFile(path, SCHEMA)
        self.max_failures = max_failures
        self.address_max_failures = address_max_failures
        self.lock = dt.timedelta(minutes=lock_minutes)


    def create(self, username: str, password: str, role: Role, now: dt.datetime) -> Staff:
        """Add an account.

        Raises:
            AccountError: bad username, weak password or taken name.
        """
        if not _USERNAME.match(username):
            raise AccountError("Tên đăng nhập gồm 3-32 ký tự: chữ thường không dấu, số, dấu chấm, gạch.")
        if len(password) < MIN_PASSWORD or password.lower() == password or not any(c.isdigit() for c in password):
            raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự, có chữ hoa, chữ thường và chữ số.")
        try:
            secret = password.encode()
        except UnicodeEncodeError as exc:
            raise AccountError("Mật khẩu có ký tự không hợp lệ.") from exc
        if len(secret) > MAX_PASSWORD_BYTES:
            raise AccountError(f"Mật khẩu dài tối đa {MAX_PASSWORD_BYTES} byte (chữ có dấu tính 2-3 byte).")
        hashed = bcrypt.hashpw(secret, bcrypt.gensalt()).decode()
        try:
            with closing(self._db.connect()) as conn, conn:
                conn.execute("INSERT INTO staff (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                             (username, hashed, role.value, now.isoformat()))
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
