"""Run the chat gateway: ``python -m bot``."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.web import create_app
from common.settings import get_settings


def main() -> None:
    """Serve the web chat."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = get_settings()
    web.run_app(create_app(settings), host=settings.chat_host, port=settings.chat_port, print=None)


if __name__ == "__main__":
    main()
