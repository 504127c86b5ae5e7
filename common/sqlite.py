"""A small SQLite file owned by one component: created with its schema on first use, not at import."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class SqliteFile:
    """Opens connections to one database file; the first one creates the directory and the schema."""

    def __init__(self, path: str | Path, schema: str) -> None:
        self.path = str(path)
        self._schema = schema
        self._ready = False

    def connect(self) -> sqlite3.Connection:
        """A new connection with row access by name and a busy timeout (close it after use)."""
        if not self._ready:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        if not self._ready:
            with conn:
                conn.executescript(self._schema)
            self._ready = True
        return conn
