"""Run the chat gateway: ``python -m bot``."""

from __future__ import annotations

from aiohttp import web

from bot.web import create_app
from common.logs import setup_logging
from common.settings import get_settings


def main() -> None:
    """Serve the web chat."""
    setup_logging()
    settings = get_settings()
    web.run_app(create_app(settings), host=settings.chat_host, port=settings.chat_port, print=None)


if __name__ == "__main__":
    main()
