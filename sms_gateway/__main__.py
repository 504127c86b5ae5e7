"""Run the SMS gateway.

    python -m sms_gateway link                 # the SMPP bind: intake, MT sender, receipts
    python -m sms_gateway worker [--index N]   # an MO worker (as many as wanted, each its own index)
    python -m sms_gateway                      # both in one process
"""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from common.logs import setup_logging
from common.settings import get_settings
from sms_gateway.app import ROLES, create_app
from sms_gateway.config import get_sms_settings


def main(argv: list[str] | None = None) -> None:
    """Start the asked role(s) and serve /health and /metrics."""
    parser = argparse.ArgumentParser(prog="python -m sms_gateway", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", nargs="?", choices=[*ROLES, "all"], default="all")
    parser.add_argument("--index", type=int, default=None,
                        help="this worker's replica number on the host (its consumer name); default CONSUMER_INDEX")
    parser.add_argument("--port", type=int, default=None,
                        help="HTTP port of /health and /metrics; default SMS_HTTP_PORT (link, all) or "
                             "SMS_WORKER_HTTP_PORT + index (worker)")
    args = parser.parse_args(argv)
    setup_logging()
    logging.getLogger("smpp").setLevel(logging.WARNING)  # smpplib logs PDUs (message text) at DEBUG/INFO
    sms = get_sms_settings()
    settings = get_settings()
    if args.index is not None:
        settings = settings.copy(update={"consumer_index": args.index})
    roles = ROLES if args.role == "all" else (args.role,)
    port = args.port
    if port is None:
        port = sms.worker_http_port + settings.consumer_index if args.role == "worker" else sms.http_port
    web.run_app(create_app(settings, sms, roles), host=sms.http_host, port=port, print=None)


if __name__ == "__main__":
    main()
