"""The SMS gateway process: SMPP link, MO worker, MT sender, /health and /metrics."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import redis
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.rasa_client import RasaClient
from common.settings import Settings
from dossier_api.client import DossierClient
from sms_gateway import streams
from sms_gateway.config import SmsSettings
from sms_gateway.intake import Intake
from sms_gateway.link import SmppLink
from sms_gateway.metrics import Metrics
from sms_gateway.router import Router
from sms_gateway.sender import MtSender
from sms_gateway.worker import MoWorker

logger = logging.getLogger(__name__)


class Gateway:
    """Everything one SMS gateway process runs."""

    def __init__(self, settings: Settings, sms: SmsSettings) -> None:
        self.settings = settings
        self.sms = sms
        self.consumer = sms.consumer or socket.gethostname()
        self.metrics = Metrics()
        self.stop_event = asyncio.Event()
        self.redis: Any = None
        self.link: SmppLink | None = None
        self._tasks: list[asyncio.Task] = []
        self._clients: list[Any] = []

    async def start(self) -> None:
        """Connect and start the link, the worker and the sender."""
        self.redis = aioredis.from_url(self.settings.redis_url)
        sync_redis = redis.Redis.from_url(self.settings.redis_url)
        intake = Intake(sync_redis, self.metrics, self.sms.receipt_ttl_s)
        self.link = SmppLink(self.sms, intake)
        self.link.state_listeners.append(self._on_bind_state)
        dossiers = DossierClient.from_settings(self.settings, self.redis)
        rasa = RasaClient.from_settings(self.settings)
        self._clients = [dossiers, rasa]
        router = Router(self.redis, dossiers, rasa, self.settings, self.sms)
        worker = MoWorker(self.redis, router, self.sms, self.metrics, self.consumer)
        sender = MtSender(self.redis, sync_redis, self.link, self.sms, self.metrics, self.consumer)
        self.link.start()
        self._tasks = [
            asyncio.create_task(worker.run(self.stop_event), name="mo-worker"),
            asyncio.create_task(sender.run(self.stop_event), name="mt-sender"),
            asyncio.create_task(self._watch_queues(), name="queue-depth"),
        ]

    def _on_bind_state(self, bound: bool) -> None:
        self.metrics.bound.set(1 if bound else 0)
        if bound:
            self.metrics.binds.inc()

    async def _watch_queues(self) -> None:
        while not self.stop_event.is_set():
            try:
                for stream, group in ((streams.MO_STREAM, self.sms.mo_group), (streams.MT_STREAM, streams.MT_GROUP)):
                    for info in await self.redis.xinfo_groups(stream):
                        if info["name"].decode() == group:
                            depth = (info.get("pending") or 0) + (info.get("lag") or 0)
                            self.metrics.queue_depth.labels(stream).set(depth)
            except Exception:  # the stream may not exist yet
                pass
            await asyncio.sleep(2)

    async def stop(self) -> None:
        """Stop the loops, unbind, close the clients."""
        self.stop_event.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, 15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                logger.error("%s failed", task.get_name(), exc_info=True)
        if self.link is not None:
            await self.link.stop()
        for client in self._clients:
            await client.close()
        if self.redis is not None:
            await self.redis.close()


GATEWAY_KEY = web.AppKey("gateway", Gateway)


async def health(request: web.Request) -> web.Response:
    """Bound or not, and how much work is queued."""
    gateway = request.app[GATEWAY_KEY]
    bound = bool(gateway.link and gateway.link.bound)
    depth = {s.labels["stream"]: s.value for m in gateway.metrics.queue_depth.collect() for s in m.samples}
    return web.json_response({"status": "ok" if bound else "unbound", "bound": bound, "queue_depth": depth},
                             status=200 if bound else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    body = generate_latest(request.app[GATEWAY_KEY].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(settings: Settings, sms: SmsSettings) -> web.Application:
    """The gateway with its HTTP face."""
    app = web.Application()
    gateway = Gateway(settings, sms)
    app[GATEWAY_KEY] = gateway

    async def lifecycle(app: web.Application):
        await gateway.start()
        yield
        await gateway.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    return app
