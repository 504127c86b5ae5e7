"""Redis keys and streams of the SMS gateway, in one place."""

from __future__ import annotations

from common.streams import SMS_OUTBOX

MO_STREAM = "sms:mo"  # deliver_sm as received, before deliver_sm_resp
MT_STREAM = SMS_OUTBOX  # replies to send (the name lives in common: other services queue SMS too)
DEAD_STREAM = "sms:dead"  # MO or MT given up, with the reason
MT_GROUP = "sms-senders"
LINKS = "sms:links"  # the names of the SMPP links that ever said they were bound (see link_bound)


def link_bound(name: str) -> str:
    """Set by a link, with a short expiry, again and again while it is bound (the workers' /health)."""
    return f"sms:link:bound:{name}"


def mo_done(entry_id: str) -> str:
    """Set atomically with the reply to the time it was answered (restart-safe)."""
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


LAST_LOOKUP_TTL_S = 24 * 3600


def last_lookup(msisdn: str) -> str:
    """The dossier a number last looked up by keyword (``HS <mã>``), until its next free text
    tells the assistant (so "có gì mới thì nhắn em" is about that dossier)."""
    return f"sms:last_lookup:{msisdn}"


AWAITS_CODE_TTL_S = 3600  # the assistant's conversation session (domain.yml session_expiration_time: 60 min)


def awaits_code(msisdn: str) -> str:
    """Set while the assistant's last reply to a number asked for a dossier code (a form's question):
    a bare code the number sends then answers the assistant instead of being an ``HS`` lookup."""
    return f"sms:awaits_code:{msisdn}"


def options(msisdn: str) -> str:
    """Payloads of the numbered options last offered to a number."""
    return f"sms:options:{msisdn}"


def told(what: str, msisdn: str) -> str:
    """Set once a number was told it is limited (``rate`` or ``unknown``)."""
    return f"sms:told:{what}:{msisdn}"

