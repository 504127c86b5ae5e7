"""MT sender: a consumer of the ``sms:mt`` stream, submitting over the SMPP link.

Each reply is encoded (ASCII-folded GSM-7 by default, UCS2 when configured),
split into at most ``max_segments`` concatenated parts (UDH, or sar_ TLVs) and
submitted part by part. A part accepted by the SMSC is recorded at once (the link
hands over the acceptances of one socket read together: one Redis write), so a
restart resumes with the parts still to send (the consumer's own pending entries
come first). Replies sent in the same turn are acknowledged in one transaction. ESME_RTHROTTLED and
ESME_RMSGQFUL back off and resend the same part, as does a lost link; other
errors are retried ``submit_retries`` times, then the reply goes to the
dead-letter stream with the reason.

An acceptance the link saw is never forgotten by this process: the sender keeps the
accepted parts of every reply not yet acknowledged in memory (entry -> part -> SMSC
message id), and treats them as sent when it resumes the entry. When Redis could not
take the link's record of an acceptance (an outage), that record is written late: before
the entry's next part is submitted, or with the entry's acknowledgement, whichever
comes first. So a part goes out twice only when its submit_sm_resp never came
(``sms_submit_sm{result="in_doubt"}`` counts them), the duplicate SMPP allows, or when
the link process died between reading the resp and recording it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from common import sms_keys, stats
from common.privacy import mask_phone
from common.sms_text import prepare
from common.streams import ConsumerPolicy, Entry, GroupCommit, StreamConsumer, execute_idempotent
from sms_gateway.config import SmsSettings
from sms_gateway.encoding import DATA_CODING_GSM7, DATA_CODING_UCS2, encode, udh
from sms_gateway.link import LinkDown, SmppLink, SubmitInDoubt, SubmitResult
from sms_gateway.metrics import Metrics

logger = logging.getLogger(__name__)

REMEMBERED_PER_SLOT = 100  # replies remembered per slot of the window (their acks may wait out an outage)


@dataclass
class _Accepted:
    """The parts of one reply the SMSC accepted (index -> message id), and those whose record is
    not known to be in Redis."""

    parts: dict[int, str] = field(default_factory=dict)
    unrecorded: set[int] = field(default_factory=set)


class MtSender:
    """Sends queued replies, ``window`` of them at a time (read through :class:`StreamConsumer`).

    An entry whose sending failed unexpectedly stays pending and is retried with
    backoff up to the attempt limit, then dead-lettered with the error."""

    def __init__(self, redis: Any, link: SmppLink, settings: SmsSettings, metrics: Metrics,
                 consumer: str, policy: ConsumerPolicy | None = None) -> None:
        self.redis = redis
        self.link = link
        self.settings = settings
        self.metrics = metrics
        window = max(settings.window, 1)
        self.consumer = StreamConsumer(
            redis, sms_keys.MT_STREAM, sms_keys.MT_GROUP, consumer, self._handle_entry,
            dead_stream=sms_keys.DEAD_STREAM,
            policy=policy or ConsumerPolicy(batch=window, concurrency=window, block_ms=200), gate=self._bound,
        )
        self._acks: GroupCommit[tuple[str, str]] = GroupCommit(self._write_acks)
        # Replies not acknowledged yet -> their accepted parts (oldest first; bounded, see _remembered).
        self._accepted: dict[str, _Accepted] = {}
        self._max_remembered = max(window * REMEMBERED_PER_SLOT, 1000)
        link.on_accepted = self.record_accepted
        link.on_recorded = self.recorded

    async def run(self, stop: asyncio.Event) -> None:
        """Send pending entries of this consumer first, then new ones, until ``stop``."""
        await self.consumer.run(stop)

    async def _bound(self) -> bool:
        return self.link.bound or await self.link.wait_bound(0.5)

    async def _handle_entry(self, entry: Entry) -> None:
        await self.send(entry.id, entry.fields, resume=not entry.first)

    async def send(self, entry_id: str, mt: dict, resume: bool = True) -> None:
        """Submit every part of one reply not yet accepted, then acknowledge it (``resume``: the
        entry may have been tried before, look up which parts the SMSC already took)."""
        dest = mt["dest"]
        ucs2 = self.settings.wants_ucs2(dest)
        parts = prepare(mt["text"], ucs2, self.settings.max_segments)
        known = self._accepted.get(entry_id)
        done = set(known.parts) if known is not None else set()
        if resume:
            done.update(int(k) for k in await self.redis.hkeys(sms_keys.mt_progress(entry_id)))
            if known is not None and known.unrecorded and len(done) < len(parts):
                await self._write_late(entry_id)  # Redis is back: what it missed, before any more parts
        reference = int(hashlib.sha1(entry_id.encode()).hexdigest(), 16) % 255 + 1  # same on a resume
        for part in parts:
            if part.index in done:
                continue
            params = self._params(dest, part.text, ucs2, reference, part.index, part.total)
            refused = await self._submit_part(entry_id, part.index, params)
            if refused is not None:
                await self._dead_letter(entry_id, mt, *refused)
                return
        await self._acks.add((entry_id, mt.get("mo_at", "")))
        self.metrics.mt.labels("sent").inc()

    async def _write_acks(self, sent: list[tuple[str, str]]) -> None:
        """Acknowledge the replies sent in one turn and drop their progress, in one transaction."""
        ids = [entry_id for entry_id, _ in sent]
        now = time.time()
        seconds = [max(now - float(mo_at), 0) for _, mo_at in sent if mo_at]

        def build(pipe: Any) -> None:
            for entry_id in ids:
                self._add_late(pipe, entry_id, progress=False)  # deleted below: only the receipts' map
            pipe.xack(sms_keys.MT_STREAM, sms_keys.MT_GROUP, *ids)
            pipe.delete(*(sms_keys.mt_progress(entry_id) for entry_id in ids))
            if seconds:
                stats.queue_response(pipe, "sms", seconds)  # the dashboard's figure, in the same round trip

        await execute_idempotent(self.redis, build)
        self._forget(ids)
        for value in seconds:
            self.metrics.round_trip.observe(value)

    def _params(self, dest: str, text: str, ucs2: bool, reference: int, index: int, total: int) -> dict:
        s = self.settings
        body = encode(text, ucs2)
        params: dict[str, Any] = dict(
            source_addr_ton=s.source_ton, source_addr_npi=s.source_npi, source_addr=s.source_addr,
            dest_addr_ton=s.dest_ton, dest_addr_npi=s.dest_npi, destination_addr=dest,
            data_coding=DATA_CODING_UCS2 if ucs2 else DATA_CODING_GSM7,
            registered_delivery=1 if s.registered_delivery else 0,
            esm_class=0, short_message=body,
        )
        if total > 1:
            if s.use_sar:
                params.update(sar_msg_ref_num=reference, sar_total_segments=total, sar_segment_seqnum=index)
            else:
                params.update(esm_class=0x40, short_message=udh(reference, total, index) + body)
        return params

    async def _submit_part(self, entry_id: str, index: int, params: dict) -> tuple[str, int] | None:
        """Submit until accepted; returns the reason and the attempts when the part is given up."""
        errors = 0
        throttles = 0
        while True:
            try:
                result = await self.link.submit(accepted=(entry_id, index), **params)
            except SubmitInDoubt:  # sent again: the SMSC may have taken it (a duplicate SMPP allows)
                self.metrics.submits.labels("in_doubt").inc()
                await self.link.wait_bound(1.0)
                continue
            except LinkDown:
                await self.link.wait_bound(1.0)
                continue
            if result.ok:
                self.metrics.submits.labels("ok").inc()
                return None
            if result.throttled:
                self.metrics.throttled.inc()
                self.metrics.submits.labels("throttled").inc()
                throttles += 1
                await asyncio.sleep(min(self.settings.throttle_backoff_s * 2 ** min(throttles - 1, 5), 10))
                continue
            self.metrics.submits.labels("error").inc()
            errors += 1
            if errors > self.settings.submit_retries:
                return f"submit_sm error 0x{result.status:x} after {errors} attempts", errors
            await asyncio.sleep(self.settings.throttle_backoff_s * errors)

    def record_accepted(self, pipe: Any, accepted: list[tuple[tuple[str, int], SubmitResult]]) -> None:
        """Parts with the SMSC (``((entry id, part index), result)``): remembered here until their
        reply is acknowledged, and added to the link's transaction, so a restart does not send them
        again, with their message ids mapped for the receipts."""
        for (entry_id, index), result in accepted:
            self._remembered(entry_id).parts[index] = result.message_id
            self._add_record(pipe, entry_id, index, result.message_id)

    def recorded(self, accepted: list[tuple[tuple[str, int], SubmitResult]], stored: bool) -> None:
        """Whether the link's transaction with these acceptances was written; if not, they are
        written late (by :meth:`send` on a resume, or with the acknowledgement)."""
        if stored:
            return
        for (entry_id, index), result in accepted:
            known = self._remembered(entry_id)
            known.parts[index] = result.message_id  # also when the transaction was never even built
            known.unrecorded.add(index)
        self.metrics.submits.labels("recorded_late").inc(len(accepted))

    def _remembered(self, entry_id: str) -> _Accepted:
        known = self._accepted.get(entry_id)
        if known is None:
            known = self._accepted[entry_id] = _Accepted()
            # Bounded: an entry leaves on its ack; only entries another consumer took over linger.
            while len(self._accepted) > self._max_remembered:
                self._accepted.pop(next(iter(self._accepted)))
        return known

    def _add_record(self, pipe: Any, entry_id: str, index: int, message_id: str, progress: bool = True) -> None:
        if progress:
            pipe.hset(sms_keys.mt_progress(entry_id), str(index), message_id)
        pipe.hset(sms_keys.message_id(message_id), mapping={"mt": entry_id, "part": str(index)})
        pipe.expire(sms_keys.message_id(message_id), self.settings.receipt_ttl_s)

    def _add_late(self, pipe: Any, entry_id: str, progress: bool = True) -> None:
        """Add to a transaction the records of the entry's acceptances Redis missed (``progress``:
        the parts done too, not only the message ids for the receipts)."""
        known = self._accepted.get(entry_id)
        if known is not None:
            for index in sorted(known.unrecorded):
                self._add_record(pipe, entry_id, index, known.parts[index], progress)

    async def _write_late(self, entry_id: str) -> None:
        await execute_idempotent(self.redis, lambda pipe: self._add_late(pipe, entry_id))
        known = self._accepted.get(entry_id)
        if known is not None:
            known.unrecorded.clear()

    def _forget(self, entry_ids: list[str]) -> None:
        """Acknowledged (or dead-lettered): Redis no longer needs this process's memory of them."""
        for entry_id in entry_ids:
            self._accepted.pop(entry_id, None)

    async def _dead_letter(self, entry_id: str, mt: dict, reason: str, attempts: int) -> None:
        logger.error("MT to %s given up: %s", mask_phone(mt["dest"]), reason)

        def extra(pipe: Any) -> None:
            self._add_late(pipe, entry_id, progress=False)  # the parts that did go out keep their receipts
            pipe.delete(sms_keys.mt_progress(entry_id))

        await self.consumer.dead_letter(Entry(entry_id, mt), "SubmitRefused", reason, attempts, extra=extra)
        self._forget([entry_id])
        self.metrics.mt.labels("dead_letter").inc()
