"""Start Rasa or the action server on loopback, with their credentials from the environment.

``python -m rasa_server rasa --model <file>`` and ``python -m rasa_server actions``
replace ``rasa run --enable-api --auth-token …`` and ``rasa run actions``: the
tokens come from the settings (``.env`` or the service manager), so ``ps``
never shows them, both bind ``RASA_HOST`` / ``ACTION_SERVER_HOST``
(127.0.0.1 by default), and neither starts without its token.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys

from common.logs import install_redaction
from common.settings import Settings, get_settings
from rasa_server import speedups

logger = logging.getLogger(__name__)


def _require(value: str, name: str) -> str:
    if not value:
        sys.exit(f"{name} is not set (make run writes one into .env): refusing to start without it")
    return value


def rasa_environment(settings: Settings) -> None:
    """What endpoints.yml and credentials.yml read from the environment, from the settings
    (which may have come from .env rather than the environment)."""
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    os.environ["TRACKER_RETENTION_S"] = str(int(settings.tracker_retention_days * 86400))
    for name in ("redis_password", "action_server_token", "rasa_channel_token", "tracker_key"):
        os.environ[name.upper()] = str(getattr(settings, name))


def serve_rasa(args: argparse.Namespace, settings: Settings) -> None:
    """Rasa's HTTP API (token required) and the gateway channel, on ``RASA_HOST:RASA_PORT``."""
    _require(settings.rasa_token, "RASA_TOKEN")
    _require(settings.rasa_channel_token, "RASA_CHANNEL_TOKEN")
    _require(settings.tracker_key, "TRACKER_KEY")
    rasa_environment(settings)
    import rasa.core.run
    import rasa.utils.common
    import rasa.utils.log_utils
    from rasa.core.utils import AvailableEndpoints

    rasa.utils.common.configure_logging_and_warnings(logging.INFO)
    rasa.utils.log_utils.configure_structlog(logging.INFO)
    install_redaction()
    speedups.install()
    rasa.core.run.serve_application(
        model_path=args.model,
        credentials=args.credentials,
        endpoints=AvailableEndpoints.read_endpoints(args.endpoints),
        interface=settings.rasa_host,
        port=settings.rasa_port,
        auth_token=settings.rasa_token,
        enable_api=True,
    )


def create_action_app(settings: Settings):  # -> sanic.Sanic (imported lazily: rasa_sdk is heavy)
    """rasa_sdk's action server that answers only Rasa (the action server token) and never
    returns a tracker in an error body."""
    from rasa_sdk import endpoint
    from sanic import response
    from sanic.exceptions import SanicException

    from content import replies

    app = endpoint.create_app("actions", cors_origins=None)
    expected = f"Bearer {settings.action_server_token}".encode()

    @app.middleware("request")
    async def authenticate(request):
        if request.path == "/health":
            return None
        if not hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected):
            return response.json({"error": "unauthorized"}, status=401)
        return None

    @app.exception(Exception)
    async def failed(request, exception: Exception):
        # rasa_sdk's own handler echoes the request body (the whole tracker: phone, ID and
        # names the citizen typed) and Rasa logs it. Here: no body; the citizen hears an apology.
        if isinstance(exception, SanicException):
            return response.json({"error": "bad_request"}, status=exception.status_code)
        logger.error("action failed: %s", type(exception).__name__, exc_info=exception)
        apology = replies.service_unavailable(settings.hotline)
        return response.json({"events": [], "responses": [{"text": apology}]}, status=200)

    return app


def serve_actions(args: argparse.Namespace, settings: Settings) -> None:
    """The action server on ``ACTION_SERVER_HOST:ACTION_SERVER_PORT``."""
    _require(settings.action_server_token, "ACTION_SERVER_TOKEN")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install_redaction()
    app = create_action_app(settings)
    app.run(settings.action_server_host, settings.action_server_port, workers=1, access_log=False,
            motd=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rasa_server", description=__doc__)
    sub = parser.add_subparsers(dest="server", required=True)
    rasa = sub.add_parser("rasa", help="Rasa with the gateway channel and its HTTP API")
    rasa.add_argument("--model", required=True)
    rasa.add_argument("--endpoints", default="endpoints.yml")
    rasa.add_argument("--credentials", default="credentials.yml")
    sub.add_parser("actions", help="the action server")
    args = parser.parse_args(argv)
    settings = get_settings()
    (serve_rasa if args.server == "rasa" else serve_actions)(args, settings)


if __name__ == "__main__":
    main()
