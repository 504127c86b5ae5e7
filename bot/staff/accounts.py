"""Staff accounts: bcrypt-hashed passwords, two roles, lock-out after repeated failures.

Accounts are created by ``python -m bot.staff create-user`` (there is no
default account and no default password).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import bcrypt

MIN_PASSWORD = 12
_USERNAME = re.compile(r"^[a-z0-9._-]{3,32}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL
);
"""


class Role(str, enum.Enum):
    ANNOTATOR = "annotator"  # reviews the inbox, retrains, compares
    ADMIN = "admin"  # also promotes models and manages accounts


class AccountError(ValueError):
    """A refused account operation; the message is for the staff member (Vietnamese)."""


@dataclass(frozen=True)
class Staff:
    username: str
    role: Role


class SignIn(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"


class Accounts:
    """Staff accounts in SQLite (one small file next to the other data)."""

    def __init__(self, path: str | Path, max_failures: int = 5, lock_minutes: int = 15) -> None:
        self.path = str(path)
        self.max_failures = max_failures
        self.lock = dt.timedelta(minutes=lock_minutes)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def create(self, username: str, password: str, role: Role, now: dt.datetime) -> Staff:
        """Add an account.

        Raises:
            AccountError: bad username, weak password or taken name.
        """
        if not _USERNAME.match(username):
            raise AccountError("Tên đăng nhập gồm 3-32 ký tự: chữ thường không dấu, số, dấu chấm, gạch.")
        if len(password) < MIN_PASSWORD or password.lower() == password or not any(c.isdigit() for c in password):
            raise AccountError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự, có chữ hoa, chữ thường và chữ số.")
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
        try:
            with closing(self._connect()) as conn, conn:
                conn.execute("INSERT INTO staff (username, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                             (username, hashed, role.value, now.isoformat()))
        except sqlite3.IntegrityError as exc:
            raise AccountError(f"Tài khoản {username} đã tồn tại.") from exc
        return Staff(username, role)

    def sign_in(self, username: str, password: str, now: dt.datetime) -> tuple[SignIn, Staff | None]:
        """Check a password; too many failures lock the account for a while."""
        with closing(self._connect()) as conn, conn:
            row = conn.execute("SELECT * FROM staff WHERE username = ?", (username,)).fetchone()
            if row is None:
                bcrypt.checkpw(password.encode(), _DUMMY_HASH)  # same cost as a real check: no user probing
                return SignIn.WRONG, None
            if row["locked_until"] and dt.datetime.fromisoformat(row["locked_until"]) > now:
                return SignIn.LOCKED, None
            if bcrypt.checkpw(password.encode(), row["password_hash"].encode()):
                conn.execute("UPDATE staff SET failures = 0, locked_until = NULL WHERE username = ?", (username,))
                return SignIn.OK, Staff(row["username"], Role(row["role"]))
            failures = row["failures"] + 1
            locked = (now + self.lock).isoformat() if failures >= self.max_failures else None
            conn.execute("UPDATE staff SET failures = ?, locked_until = ? WHERE username = ?",
                         (0 if locked else failures, locked, username))
            return (SignIn.LOCKED if locked else SignIn.WRONG), None

    def list(self) -> list[Staff]:
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT username, role FROM staff ORDER BY username").fetchall()
        return [Staff(r["username"], Role(r["role"])) for r in rows]


_DUMMY_HASH = bcrypt.hashpw(b"not-a-password", bcrypt.gensalt())
