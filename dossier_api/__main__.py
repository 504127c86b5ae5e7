"""Run the reference dossier API: ``python -m dossier_api``."""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web

from common.logs import setup_logging
from common.settings import get_settings
from dossier_api.catalog import catalog_file
from dossier_api.db import Database
from dossier_api.seed import seed
from dossier_api.server import EventHook, MaskedAccessLogger, create_app


def main() -> None:
    """Serve the API, seeding the database first when it is empty."""
    setup_logging()
    settings = get_settings()
    if not settings.dossier_api_token or not settings.dossier_api_staff_token:
        sys.exit("DOSSIER_API_TOKEN and DOSSIER_API_STAFF_TOKEN must be set (make run writes them into .env): "
                 "the reference API does not serve dossiers, tickets and owners to anyone who asks")
    db_path = Path(settings.dossier_db_path)
    if not db_path.exists():
        db_path.parent.mkdir(parents=True, exist_ok=True)
        seed(Database(db_path))
    hook = EventHook(settings.dossier_events_webhook_url, settings.dossier_events_secret)
    app = create_app(str(db_path), settings.dossier_api_token, hook, staff_token=settings.dossier_api_staff_token,
                     catalog_path=catalog_file(settings.content_dir))
    web.run_app(app, host=settings.dossier_api_host, port=settings.dossier_api_port, print=None,
                access_log_class=MaskedAccessLogger)


if __name__ == "__main__":
    main()
