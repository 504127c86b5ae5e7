"""MO worker: a consumer of the ``sms:mo`` stream (consumer group), read through
:class:`common.streams.StreamConsumer`.

The MOs of one read are handled as a batch (:meth:`MoWorker.handle_batch`): the whole
keyword MOs get their dedup claims in one pipeline, their rate limits and lookup reads
in one transaction and their replies and acks in one transaction; long-message parts,
unreadable MOs, free text (answered by Rasa) and possible resends take the one-entry
path (:meth:`MoWorker.handle`), which keeps the attempt limit.

Each MO is de-duplicated (only true resends by the SMSC, see :meth:`MoWorker.is_resend`),
reassembled when it is one part of a long message (UDH or sar_ TLVs; after
``part_timeout_s`` the parts that came are used), answered, and acknowledged only
in the same Redis transaction that queues its reply, so a crash at any point
neither loses the MO nor sends its reply twice. A malformed header gets the
"unreadable" reply; any other failure is retried up to the attempt limit, then
the MO goes to ``sms:dead`` with the reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from common import sms_keys, stats
from common.privacy import mask_phone, pseudonym
from common.stats import Count
from common.streams import REDIS_DOWN, ConsumerPolicy, Entry, StreamConsumer, pause
from common.text import as_str
from sms_gateway.config import SmsSettings
from sms_gateway.encoding import MalformedUdh, decode_mo, split_udh
from sms_gateway.keywords import Command, Kind, parse_sms
from sms_gateway.metrics import Metrics
from sms_gateway.router import Router

logger = logging.getLogger(__name__)

UDHI = 0x40
MALFORMED = "malformed"  # _segment's verdict on a header that cannot be read


@dataclass(frozen=True)
class _Whole:
    """A whole keyword MO of a batch."""

    entry: Entry
    source: str
    text: str
    command: Command
    digest: str
    received_at: float


def _digest(payload: bytes, segment: Any, data_coding: int) -> str:
    return hashlib.sha1(payload + repr(segment).encode() + str(data_coding).encode()).hexdigest()[:20]


class MoWorker:
    """Reads MOs, answers them, queues the replies."""

    def __init__(self, redis: Any, router: Router, settings: SmsSettings, metrics: Metrics, consumer: str,
                 policy: ConsumerPolicy | None = None) -> None:
        self.redis = redis
        self.router = router
        self.settings = settings
        self.metrics = metrics
        self.group = settings.mo_group
        self.consumer = StreamConsumer(redis, sms_keys.MO_STREAM, self.group, consumer, self._handle_entry,
                                       dead_stream=sms_keys.DEAD_STREAM,
                                       policy=policy or ConsumerPolicy(batch=50, concurrency=200),
                                       handle_batch=self.handle_batch)
        self.swept_at = time.monotonic()  # the sweeper's last turn (its liveness)

    def start(self, stop: asyncio.Event) -> list[asyncio.Task]:
        """Answer MOs until ``stop``; long messages whose parts stopped coming are swept meanwhile.

        The tasks are created here, at start-up (aiohttp's graceful shutdown waits for the
        tasks created later, which would hold it for its whole timeout)."""
        return [asyncio.create_task(self.consumer.run(stop), name="mo-worker"),
                asyncio.create_task(self._sweeper(stop), name="mo-parts-sweeper")]

    async def run(self, stop: asyncio.Event) -> None:
        """:meth:`start`, and wait until both loops end."""
        await asyncio.gather(*self.start(stop))

    def sweeper_alive(self) -> bool:
        """False when the sweeper of long MOs has not turned within the consumer's deadline."""
        return time.monotonic() - self.swept_at <= self.consumer.policy.deadline_s

    async def _sweeper(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.swept_at = time.monotonic()
            try:
                await self._sweep_parts()
            except REDIS_DOWN:
                pass  # the consumer loop reports the outage
            except Exception:
                logger.exception("sweeping incomplete long MOs failed; continuing")
            await pause(stop, 1.0)

    async def _handle_entry(self, entry: Entry) -> None:
        await self.handle(entry.id, entry.fields)

    async def handle_batch(self, entries: list[Entry]) -> list[Entry]:
        """Answer the whole keyword MOs of one read together; returns the entries left to :meth:`handle`."""
        wholes: list[_Whole] = []
        left: list[Entry] = []
        for entry in entries:
            whole = self._whole_keyword(entry)
            if whole is None:
                left.append(entry)
            else:
                wholes.append(whole)
        if not wholes:
            return left
        window = self.settings.dedup_window_s
        pipe = self.redis.pipeline(transaction=False)
        again = [mo for mo in wholes if not mo.entry.first]  # read before: maybe answered, the ack missing
        for mo in again:
            pipe.exists(sms_keys.mo_done(mo.entry.id))
        for mo in wholes:
            pipe.set(sms_keys.dedup(mo.source, mo.digest), self._dedup_record(mo.entry.id, mo.entry.fields,
                                                                             mo.received_at), nx=True, ex=window)
        flags = await pipe.execute()
        answered_before = {mo.entry.id for mo, found in zip(again, flags, strict=False) if found}
        done: list[str] = []
        fresh: list[_Whole] = []
        for mo, first in zip(wholes, flags[len(again):], strict=True):
            if mo.entry.id in answered_before:  # handled before a crash, after its transaction: only the ack
                done.append(mo.entry.id)
            elif first:
                fresh.append(mo)
            else:  # the same content came lately: the one-entry path weighs the resend evidence
                left.append(mo.entry)
        aheads = await self.router.read_ahead([(mo.source, mo.text) for mo in fresh],
                                              [mo.command for mo in fresh]) if fresh else []
        # message_id: a bare code may be the answer to the assistant's form, a turn with effects to do once
        answers = await asyncio.gather(*(self.router.reply(mo.source, mo.text, ahead, message_id=mo.entry.id)
                                         for mo, ahead in zip(fresh, aheads, strict=True)), return_exceptions=True)
        finished: list[tuple[str, dict | None]] = []
        failed: list[tuple[Entry, Exception]] = []
        counts: Counter[tuple[str, str]] = Counter()
        looked_up: list[tuple[str, str]] = []
        for mo, ahead, answer in zip(fresh, aheads, answers, strict=True):
            if isinstance(answer, BaseException):
                if isinstance(answer, (*REDIS_DOWN, asyncio.CancelledError)) or not isinstance(answer, Exception):
                    raise answer
                failed.append((mo.entry, answer))  # retried with backoff, up to the attempt limit
                continue
            mt = None if answer is None else {"dest": mo.source, "text": answer, "mo": mo.entry.id,
                                              "mo_at": f"{mo.received_at:.6f}"}
            finished.append((mo.entry.id, mt))
            counts[(stats.MESSAGES, "sms")] += 1
            for count in ahead.counts:
                counts[(count.figure, count.field)] += count.n
            if ahead.looked_up:
                looked_up.append((mo.source, ahead.looked_up))
        pipe = self.redis.pipeline(transaction=True)
        for source, code in looked_up:
            pipe.set(sms_keys.last_lookup(source), code, ex=sms_keys.LAST_LOOKUP_TTL_S)
        if done:
            pipe.xack(sms_keys.MO_STREAM, self.group, *done)
        if finished:
            stats.queue(pipe, [Count(figure, name, n) for (figure, name), n in counts.items()], None)
            self._queue_finish(pipe, finished)
        await pipe.execute()
        replied = sum(mt is not None for _, mt in finished)
        self.metrics.mo.labels("answered").inc(replied)
        self.metrics.mo.labels("silenced").inc(len(finished) - replied)
        for entry, exc in failed:
            await self.consumer.failed(entry, exc)
        return left

    def _whole_keyword(self, entry: Entry) -> _Whole | None:
        """The entry as a whole, readable keyword MO (None: the one-entry path handles it)."""
        fields = entry.fields
        if "sar" in fields or int(fields.get("esm_class", 0)) & UDHI:
            return None
        payload = bytes.fromhex(fields.get("payload", ""))
        data_coding = int(fields.get("data_coding", 0))
        text = decode_mo(payload, data_coding)
        if not text or not text.strip():
            return None
        command = parse_sms(text)
        if command.kind is Kind.CHAT:
            return None
        return _Whole(entry, fields["source"], text, command, _digest(payload, None, data_coding),
                      float(fields["received_at"]))

    async def handle(self, entry_id: str, raw: dict) -> None:
        """Process one stored deliver_sm."""
        fields = {as_str(k): as_str(v) for k, v in raw.items()}
        if await self.redis.exists(sms_keys.mo_done(entry_id)):
            await self.redis.xack(sms_keys.MO_STREAM, self.group, entry_id)
            return
        source = fields["source"]
        payload = bytes.fromhex(fields.get("payload", ""))
        data_coding = int(fields.get("data_coding", 0))
        received_at = float(fields["received_at"])
        segment, body = self._segment(fields, payload)
        digest = _digest(payload, segment, data_coding)
        if await self._is_duplicate(entry_id, source, digest, fields, received_at):
            self.metrics.mo.labels("duplicate").inc()
            logger.debug("resent MO from %s dropped", mask_phone(source))
            await self._finish(entry_id, None)
            return
        if segment == MALFORMED:
            await self._answer(entry_id, source, None, received_at)
            return
        if segment is None:
            await self._answer(entry_id, source, decode_mo(body, data_coding), received_at)
            return
        text = await self._add_part(entry_id, source, segment, body, data_coding, received_at)
        if text is None:  # waiting for the other parts; this one is safe in Redis
            await self._finish(entry_id, None)

    async def _is_duplicate(self, entry_id: str, source: str, digest: str, fields: dict, received_at: float) -> bool:
        """True for a resend of an MO already taken; records this one as the latest otherwise."""
        key = sms_keys.dedup(source, digest)
        record = self._dedup_record(entry_id, fields, received_at)
        window = self.settings.dedup_window_s
        if await self.redis.set(key, record, nx=True, ex=window):
            return False
        try:
            previous = json.loads(await self.redis.get(key) or "{}")
        except ValueError:
            previous = {}
        if previous.get("entry") == entry_id:  # this very entry, handled again (a retry)
            return False
        answered = await self.redis.get(sms_keys.mo_done(str(previous.get("entry", ""))))
        if self.is_resend(previous, fields, received_at, float(answered) if answered else None):
            return True
        await self.redis.set(key, record, ex=window)  # the citizen's new message: later resends compare to it
        return False

    @staticmethod
    def _dedup_record(entry_id: str, fields: dict, received_at: float) -> str:
        return json.dumps({"entry": entry_id, "bind": fields.get("bind", ""), "seq": fields.get("seq", ""),
                           "at": received_at})

    def is_resend(self, previous: dict, fields: dict, received_at: float, answered_at: float | None) -> bool:
        """Whether an MO with the same source and content as ``previous`` is the SMSC resending it.

        Only the SMSC's resend evidence counts, never the sameness alone (a citizen answers
        "1" to one menu and "1" to the next):

        - the same sequence number on the same bind: the SMSC sent that PDU again;
        - another bind: the link dropped, so our deliver_sm_resp may never have reached
          the SMSC, which delivers again after binding (within ``dedup_window_s``);
        - a few seconds apart (``dedup_resend_s``) and before our reply to the first was
          even queued: the citizen cannot have seen an answer to react to.
        """
        gap = received_at - float(previous.get("at", 0))
        if gap > self.settings.dedup_window_s or gap < -self.settings.dedup_window_s:
            return False
        bind, seq = fields.get("bind", ""), fields.get("seq", "")
        if bind and bind == previous.get("bind"):
            if seq and seq == previous.get("seq"):
                return True
            return gap <= self.settings.dedup_resend_s and (answered_at is None or received_at < answered_at)
        return bool(bind and previous.get("bind"))

    @staticmethod
    def _segment(fields: dict, payload: bytes) -> tuple[Any, bytes]:
        """(reference, total, index) of a part of a long MO, None for a whole one, or ``MALFORMED``."""
        if "sar" in fields:
            ref, total, seq = (int(x) for x in fields["sar"].split(","))
            if total > 1 and not 1 <= seq <= total:
                return MALFORMED, payload
            return ((ref, total, seq) if total > 1 else None), payload
        if int(fields.get("esm_class", 0)) & UDHI:
            try:
                concat, body = split_udh(payload)
            except MalformedUdh:
                return MALFORMED, payload
            return (concat if concat and concat[1] > 1 else None), body
        return None, payload

    async def _add_part(self, entry_id: str, source: str, segment: tuple[int, int, int], body: bytes,
                        data_coding: int, received_at: float) -> str | None:
        ref, total, seq = segment
        key = sms_keys.parts(source, f"{ref}:{total}")
        part = json.dumps({"hex": body.hex(), "dc": data_coding, "at": received_at})
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, str(seq), part)
        pipe.expire(key, self.settings.part_timeout_s * 10)
        pipe.zadd(sms_keys.PARTS_DEADLINES, {key: time.time() + self.settings.part_timeout_s}, nx=True)
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
        for key in await self.redis.zrangebyscore(sms_keys.PARTS_DEADLINES, 0, time.time()):
            key = as_str(key)
            if await self.redis.zrem(sms_keys.PARTS_DEADLINES, key):  # one worker wins
                source = key.split(":")[2]
                logger.info("long MO from %s incomplete after timeout; answering its parts", mask_phone(source))
                self.metrics.mo.labels("incomplete").inc()
                try:
                    await self._assemble(f"parts-{key}", key, source)
                except REDIS_DOWN:
                    await self.redis.zadd(sms_keys.PARTS_DEADLINES, {key: time.time()})  # swept again later
                    raise
                except Exception:  # no retry from a stream here: the citizen is told it was unreadable
                    logger.exception("long MO from %s could not be assembled", mask_phone(source))
                    await self._answer(f"parts-{key}", source, None, time.time(), parts_key=key)

    async def _answer(self, entry_id: str, source: str, text: str | None, received_at: float,
                      parts_key: str | None = None) -> None:
        if text is None:
            logger.info("unreadable MO from %s (binary or invalid encoding) rejected", mask_phone(source))
            self.metrics.mo.labels("unreadable").inc()
        reply = await self.router.reply(source, text, message_id=entry_id)
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
        if parts_key is not None:
            pipe.delete(parts_key)
            pipe.zrem(sms_keys.PARTS_DEADLINES, parts_key)
        self._queue_finish(pipe, [(entry_id, mt)], counted)
        await pipe.execute()

    def _queue_finish(self, pipe: Any, finished: list[tuple[str, dict | None]], counted: bool = True) -> None:
        """Add to a transaction: the replies queued, the MOs marked answered, acknowledged and deleted
        (``counted``: their senders counted in the day's SMS conversations)."""
        now = f"{time.time():.6f}"
        ttl = max(self.settings.dedup_window_s, 3600)
        stream_ids = []
        for entry_id, mt in finished:
            if mt is not None:
                pipe.xadd(sms_keys.MT_STREAM, mt)
            # The time it was answered: a later identical MO arriving after it is the citizen's, not a resend.
            pipe.set(sms_keys.mo_done(entry_id), now, ex=ttl)
            if not entry_id.startswith("parts-"):
                stream_ids.append(entry_id)
        who = [pseudonym(mt["dest"]) for _, mt in finished if mt is not None]
        if counted and who:
            stats.queue_conversation(pipe, "sms", who)
        if stream_ids:
            # Answered: nothing of what the citizen typed stays in Redis (the dedup record keeps a digest).
            pipe.xack(sms_keys.MO_STREAM, self.group, *stream_ids)
            pipe.xdel(sms_keys.MO_STREAM, *stream_ids)
