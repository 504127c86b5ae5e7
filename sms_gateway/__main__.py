"""Run the SMS gateway: ``python -m sms_gateway``."""

from __future__ import annotations

import logging

from aiohttp import web

from common.logs import setup_logging
from common.settings import get_settings
from sms_gateway.app import create_app
from sms_gateway.config import get_sms_settings


def main() -> None:
    """Bind to the SMSC and serve /health and /metrics."""
    setup_logging()
    logging.getLogger("smpp").setLevel(logging.WARNING)  # smpplib logs PDUs (message text) at DEBUG/INFO
    sms = get_sms_settings()
    web.run_app(create_app(get_settings(), sms), host=sms.http_host, port=sms.http_port, print=None)


if __name__ == "__main__":
    main()
