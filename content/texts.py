"""The citizen-facing texts, read from a YAML file of dotted keys and reloaded when it changes.

The file (``content/data/texts.yml``, or ``texts.yml`` in ``CONTENT_DIR``, the copy staff edit)
maps dotted keys (``lookup.not_found``)
to Vietnamese strings with ``{placeholder}`` fields; nested mappings are flattened with dots.
Nothing is read at import: the first ``text()`` call loads the file, and later calls look at its
modification time at most once a second, so an edit (the staff console rewrites the file
atomically) is used within seconds without a restart. A file that no longer parses keeps the
last good texts in use (the failure is logged).
"""

from __future__ import annotations

import logging
import os
import string
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import yaml

from common.settings import get_settings

logger = logging.getLogger(__name__)

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "texts.yml"
CHECK_INTERVAL_S = 1.0


class TextError(LookupError):
    """A text cannot be produced: unknown key, or a placeholder without its value."""


class UnknownTextKey(TextError):
    """No text has this key."""


class MissingTextValue(TextError):
    """The text has a ``{placeholder}`` the caller gave no value for."""


def texts_path() -> Path:
    """Where the texts are read from: ``CONTENT_DIR/texts.yml`` if ``CONTENT_DIR`` is set (the console
    edits that copy, bot/staff/content_pages.py), else the packaged file."""
    configured = get_settings().content_dir
    return Path(configured) / DEFAULT_PATH.name if configured else DEFAULT_PATH


def flatten(data: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": "x"}}`` -> ``{"a.b": "x"}``; every leaf must be a string."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, dotted + "."))
        elif isinstance(value, str):
            flat[dotted] = value
        else:
            raise ValueError(f"text {dotted!r} is not a string")
    return flat


def placeholders(template: str) -> set[str]:
    """The ``{field}`` names a text needs (what an editor must keep)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load(path: Path) -> dict[str, str]:
    """Reads and flattens one texts file (raises on a malformed file)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path} is not a mapping of keys to texts")
    return flatten(data)


class TextStore:
    """The texts of one file, reloaded when its modification time changes (checked at most once a second)."""

    def __init__(self, path: Path | None = None, check_interval_s: float = CHECK_INTERVAL_S) -> None:
        self._path = path
        self._check_interval_s = check_interval_s
        self._texts: dict[str, str] | None = None
        self._stamp: tuple[int, int] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The file this store reads."""
        return self._path if self._path is not None else texts_path()

    def texts(self) -> dict[str, str]:
        """Every text by key, fresh to within ``check_interval_s``."""
        now = time.monotonic()
        if self._texts is not None and now - self._checked_at < self._check_interval_s:
            return self._texts
        with self._lock:
            if self._texts is None or now - self._checked_at >= self._check_interval_s:
                self._refresh()
                self._checked_at = now
            assert self._texts is not None
            return self._texts

    def _refresh(self) -> None:
        path = self.path
        stamp: tuple[int, int] | None = None
        try:
            stat = os.stat(path)
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._texts is not None and stamp == self._stamp:
                return
            texts = load(path)
        except (OSError, ValueError, yaml.YAMLError):
            if self._texts is None:
                raise
            if stamp is not None:
                self._stamp = stamp  # told once per change of the file, not every second
            logger.error("texts file %s could not be reloaded; the previous texts stay in use", path, exc_info=True)
            return
        self._texts, self._stamp = texts, stamp
        logger.info("loaded %d texts from %s", len(texts), path)

    def template(self, key: str) -> str:
        """The text ``key`` as written, its ``{placeholders}`` unfilled."""
        try:
            return self.texts()[key]
        except KeyError:
            raise UnknownTextKey(f"no text has the key {key!r} in {self.path}") from None

    def text(self, key: str, **values: object) -> str:
        """The text ``key`` with its ``{placeholders}`` filled from ``values``."""
        template = self.template(key)
        try:
            return template.format(**values)
        except KeyError as missing:
            raise MissingTextValue(f"text {key!r} needs a value for {{{missing.args[0]}}}") from None
        except (IndexError, ValueError) as bad:
            raise TextError(f"text {key!r} is not a valid template: {bad}") from None

    def reset(self) -> None:
        """Forgets the loaded texts (tests that change ``CONTENT_DIR``)."""
        with self._lock:
            self._texts, self._stamp, self._checked_at = None, None, 0.0


_store = TextStore()


def text(key: str, **values: object) -> str:
    """The citizen-facing text ``key`` (e.g. ``"lookup.not_found"``), its ``{placeholders}`` filled in.

    Raises:
        UnknownTextKey: no text has ``key``.
        MissingTextValue: the text needs a value that was not given.
    """
    return _store.text(key, **values)


def template(key: str) -> str:
    """The text ``key`` as written (``{placeholders}`` unfilled): to recognise the bot's own question."""
    return _store.template(key)


def opening(key: str) -> str:
    """What the text ``key`` says before its first placeholder: how the bot's own message of that
    kind starts, to recognise it in a conversation."""
    return template(key).split("{", 1)[0]


def store() -> TextStore:
    """The process-wide store (the staff console's editor and tests use it)."""
    return _store
