"""The SMS gateway processes, each with /health and /metrics.

``link``: the SMPP bind (intake of deliver_sm, the MT sender, receipts); ``worker``:
an MO worker (any number of them, on any host sharing Redis, each with its own
consumer index); both in one process when no role is given.

While bound, a link says so in Redis every ``HEARTBEAT_S`` (a key of its own that
expires after ``BOUND_TTL_S``, its name in ``sms:links``), so a worker's /health
tells whether some link is bound, though the worker has none.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clients.rasa import RasaClient
from common import sms_keys
from common.settings import Settings
from common.streams import REDIS_DOWN, StreamConsumer, consumer_name, pause, policy_from
from common.text import as_str
from dossier_api.client import DossierClient
from sms_gateway.config import SmsSettings
from sms_gateway.intake import Intake
from sms_gateway.link import SmppLink
from sms_gateway.metrics import Metrics
from sms_gateway.router import Router
from sms_gateway.sender import MtSender
from sms_gateway.worker import MoWorker

logger = logging.getLogger(__name__)

ROLES = ("link", "worker")
HEARTBEAT_S = 1.0  # a bound link says so this often
BOUND_TTL_S = 5  # and its word holds this long (a link that died is seen unbound after it)
PROBE_TIMEOUT_S = 1.0  # /health's own look at Redis


class Gateway:
    """Everything one SMS gateway process runs (its ``roles``: the link, a worker, or both)."""

    def __init__(self, settings: Settings, sms: SmsSettings, roles: tuple[str, ...] = ROLES) -> None:
        self.settings = settings
        self.sms = sms
        self.roles = roles
        self.consumer_prefix = sms.consumer or settings.consumer_name
        self.metrics = Metrics()
        self.stop_event = asyncio.Event()
        self.redis: Any = None
        self.link: SmppLink | None = None
        self._tasks: list[asyncio.Task] = []
        self._clients: list[Any] = []
        self.loops: dict[str, StreamConsumer] = {}
        self.worker: MoWorker | None = None
        self.link_name = consumer_name("link", self.consumer_prefix, settings.consumer_index)

    async def start(self) -> None:
        """Connect and start this process's loops: the link and the sender, the worker, or all."""
        self.redis = aioredis.from_url(self.settings.redis_url)
        name = lambda role: consumer_name(role, self.consumer_prefix, self.settings.consumer_index)  # noqa: E731
        if "worker" in self.roles:
            dossiers = DossierClient.from_settings(self.settings, self.redis)
            rasa = RasaClient.from_settings(self.settings)
            self._clients = [dossiers, rasa]
            router = Router(self.redis, dossiers, rasa, self.settings, self.sms)
            worker = MoWorker(self.redis, router, self.sms, self.metrics, name("mo-worker"),
                              policy_from(self.settings, batch=50, concurrency=200))
            self.loops["mo-worker"] = worker.consumer
            self.worker = worker
            self._tasks += worker.start(self.stop_event)
        if "link" in self.roles:
            intake = Intake(self.redis, self.metrics, self.sms.receipt_ttl_s, session=lambda: self._session(),
                            resend_window_s=self.sms.dedup_window_s)
            self.link = SmppLink(self.sms, intake)
            self.link.state_listeners.append(self._on_bind_state)
            window = max(self.sms.window, 1)
            sender = MtSender(self.redis, self.link, self.sms, self.metrics, name("mt-sender"),
                              policy_from(self.settings, batch=window, concurrency=window, block_ms=200))
            self.loops["mt-sender"] = sender.consumer
            self.link.start()
            self._tasks.append(asyncio.create_task(sender.run(self.stop_event), name="mt-sender"))
            self._tasks.append(asyncio.create_task(self._heartbeat(), name="link-heartbeat"))
        self._tasks.append(asyncio.create_task(self._watch_queues(), name="queue-depth"))

    def _session(self) -> str:
        return self.link.session_id if self.link is not None else ""

    def _on_bind_state(self, bound: bool) -> None:
        self.metrics.bound.set(1 if bound else 0)
        if bound:
            self.metrics.binds.inc()

    async def _watch_queues(self) -> None:
        """Backlog, dead letters and loop counters into the metrics, every 2 s."""
        while not self.stop_event.is_set():
            for loop, consumer in self.loops.items():
                try:
                    pending, lag = await consumer.backlog()
                    self.metrics.queue_depth.labels(consumer.stream).set(pending + lag)
                    self.metrics.stream_pending.labels(consumer.stream).set(pending)
                    self.metrics.stream_lag.labels(consumer.stream).set(lag)
                    self.metrics.dead_letters.labels(consumer.dead_stream).set(
                        await self.redis.xlen(consumer.dead_stream))
                except Exception:  # Redis down or the stream not there yet: the loops report it
                    pass
                self.metrics.loop_alive.labels(loop).set(1 if consumer.alive() else 0)
                for kind, value in dataclasses.asdict(consumer.stats).items():
                    self.metrics.loop_events.labels(loop, kind).set(value)
            await asyncio.sleep(2)

    async def _heartbeat(self) -> None:
        """While bound, say so in Redis (``sms_keys.link_bound``); unbound or stopping, take it back."""
        key = sms_keys.link_bound(self.link_name)
        while True:
            stopping = self.stop_event.is_set()
            try:
                pipe = self.redis.pipeline(transaction=True)
                if self.link is not None and self.link.bound and not stopping:
                    pipe.set(key, "1", ex=BOUND_TTL_S)
                    pipe.sadd(sms_keys.LINKS, self.link_name)
                else:
                    pipe.delete(key)
                await pipe.execute()
            except REDIS_DOWN:
                pass  # /health reports Redis, and the workers see this link's word expire
            except Exception:
                logger.exception("link heartbeat failed; continuing")
            if stopping:
                return
            await pause(self.stop_event, HEARTBEAT_S)

    async def links_bound(self) -> int:
        """How many links say they are bound (raises when Redis cannot be reached)."""
        names = [as_str(name) for name in await self.redis.smembers(sms_keys.LINKS)]
        return await self.redis.exists(*map(sms_keys.link_bound, names)) if names else 0

    def alive(self) -> dict[str, bool]:
        """Each loop of this process (consumer loops, the worker's sweeper): has it ticked within its deadline?"""
        loops = {loop: consumer.alive() for loop, consumer in self.loops.items()}
        if self.worker is not None:
            loops["mo-parts-sweeper"] = self.worker.sweeper_alive()
        return loops

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
    """What this process knows: its loops ticking, Redis reachable, bound (its own link, or, for a
    worker, whether some link says it is), and how much work is queued.

    503 when a loop stalled, Redis cannot be reached, or (a process with the link) it is unbound; a
    worker with no link bound stays 200 (its replies wait in the queue; restarting it binds nothing).
    """
    gateway = request.app[GATEWAY_KEY]
    loops = gateway.alive()
    try:
        links: int | None = await asyncio.wait_for(gateway.links_bound(), PROBE_TIMEOUT_S)
    except (asyncio.TimeoutError, *REDIS_DOWN):
        links = None
    redis_ok = links is not None
    has_link = "link" in gateway.roles
    bound = bool(gateway.link and gateway.link.bound) if has_link else (bool(links) if redis_ok else None)
    if not all(loops.values()):
        status = "stalled"
    elif not redis_ok:
        status = "redis_unreachable"
    elif has_link and not bound:
        status = "unbound"
    else:
        status = "ok"
    depth = {s.labels["stream"]: s.value for m in gateway.metrics.queue_depth.collect() for s in m.samples}
    return web.json_response({"status": status, "bound": bound, "links_bound": links, "redis": redis_ok,
                              "loops": loops, "queue_depth": depth}, status=200 if status == "ok" else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    body = generate_latest(request.app[GATEWAY_KEY].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(settings: Settings, sms: SmsSettings, roles: tuple[str, ...] = ROLES) -> web.Application:
    """The gateway (the link, a worker, or both) with its HTTP face."""
    app = web.Application()
    gateway = Gateway(settings, sms, roles)
    app[GATEWAY_KEY] = gateway

    async def lifecycle(app: web.Application):
        await gateway.start()
        yield
        await gateway.stop()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    return app
