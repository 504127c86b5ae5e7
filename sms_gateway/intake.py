"""deliver_sm intake, called by the SMPP link with a burst of PDUs: store first, then answer.

An MO is appended to the ``sms:mo`` stream before its deliver_sm_resp goes
back; if Redis cannot take it, the SMSC gets a temporary error and delivers it
again. Delivery receipts update the state of the MT they report on.

A refused store is in doubt: Redis may have applied the transaction and lost only
its answer. So the intake remembers what it refused (source and content -> the bind,
sequence and arrival time it was stored under) and stores the SMSC's new delivery
of it under that same identity: the worker's resend evidence (same sequence on the
same bind) then drops whichever copy comes second, however long the outage lasted
(within the worker's resend window, ``dedup_window_s``).
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

import smpplib.consts as C

from common import sms_keys, stats
from common.stats import Count
from common.streams import execute_idempotent
from sms_gateway.link import NotStored
from sms_gateway.metrics import Metrics

logger = logging.getLogger(__name__)

RECEIPT_TYPE = 0x04  # esm_class bits 2-5: SMSC delivery receipt
_RECEIPT = re.compile(rb"id:(?P<id>[0-9A-Za-z\-]+).*?stat:(?P<stat>[A-Z]+)", re.S)
FINAL_STATES = {"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "REJECTD", "UNKNOWN", "ACCEPTD"}
MAX_REFUSED = 10_000  # refused MOs remembered at most (the oldest are forgotten first)
_IDENTITY = ("bind", "seq", "received_at")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


def id_candidates(smsc_id: str) -> list[str]:
    """Forms of a message id to try: as given, hex read as decimal, decimal read as hex."""
    raw = smsc_id.strip().lower()
    forms = [raw]
    if re.fullmatch(r"[0-9a-f]+", raw):
        forms.append(str(int(raw, 16)))
    if raw.isdigit():
        forms.append(format(int(raw), "x"))
    return list(dict.fromkeys(forms))


class Intake:
    """The deliver_sm handler given to :class:`sms_gateway.link.SmppLink`."""

    def __init__(self, redis: Any, metrics: Metrics, receipt_ttl_s: int,
                 session: Callable[[], str] | None = None, resend_window_s: float = 120.0) -> None:
        self.redis = redis  # redis.asyncio
        self.metrics = metrics
        self.receipt_ttl_s = receipt_ttl_s
        self.session = session or (lambda: "")  # the current bind (SmppLink.session_id)
        self.resend_window_s = resend_window_s  # the worker's window for resend evidence (dedup_window_s)
        # (source, content) of a refused MO -> the identity it was stored under, if it was (see the module).
        self._refused: OrderedDict[tuple, tuple[dict, float]] = OrderedDict()
        self._refusing = 0  # MOs refused since the last store that worked (the outage logged once)

    async def __call__(self, pdus: list[Any], extra: Callable[[Any], None] | None = None) -> list[int]:
        """Store the deliver_sm PDUs of one socket read with one Redis transaction (``extra``: more
        to write in it, the link's accepted submits); their statuses, in order.

        Raises:
            NotStored: the transaction failed (none of the PDUs may be acknowledged: the SMSC is to
                get a temporary error for each and deliver them again).
        """
        statuses = [C.SMPP_ESME_ROK] * len(pdus)
        mos: list[tuple[int, dict]] = []
        receipts: list[tuple[int, str, str]] = []
        for i, pdu in enumerate(pdus):
            esm_class = int(getattr(pdu, "esm_class", 0) or 0)
            if (esm_class & 0x3C) == RECEIPT_TYPE:
                receipts.append((i, *self._receipt(pdu)))
            else:
                mos.append((i, self._fields(pdu, esm_class)))
        if mos or extra is not None:
            await self._store([fields for _, fields in mos], extra)
        if receipts:
            try:
                await self.record_receipts([(smsc_id, state) for _, smsc_id, state in receipts])
            except Exception:
                logger.error("could not record %d delivery receipts", len(receipts), exc_info=True)
                for i, *_ in receipts:
                    statuses[i] = C.SMPP_ESME_RX_T_APPN
        return statuses

    async def _store(self, mos: list[dict], extra: Callable[[Any], None] | None) -> None:
        """One transaction: all stored, or none (raises :class:`NotStored`)."""
        keys: list[tuple] = []  # the contents, only while refusals are remembered (not on the hot path)
        if self._refused:
            self._forget_old()
            keys = [self._content(fields) for fields in mos]
            for key, fields in zip(keys, mos, strict=True):
                if key in self._refused:  # delivered again after a refusal: stored as it may have been then
                    fields.update(self._refused[key][0])

        def build(pipe: Any) -> None:
            if extra is not None:
                extra(pipe)
            for fields in mos:
                pipe.xadd(sms_keys.MO_STREAM, fields)

        try:  # an MO stored twice (a lost answer, retried) has the same bind and sequence: the worker drops it
            await execute_idempotent(self.redis, build)
        except Exception as exc:
            if not self._refusing:  # one error with its cause per outage, not one per burst
                logger.error("could not store %d MOs (and what the link accepted meanwhile); asking the SMSC "
                             "to retry until Redis takes them", len(mos), exc_info=True)
            self._refusing += len(mos)
            self.metrics.mo.labels("store_failed").inc(len(mos))
            now = time.monotonic()
            for fields in mos:
                self._refused.setdefault(self._content(fields), ({name: fields[name] for name in _IDENTITY}, now))
            while len(self._refused) > MAX_REFUSED:
                self._refused.popitem(last=False)
            raise NotStored(f"{len(mos)} MOs not stored") from exc
        for key in keys:
            self._refused.pop(key, None)
        if self._refusing:
            logger.warning("MOs stored again after %d were refused for the SMSC to retry", self._refusing)
            self._refusing = 0
        self.metrics.mo.labels("stored").inc(len(mos))
        logger.debug("%d MOs stored", len(mos))

    def _forget_old(self) -> None:
        """Refusals older than the worker's resend window: their evidence would not count any more."""
        oldest = time.monotonic() - self.resend_window_s
        while self._refused and next(iter(self._refused.values()))[1] < oldest:
            self._refused.popitem(last=False)

    @staticmethod
    def _content(fields: dict) -> tuple:
        return (fields["source"], fields["dest"], fields["data_coding"], fields["esm_class"], fields["payload"],
                fields.get("sar"))

    def _fields(self, pdu: Any, esm_class: int) -> dict:
        payload = _bytes(getattr(pdu, "short_message", None)) or _bytes(getattr(pdu, "message_payload", None))
        fields = {
            "source": _text(pdu.source_addr),
            "dest": _text(pdu.destination_addr),
            "data_coding": int(getattr(pdu, "data_coding", 0) or 0),
            "esm_class": esm_class,
            "payload": payload.hex(),
            "received_at": f"{time.time():.6f}",
            "bind": self.session(),  # with seq: the SMSC's evidence when it resends this very PDU
            "seq": int(getattr(pdu, "sequence", 0) or 0),
        }
        sar = [getattr(pdu, name, None) for name in ("sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum")]
        if all(v is not None for v in sar):
            fields["sar"] = ",".join(str(int(v)) for v in sar)
        return fields

    @staticmethod
    def _receipt(pdu: Any) -> tuple[str, str]:
        """(SMSC message id, final state) of a delivery receipt."""
        text = _bytes(getattr(pdu, "short_message", None)) or _bytes(getattr(pdu, "message_payload", None))
        match = _RECEIPT.search(text)
        smsc_id = _text(getattr(pdu, "receipted_message_id", None)) or (match["id"].decode() if match else "")
        state = match["stat"].decode() if match else "UNKNOWN"
        return smsc_id, state if state in FINAL_STATES else "UNKNOWN"

    async def record_receipt(self, smsc_id: str, state: str) -> str | None:
        """Record the final state of the MT part with this SMSC id; returns the MT entry id."""
        return (await self.record_receipts([(smsc_id, state)]))[0]

    async def record_receipts(self, receipts: list[tuple[str, str]]) -> list[str | None]:
        """Record the final states of MT parts by SMSC id (one read, one write); their MT entry ids."""
        candidates = [id_candidates(smsc_id) if smsc_id else [] for smsc_id, _ in receipts]
        matches: list[Any] = [None] * len(receipts)
        # The id as the SMSC gave it first (the usual case), the other forms only for what is left.
        for round_ in (lambda forms: forms[:1], lambda forms: forms[1:]):
            wanted = [(i, form) for i, forms in enumerate(candidates) if matches[i] is None for form in round_(forms)]
            if not wanted:
                continue
            pipe = self.redis.pipeline(transaction=False)
            for _, form in wanted:
                pipe.hgetall(sms_keys.message_id(form))
            for (i, _), hit in zip(wanted, await pipe.execute(), strict=True):
                if hit and matches[i] is None:
                    matches[i] = hit
        entries: list[str | None] = []
        states: Counter[str] = Counter()
        write = self.redis.pipeline(transaction=False)
        for match, (_, state) in zip(matches, receipts, strict=True):
            if match is None:
                self.metrics.receipts.labels("unmatched").inc()
                logger.warning("delivery receipt for an unknown message id")
                entries.append(None)
                continue
            entry = match[b"mt"].decode()
            write.hset(sms_keys.mt_state(entry), match[b"part"].decode(), state)
            write.expire(sms_keys.mt_state(entry), self.receipt_ttl_s)
            states[state] += 1
            entries.append(entry)
        if states:
            await stats.queue(write, [Count(stats.DLR, state, n) for state, n in states.items()], None).execute()
            for state, n in states.items():
                self.metrics.receipts.labels(state).inc(n)
        return entries
