"""Process logging: one format, and nothing secret or personal in any line.

Every process of the assistant calls :func:`setup_logging` first. Its formatter
redacts what must never reach a log file, whichever library wrote the line:
the values of the secrets in the settings (tokens, passwords), Telegram bot
tokens (they sit in every Bot API URL that ``httpx`` logs), and phone and ID
numbers (DESIGN.md: logs hold counts, sizes and pseudonyms only). The redaction
works on the formatted line, tracebacks included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from common import privacy

FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
REDACTED = "***"
# <bot id>:<35 characters>, as in https://api.telegram.org/bot<token>/sendMessage
_TELEGRAM_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}")
# Libraries that log a request URL (with a token inside) at INFO.
_CHATTY = ("httpx", "httpcore", "telegram.ext.Updater", "apscheduler")


def secret_values() -> list[str]:
    """The secrets of the settings, longest first (a token may contain a shorter one)."""
    from common.settings import get_settings  # settings read .env: only when logging is set up

    settings = get_settings()
    names = [n for n in type(settings).__fields__ if n.endswith(("token", "secret", "password", "secret_key"))]
    values = {str(getattr(settings, n)) for n in names}
    return sorted((v for v in values if len(v) >= 6), key=len, reverse=True)


def redact(line: str, secrets: Iterable[str] = ()) -> str:
    """``line`` without secrets, bot tokens, phone numbers or ID numbers."""
    for secret in secrets:
        line = line.replace(secret, REDACTED)
    line = _TELEGRAM_TOKEN.sub(REDACTED, line)
    return privacy.redact(line)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then redacts the whole line (message and traceback)."""

    def __init__(self, fmt: str | None = FORMAT, secrets: Iterable[str] = (), inner: logging.Formatter | None = None):
        super().__init__(fmt)
        self.secrets = list(secrets)
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record) if self.inner is not None else super().format(record)
        return redact(line, self.secrets)


def install_redaction(secrets: Iterable[str] | None = None) -> None:
    """Wrap the formatter of every handler of the root logger (and of ``rasa``/``sanic``'s own)."""
    values = secret_values() if secrets is None else list(secrets)
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in ("rasa", "rasa_sdk", "sanic.root",
                                                                       "sanic.error", "sanic.access"))]
    for log in loggers:
        for handler in log.handlers:
            current = handler.formatter
            if isinstance(current, RedactingFormatter):
                current.secrets = values
                continue
            handler.setFormatter(RedactingFormatter(secrets=values, inner=current or logging.Formatter(FORMAT)))
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)


def setup_logging(level: int = logging.INFO) -> None:
    """Root logging for a process of the assistant, redacted."""
    logging.basicConfig(level=level, format=FORMAT)
    install_redaction()
