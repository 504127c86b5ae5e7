"""Redis keys and streams of the SMS gateway, in one place."""

from __future__ import annotations

from typing import Any

from redis import exceptions as redis_errors

from common.text import as_str

MO_STREAM = "sms:mo"  # deliver_sm as received, before deliver_sm_resp
MT_STREAM = "sms:mt"  # replies to send
DEAD_STREAM = "sms:dead"  # MT given up, with the reason
MT_GROUP = "sms-senders"


def mo_done(entry_id: str) -> str:
    """Set atomically with the reply: the MO was answered (restart-safe)."""
    return f"sms:mo:done:{entry_id}"


def dedup(source: str, digest: str) -> str:
    """First MO entry seen with this source and content/segment."""
    return f"sms:dedup:{source}:{digest}"


def parts(source: str, reference: str) -> str:
    """The parts received so far of one long MO."""
    return f"sms:parts:{source}:{reference}"


PARTS_DEADLINES = "sms:parts:deadlines"  # zset: parts key -> time to give up waiting


def mt_progress(entry_id: str) -> str:
    """Parts of one MT already accepted by the SMSC: index -> message_id."""
    return f"sms:mt:progress:{entry_id}"


def message_id(smsc_id: str) -> str:
    """An SMSC message id -> the MT it belongs to."""
    return f"sms:msgid:{smsc_id.lower()}"


def mt_state(entry_id: str) -> str:
    """Final states of an MT's parts, from delivery receipts."""
    return f"sms:mt:state:{entry_id}"


def unknown_codes(msisdn: str) -> str:
    """Lookups of codes that do not exist, by a number, in the last hour."""
    return f"sms:unknown:{msisdn}"


def options(msisdn: str) -> str:
    """Payloads of the numbered options last offered to a number."""
    return f"sms:options:{msisdn}"


def told(what: str, msisdn: str) -> str:
    """Set once a number was told it is limited (``rate`` or ``unknown``)."""
    return f"sms:told:{what}:{msisdn}"


async def ensure_group(redis: Any, stream: str, group: str) -> None:
    """Create the consumer group (and the stream) if missing."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except redis_errors.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def queue_mt(redis: Any, dest: str, text: str, origin: str) -> str:
    """Queue an SMS for the gateway's sender (other services reach citizens by SMS this way)."""
    entry = await redis.xadd(MT_STREAM, {"dest": dest, "text": text, "origin": origin})
    return as_str(entry)
