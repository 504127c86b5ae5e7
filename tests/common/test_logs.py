"""Log lines never hold secrets, bot tokens, phone or ID numbers (issue 15, M7)."""

from __future__ import annotations

import io
import logging

from common.logs import RedactingFormatter, install_redaction, redact

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"


def test_redact_masks_tokens_numbers_and_known_secrets() -> None:
    line = (f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage chat=0905123456 "
            "id=048092001234 key=s3cret-value-42")
    out = redact(line, ["s3cret-value-42"])
    assert BOT_TOKEN not in out and "0905123456" not in out and "048092001234" not in out
    assert "s3cret-value-42" not in out and "sendMessage" in out


def test_every_logger_through_the_root_handler_is_redacted_tracebacks_included() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_redaction(["hunter2-password"])
        assert isinstance(handler.formatter, RedactingFormatter)
        logging.getLogger("httpx").warning("HTTP Request: GET https://api.telegram.org/bot%s/getMe", BOT_TOKEN)
        try:
            raise ValueError("password hunter2-password for 84905123456")
        except ValueError:
            logging.getLogger("some.lib").exception("failed")
        assert logging.getLogger("httpx").level == logging.WARNING  # its INFO lines (every URL) are off
    finally:
        root.removeHandler(handler)
    text = stream.getvalue()
    assert "getMe" in text and "ValueError" in text
    assert BOT_TOKEN not in text and "hunter2-password" not in text and "84905123456" not in text
