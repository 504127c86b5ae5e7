"""deliver_sm intake, run in the SMPP reader thread: store first, then answer.

An MO is appended to the ``sms:mo`` stream before its deliver_sm_resp goes
back; if Redis cannot take it, the SMSC gets a temporary error and delivers it
again. Delivery receipts update the state of the MT they report on.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import smpplib.consts as C

from common import sms_keys, stats
from common.privacy import mask_phone
from common.stats import Count
from sms_gateway.metrics import Metrics

logger = logging.getLogger(__name__)

RECEIPT_TYPE = 0x04  # esm_class bits 2-5: SMSC delivery receipt
_RECEIPT = re.compile(rb"id:(?P<id>[0-9A-Za-z\-]+).*?stat:(?P<stat>[A-Z]+)", re.S)
FINAL_STATES = {"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "REJECTD", "UNKNOWN", "ACCEPTD"}


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
                 session: Callable[[], str] | None = None) -> None:
        self.redis = redis  # a synchronous redis.Redis: this runs in the reader thread
        self.metrics = metrics
        self.receipt_ttl_s = receipt_ttl_s
        self.session = session or (lambda: "")  # the current bind (SmppLink.session_id)

    def __call__(self, pdu: Any) -> int:
        esm_class = int(getattr(pdu, "esm_class", 0) or 0)
        if (esm_class & 0x3C) == RECEIPT_TYPE:
            return self._receipt(pdu)
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
        try:
            self.redis.xadd(sms_keys.MO_STREAM, fields)
        except Exception:
            logger.error("could not store an MO from %s; asking the SMSC to retry",
                         mask_phone(fields["source"]), exc_info=True)
            self.metrics.mo.labels("store_failed").inc()
            return C.SMPP_ESME_RX_T_APPN
        self.metrics.mo.labels("stored").inc()
        logger.debug("MO from %s stored (%d bytes)", mask_phone(fields["source"]), len(payload))
        return C.SMPP_ESME_ROK

    def _receipt(self, pdu: Any) -> int:
        text = _bytes(getattr(pdu, "short_message", None)) or _bytes(getattr(pdu, "message_payload", None))
        match = _RECEIPT.search(text)
        smsc_id = _text(getattr(pdu, "receipted_message_id", None)) or (match["id"].decode() if match else "")
        state = match["stat"].decode() if match else "UNKNOWN"
        try:
            self.record_receipt(smsc_id, state if state in FINAL_STATES else "UNKNOWN")
        except Exception:
            logger.error("could not record a delivery receipt", exc_info=True)
            return C.SMPP_ESME_RX_T_APPN
        return C.SMPP_ESME_ROK

    def record_receipt(self, smsc_id: str, state: str) -> str | None:
        """Record the final state of the MT part with this SMSC id; returns the MT entry id."""
        for candidate in id_candidates(smsc_id) if smsc_id else []:
            found = self.redis.hgetall(sms_keys.message_id(candidate))
            if found:
                entry = found[b"mt"].decode()
                pipe = self.redis.pipeline(transaction=False)
                pipe.hset(sms_keys.mt_state(entry), found[b"part"].decode(), state)
                pipe.expire(sms_keys.mt_state(entry), self.receipt_ttl_s)
                stats.queue(pipe, [Count(stats.DLR, state)], None).execute()
                self.metrics.receipts.labels(state).inc()
                return entry
        self.metrics.receipts.labels("unmatched").inc()
        logger.warning("delivery receipt for an unknown message id")
        return None
