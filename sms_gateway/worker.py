"""MO worker: a consumer of the ``sms:mo`` stream (consumer group).

Each MO is de-duplicated (same source, content and segment within a window,
e.g. a deliver_sm resent after a lost resp), reassembled when it is one part
of a long message (UDH or sar_ TLVs; after ``part_timeout_s`` the parts that
came are used), answered, and acknowledged only in the same Redis transaction
that queues its reply, so a crash at any point neither loses the MO nor sends
its reply twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

from redis import exceptions as redis_errors

from common import stats
from common.privacy import mask_phone
from common.stats import Count
from common.text import as_str
from sms_gateway import streams
from sms_gateway.config import SmsSettings
from sms_gateway.encoding import decode_mo, split_udh
from sms_gateway.metrics import Metrics
from sms_gateway.router import Router

logger = logging.getLogger(__name__)

UDHI = 0x40


class MoWorker:
    """Reads MOs, answers them, queues the replies."""

    def __init__(self, redis: Any, router: Router, settings: SmsSettings, metrics: Metrics, consumer: str) -> None:
        self.redis = redis
        self.router = router
        self.settings = settings
        self.metrics = metrics
        self.consumer = consumer
        self.group = settings.mo_group

    async def run(self, stop: asyncio.Event) -> None:
        """Process pending entries of this consumer first, then new ones, until ``stop``."""
        await streams.ensure_group(self.redis, streams.MO_STREAM, self.group)
        cursor = "0"  # our own pending entries (a restart resumes them)
        last_sweep = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() - last_sweep > 1.0:
                    last_sweep = time.monotonic()
                    await self._sweep_parts()
                    await self._claim_abandoned()
                batch = await self.redis.xreadgroup(
                    self.group, self.consumer, {streams.MO_STREAM: cursor}, count=50, block=500
                )
                entries = batch[0][1] if batch else []
                if cursor == "0" and not entries:
                    cursor = ">"
                    continue
                await asyncio.gather(*(self._safely(as_str(i), f) for i, f in entries))
            except (redis_errors.ConnectionError, redis_errors.TimeoutError):
                logger.warning("Redis unavailable to the MO worker; retrying", exc_info=True)
                await asyncio.sleep(1)

    async def _claim_abandoned(self) -> None:
        """Take over entries another (dead) worker left pending for a minute."""
        result = await self.redis.xautoclaim(
            streams.MO_STREAM, self.group, self.consumer, min_idle_time=60_000, start_id="0-0", count=50
        )
        for entry_id, fields in result[1] if result else []:
            if fields:
                await self._safely(as_str(entry_id), fields)

    async def _safely(self, entry_id: str, raw: dict) -> None:
        """Handle one entry; a failure leaves it pending (retried after a restart or a claim)."""
        try:
            await self.handle(entry_id, raw)
        except (redis_errors.ConnectionError, redis_errors.TimeoutError):
            raise
        except Exception:
            logger.error("MO %s could not be handled; left pending", entry_id, exc_info=True)

    async def handle(self, entry_id: str, raw: dict) -> None:
        """Process one stored deliver_sm."""
        fields = {as_str(k): as_str(v) for k, v in raw.items()}
        if await self.redis.exists(streams.mo_done(entry_id)):
            await self.redis.xack(streams.MO_STREAM, self.group, entry_id)
            return
        source = fields["source"]
        payload = bytes.fromhex(fields.get("payload", ""))
        data_coding = int(fields.get("data_coding", 0))
        segment, body = self._segment(fields, payload)
        digest = hashlib.sha1(payload + repr(segment).encode() + str(data_coding).encode()).hexdigest()[:20]
        first = await self.redis.set(streams.dedup(source, digest), entry_id, nx=True,
                                     ex=self.settings.dedup_window_s)
        if not first and as_str(await self.redis.get(streams.dedup(source, digest)) or "") != entry_id:
            self.metrics.mo.labels("duplicate").inc()
            logger.info("duplicate MO from %s dropped", mask_phone(source))
            await self._finish(entry_id, None)
            return
        if segment is None:
            await self._answer(entry_id, source, decode_mo(body, data_coding), float(fields["received_at"]))
            return
        text = await self._add_part(entry_id, source, segment, body, data_coding, float(fields["received_at"]))
        if text is None:  # waiting for the other parts; this one is safe in Redis
            await self._finish(entry_id, None)

    @staticmethod
    def _segment(fields: dict, payload: bytes) -> tuple[tuple[int, int, int] | None, bytes]:
        if "sar" in fields:
            ref, total, seq = (int(x) for x in fields["sar"].split(","))
            return ((ref, total, seq) if total > 1 else None), payload
        if int(fields.get("esm_class", 0)) & UDHI:
            concat, body = split_udh(payload)
            return (concat if concat and concat[1] > 1 else None), body
        return None, payload

    async def _add_part(self, entry_id: str, source: str, segment: tuple[int, int, int], body: bytes,
                        data_coding: int, received_at: float) -> str | None:
        ref, total, seq = segment
        key = streams.parts(source, f"{ref}:{total}")
        part = json.dumps({"hex": body.hex(), "dc": data_coding, "at": received_at})
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, str(seq), part)
        pipe.expire(key, self.settings.part_timeout_s * 10)
        pipe.zadd(streams.PARTS_DEADLINES, {key: time.time() + self.settings.part_timeout_s}, nx=True)
        pipe.hlen(key)
        *_, count = await pipe.execute()
        if count < total:
            return None
        await self._assemble(entry_id, key, source)
        return ""

    async def _assemble(self, entry_id: str, key: str, source: str) -> None:
        """Answer the parts of ``key`` as one message (all there, or waited long enough)."""
        parts = {int(k): json.loads(v) for k, v in (await self.redis.hgetall(key)).items()}
        if not parts:
            return
        texts = [decode_mo(bytes.fromhex(p["hex"]), p["dc"]) for _, p in sorted(parts.items())]
        text = None if any(t is None for t in texts) else "".join(texts)  # type: ignore[arg-type]
        started = min(p["at"] for p in parts.values())
        await self._answer(entry_id, source, text, started, parts_key=key)

    async def _sweep_parts(self) -> None:
        """Long messages whose missing parts never came: answer what arrived."""
        for key in await self.redis.zrangebyscore(streams.PARTS_DEADLINES, 0, time.time()):
            key = as_str(key)
            if await self.redis.zrem(streams.PARTS_DEADLINES, key):  # one worker wins
                source = key.split(":")[2]
                logger.info("long MO from %s incomplete after timeout; answering its parts", mask_phone(source))
                self.metrics.mo.labels("incomplete").inc()
                await self._assemble(f"parts-{key}", key, source)

    async def _answer(self, entry_id: str, source: str, text: str | None, received_at: float,
                      parts_key: str | None = None) -> None:
        if text is None:
            logger.info("unreadable MO from %s (binary or invalid encoding) rejected", mask_phone(source))
            self.metrics.mo.labels("unreadable").inc()
        reply = await self.router.reply(source, text)
        self.metrics.mo.labels("answered" if reply else "silenced").inc()
        mt = None if reply is None else {"dest": source, "text": reply, "mo": entry_id, "mo_at": f"{received_at:.6f}"}
        await self._finish(entry_id, mt, parts_key, counted=True)

    async def _finish(self, entry_id: str, mt: dict | None, parts_key: str | None = None,
                      counted: bool = False) -> None:
        """Queue the reply, drop the answered parts and acknowledge the MO, atomically
        (``counted``: one more SMS message on the dashboard, in the same transaction)."""
        pipe = self.redis.pipeline(transaction=True)
        if counted:
            stats.queue(pipe, [Count(stats.MESSAGES, "sms")], None)
        if mt is not None:
            pipe.xadd(streams.MT_STREAM, mt)
        if parts_key is not None:
            pipe.delete(parts_key)
            pipe.zrem(streams.PARTS_DEADLINES, parts_key)
        pipe.set(streams.mo_done(entry_id), 1, ex=max(self.settings.dedup_window_s, 3600))
        if not entry_id.startswith("parts-"):
            pipe.xack(streams.MO_STREAM, self.group, entry_id)
        await pipe.execute()
