"""The SMPP link: one bind to the SMSC, on the event loop (asyncio streams, smpplib's PDU codec).

The link connects, binds and reads the socket in bursts: every whole PDU one read
brought is handled together (group commit). The deliver_sm of a burst and the
submit_sm accepted in it are written with one Redis transaction (the intake stores
the MOs, ``on_accepted`` adds the recording of the acceptances); then the
deliver_sm are answered with the statuses the intake returned, so a deliver_sm is
acknowledged only after it is stored, and the waiting submits learn their results,
so an acceptance is recorded before anything else happens (``on_recorded`` is told
whether that transaction was written: when Redis could not take it, the sender keeps
the acceptance and writes it later, so it is never forgotten). Up to ``MAX_COMMITS``
bursts are written at once while reading goes on (an SMSC window of 10 unanswered
deliver_sm would otherwise wait a Redis round trip per burst); the delivery
receipts of a burst are written apart, after every commit recording acceptances
(a receipt may report on one), so the MOs' answers never wait for them.

Submits: a window of outstanding submit_sm, a rate cap, and a future per sequence
number resolved by its submit_sm_resp. A dropped link or a failed bind is retried
with exponential backoff; submits in flight fail with :class:`SubmitInDoubt` (the
SMSC may have taken them) and are retried by the sender. An idle link sends
enquire_link every ``enquire_link_s`` and is dropped when nothing came for three of them.

smpplib's own client blocks on its socket and would need a thread of its own; on
one event loop there is no thread hop, no lock and no wait for the GIL per PDU
(measured: those waits, not the work, bounded the rate of the threaded link).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import smpplib.consts as C
import smpplib.exceptions
import smpplib.smpp
from smpplib.client import SimpleSequenceGenerator

from common.streams import pause
from sms_gateway.config import SmsSettings

logger = logging.getLogger(__name__)

# The deliver_sm PDUs of one burst, and what else to write in the same transaction -> their statuses
# (raises :class:`NotStored` when that transaction failed).
DeliverHandler = Callable[[list[Any], Callable[[Any], None] | None], Awaitable[list[int]]]
# Adds to a transaction the recording of accepted submits: (tag given to submit, result).
AcceptedHandler = Callable[[Any, list[tuple[Any, "SubmitResult"]]], None]
# Told after that transaction whether it was written (False: the recording is the handler's to redo).
RecordedHandler = Callable[[list[tuple[Any, "SubmitResult"]], bool], None]
MAX_COMMITS = 4  # bursts being written at once (the reading goes on meanwhile)
RECEIPT_TYPE = 0x04  # esm_class bits 2-5: SMSC delivery receipt
BURST_BYTES = 1 << 16
CONNECT_TIMEOUT_S = 10.0
SUBMIT_SM, SUBMIT_SM_RESP, DELIVER_SM, DELIVER_SM_RESP, ENQUIRE_LINK_RESP = (
    0x00000004, 0x80000004, 0x00000005, 0x80000005, 0x80000015)
_HEADER = struct.Struct(">LLLL")
_SAR_TLVS = (("sar_msg_ref_num", 0x020C, ">HHH"), ("sar_total_segments", 0x020E, ">HHB"),
             ("sar_segment_seqnum", 0x020F, ">HHB"))
_FAST_SUBMIT = {"source_addr_ton", "source_addr_npi", "source_addr", "dest_addr_ton", "dest_addr_npi",
                "destination_addr", "esm_class", "registered_delivery", "data_coding", "short_message",
                *(name for name, _, _ in _SAR_TLVS)}


def _octets(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


def encode_submit_sm(sequence: int, params: dict[str, Any]) -> bytes:
    """A submit_sm with the parameters the sender uses, encoded directly (smpplib's generic encoder
    walks every optional parameter of the command for each PDU: most of a submit's CPU)."""
    message = _octets(params.get("short_message", b""))
    body = b"".join((
        b"\x00",  # service_type
        bytes((params.get("source_addr_ton", 0), params.get("source_addr_npi", 0))),
        _octets(params.get("source_addr", "")), b"\x00",
        bytes((params.get("dest_addr_ton", 0), params.get("dest_addr_npi", 0))),
        _octets(params["destination_addr"]), b"\x00",
        bytes((params.get("esm_class", 0), 0, 0)),  # esm_class, protocol_id, priority_flag
        b"\x00\x00",  # schedule_delivery_time, validity_period: none
        bytes((params.get("registered_delivery", 0), 0, params.get("data_coding", 0), 0, len(message))),
        message,
        *(struct.pack(layout, tag, struct.calcsize(layout) - 4, params[name])
          for name, tag, layout in _SAR_TLVS if params.get(name) is not None),
    ))
    return _HEADER.pack(16 + len(body), SUBMIT_SM, 0, sequence) + body


@dataclass
class DeliverSm:
    """A deliver_sm, decoded directly: the fields the intake reads (smpplib's parser builds every
    field of the command for each PDU)."""

    sequence: int
    source_addr: bytes = b""
    destination_addr: bytes = b""
    esm_class: int = 0
    data_coding: int = 0
    short_message: bytes = b""
    message_payload: bytes | None = None
    receipted_message_id: bytes | None = None
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    status: int = 0
    command: str = "deliver_sm"

    def is_error(self) -> bool:
        return self.status != C.SMPP_ESME_ROK


_DELIVER_TLVS = {0x0424: "message_payload", 0x001E: "receipted_message_id", 0x020C: "sar_msg_ref_num",
                 0x020E: "sar_total_segments", 0x020F: "sar_segment_seqnum"}


def decode_deliver_sm(pdu: bytes) -> DeliverSm:
    """The fields of a deliver_sm the intake reads (unknown optional parameters are skipped)."""
    _, _, status, sequence = _HEADER.unpack_from(pdu)
    position = 16

    def cstring() -> bytes:
        nonlocal position
        end = pdu.index(b"\x00", position)
        value, position = pdu[position:end], end + 1
        return value

    cstring()  # service_type
    position += 2  # source_addr_ton, source_addr_npi
    source = cstring()
    position += 2
    destination = cstring()
    esm_class = pdu[position]
    position += 3  # esm_class, protocol_id, priority_flag
    cstring()
    cstring()  # schedule_delivery_time, validity_period
    data_coding, length = pdu[position + 2], pdu[position + 4]
    position += 5
    found = DeliverSm(sequence, source, destination, esm_class, data_coding, pdu[position:position + length],
                      status=status)
    position += length
    while position + 4 <= len(pdu):
        tag, size = struct.unpack_from(">HH", pdu, position)
        value = pdu[position + 4:position + 4 + size]
        position += 4 + size
        name = _DELIVER_TLVS.get(tag)
        if name == "message_payload":
            found.message_payload = value
        elif name == "receipted_message_id":
            found.receipted_message_id = value.rstrip(b"\x00")
        elif name is not None:
            setattr(found, name, int.from_bytes(value, "big"))
    return found


@dataclass(frozen=True)
class _SubmitResp:
    """A submit_sm_resp, decoded directly (the PDU the link reads most)."""

    status: int
    sequence: int
    message_id: str
    command: str = "submit_sm_resp"


class LinkDown(Exception):
    """The SMPP link is not bound; try again later."""


class SubmitInDoubt(LinkDown):
    """The submit_sm went out but its submit_sm_resp never came (link lost, or too late): the SMSC
    may have taken it, so sending it again may deliver it twice (the one duplicate SMPP allows)."""


class NotStored(Exception):
    """The deliver handler could not write a burst's transaction (nothing of it is known written)."""


class _Lost(Exception):
    """The link stopped working (closed, silent, or a broken PDU)."""


@dataclass(frozen=True)
class SubmitResult:
    """The SMSC's answer to one submit_sm."""

    status: int
    message_id: str = ""

    @property
    def ok(self) -> bool:
        """Accepted by the SMSC."""
        return self.status == C.SMPP_ESME_ROK

    @property
    def throttled(self) -> bool:
        """The SMSC asks us to slow down; the same PDU must be sent again later."""
        return self.status in (C.SMPP_ESME_RTHROTTLED, C.SMPP_ESME_RMSGQFUL)


class RateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def acquire(self) -> None:
        if not self._interval:
            return
        now = time.monotonic()
        wait = self._next - now
        self._next = max(now, self._next) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)


def _resolve(results: list[tuple[asyncio.Future, SubmitResult]]) -> None:
    for future, result in results:
        if not future.done():
            future.set_result(result)


class SmppLink:
    """One bind to the SMSC."""

    def __init__(self, settings: SmsSettings, on_deliver: DeliverHandler,
                 on_accepted: AcceptedHandler | None = None) -> None:
        self.settings = settings
        self._on_deliver = on_deliver
        self.on_accepted = on_accepted  # records accepted submits (the sender's)
        self.on_recorded: RecordedHandler | None = None  # and learns whether that record was written
        self._sequence = SimpleSequenceGenerator()
        self._writer: asyncio.StreamWriter | None = None
        self._buffer = bytearray()
        self._pending: dict[int, tuple[asyncio.Future, Any]] = {}
        self._window: asyncio.Semaphore | None = None
        self._limiter = RateLimiter(settings.tps)
        self._bound: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._last_rx = time.monotonic()
        self._early: list[Any] = []
        self._out: list[bytes] = []  # PDUs to write at the end of this turn
        self._commits: set[asyncio.Future] = set()
        self._accepting: set[asyncio.Future] = set()  # commits recording acceptances, not done yet
        self._keepalive: asyncio.TimerHandle | None = None
        self.binds = 0
        self._instance = secrets.token_hex(4)
        self.state_listeners: list[Callable[[bool], None]] = []

    @property
    def session_id(self) -> str:
        """Names the current bind (process and bind count): an MO seen again on another bind
        may be the SMSC resending one whose deliver_sm_resp was lost with the link."""
        return f"{self._instance}.{self.binds}"

    @property
    def bound(self) -> bool:
        """True while bound to the SMSC."""
        return self._bound is not None and self._bound.is_set()

    def start(self) -> None:
        """Start binding (call from the event loop, at start-up)."""
        self._bound = asyncio.Event()
        self._stop = asyncio.Event()
        self._window = asyncio.Semaphore(self.settings.window)
        self._task = asyncio.create_task(self._run(), name="smpp-link")

    async def stop(self) -> None:
        """Unbind and stop."""
        if self._stop is None:
            return
        self._stop.set()
        writer = self._writer
        if writer is not None:
            try:
                self._send([smpplib.smpp.make_pdu("unbind", client=self._sequence).generate()])
                await asyncio.wait_for(writer.drain(), 2)
            except Exception:  # the link may already be gone
                pass
            writer.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass

    async def wait_bound(self, timeout: float) -> bool:
        """Wait until bound; False on timeout."""
        if self.bound:
            return True
        assert self._bound is not None, "start() first"
        try:
            await asyncio.wait_for(self._bound.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    # -- the connection ----------------------------------------------------------
    async def _run(self) -> None:
        assert self._stop is not None
        attempt = 0
        while not self._stop.is_set():
            writer = None
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.settings.smsc_host, self.settings.smsc_port), CONNECT_TIMEOUT_S)
                self._buffer.clear()
                self._out = []
                await self._bind(reader, writer)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, _Lost,
                    smpplib.exceptions.PDUError) as exc:
                attempt += 1
                delay = min(self.settings.reconnect_max_s, 0.25 * 2 ** min(attempt, 10))
                logger.warning("SMPP bind failed (%s); retrying in %.1f s", exc or type(exc).__name__, delay)
                if writer is not None:
                    writer.close()
                await pause(self._stop, delay)
                continue
            attempt = 0
            self._writer = writer
            self.binds += 1
            self._set_bound(True)
            logger.info("SMPP bound as %s to %s:%s", self.settings.bind_mode,
                        self.settings.smsc_host, self.settings.smsc_port)
            # A timer, not a task: aiohttp's graceful shutdown waits for the tasks created after start-up.
            self._keepalive = asyncio.get_running_loop().call_later(self.settings.enquire_link_s / 2,
                                                                    self._check_alive, writer)
            try:
                await self._read_loop(reader)
            except (OSError, asyncio.IncompleteReadError, _Lost, LinkDown, smpplib.exceptions.PDUError) as exc:
                if not self._stop.is_set():
                    logger.warning("SMPP link lost: %r", exc)
            except Exception:
                logger.exception("SMPP link failed; reconnecting")
            finally:
                if self._keepalive is not None:
                    self._keepalive.cancel()
                self._set_bound(False)
                self._writer = None
                writer.close()
                self._fail_pending()
            if not self._stop.is_set():
                await pause(self._stop, 0.25)

    async def _bind(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        command = f"bind_{self.settings.bind_mode}"
        writer.write(smpplib.smpp.make_pdu(command, client=self._sequence, system_id=self.settings.system_id,
                                           password=self.settings.password,
                                           system_type=self.settings.system_type).generate())
        # No answer in time: the connection is closed, which ends the read (no task to time out).
        timer = asyncio.get_running_loop().call_later(self.settings.enquire_link_s, writer.close)
        try:
            while True:
                pdus = self._parse_buffered()
                if pdus:
                    resp, rest = pdus[0], pdus[1:]
                    break
                chunk = await reader.read(BURST_BYTES)
                if not chunk:
                    raise _Lost("closed by the SMSC during the bind")
                self._buffer += chunk
        finally:
            timer.cancel()
        if resp.command != f"{command}_resp" or resp.status != C.SMPP_ESME_ROK:
            raise _Lost(f"{resp.command} status 0x{resp.status:x}")
        self._early = rest  # what came right behind the bind_resp

    def _parse_buffered(self) -> list[Any]:
        """Every whole PDU in the buffer (what is left stays for the next read)."""
        buffer, offset, pdus = self._buffer, 0, []
        while len(buffer) - offset >= 16:
            length, command_id, status, sequence = _HEADER.unpack_from(buffer, offset)
            if length < 16:
                raise _Lost("broken PDU")
            if len(buffer) - offset < length:
                break
            if command_id == SUBMIT_SM_RESP:
                message_id = bytes(buffer[offset + 16:offset + length]).split(b"\x00", 1)[0].decode("latin-1")
                pdus.append(_SubmitResp(status, sequence, message_id))
            elif command_id == DELIVER_SM:
                pdus.append(decode_deliver_sm(bytes(buffer[offset:offset + length])))
            else:
                pdus.append(smpplib.smpp.parse_pdu(bytes(buffer[offset:offset + length]), client=self._sequence,
                                                   allow_unknown_opt_params=True))
            offset += length
        if offset:
            del buffer[:offset]
        return pdus

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        assert self._stop is not None
        self._last_rx = time.monotonic()
        pdus, self._early = self._early, []
        while not self._stop.is_set():
            if pdus:
                self._dispatch(pdus)
                if len(self._commits) >= MAX_COMMITS:
                    await asyncio.wait(self._commits, return_when=asyncio.FIRST_COMPLETED)
            chunk = await reader.read(BURST_BYTES)
            if not chunk:
                raise _Lost("closed")
            self._last_rx = time.monotonic()
            self._buffer += chunk
            pdus = self._parse_buffered()

    def _check_alive(self, writer: asyncio.StreamWriter) -> None:
        """enquire_link when idle; the link is dropped when nothing came for three intervals."""
        every = self.settings.enquire_link_s
        idle = time.monotonic() - self._last_rx
        if idle > 3 * every:
            logger.warning("SMPP link silent for %.0f s; reconnecting", idle)
            writer.close()  # the read loop sees the end
            return
        if idle >= every and not writer.is_closing():
            writer.write(smpplib.smpp.make_pdu("enquire_link", client=self._sequence).generate())
        self._keepalive = asyncio.get_running_loop().call_later(every / 2, self._check_alive, writer)

    def _set_bound(self, bound: bool) -> None:
        assert self._bound is not None
        (self._bound.set if bound else self._bound.clear)()
        for listener in self.state_listeners:
            listener(bound)

    def _send(self, pdus: list[bytes]) -> None:
        """Write encoded PDUs; what is sent in one turn of the event loop goes out with one write
        (each write wakes the SMSC: under load, a write per PDU cost more than the PDU)."""
        writer = self._writer
        if writer is None or writer.is_closing():
            raise LinkDown("not connected")
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush, writer)
        self._out += pdus

    def _flush(self, writer: asyncio.StreamWriter) -> None:
        out, self._out = self._out, []
        if not writer.is_closing():
            writer.write(b"".join(out))

    def _dispatch(self, pdus: list[Any]) -> None:
        """Handle one burst: what needs no write at once, the rest in a commit of its own."""
        delivers: list[Any] = []
        answers: list[bytes] = []  # deliver_sm_resp and enquire_link_resp, sent with one write
        results: list[tuple[asyncio.Future, SubmitResult]] = []
        accepted: list[tuple[Any, SubmitResult]] = []
        for pdu in pdus:
            command = pdu.command
            if command == "deliver_sm":
                delivers.append(pdu)
            elif command == "submit_sm_resp":
                result = SubmitResult(status=pdu.status, message_id=pdu.message_id)
                future, tag = self._pending.pop(pdu.sequence, (None, None))
                if future is not None:
                    results.append((future, result))
                    if result.ok and tag is not None:
                        accepted.append((tag, result))
            elif command == "enquire_link":
                answers.append(_HEADER.pack(16, ENQUIRE_LINK_RESP, 0, pdu.sequence))
            elif command == "unbind":
                answer = smpplib.smpp.make_pdu("unbind_resp", client=self._sequence)
                answer.sequence = pdu.sequence
                self._send([answer.generate()])
                raise _Lost("the SMSC unbound")
            elif pdu.is_error():
                logger.warning("SMSC answered %s with status 0x%x", command, pdu.status)
            elif command not in ("enquire_link_resp", "unbind_resp", "alert_notification"):
                logger.warning("unhandled SMPP command %s", command)
        if not (delivers or accepted):
            if answers:
                self._send(answers)
            _resolve(results)
            return
        receipts = [p for p in delivers if (int(getattr(p, "esm_class", 0) or 0) & 0x3C) == RECEIPT_TYPE]
        mos = [p for p in delivers if (int(getattr(p, "esm_class", 0) or 0) & 0x3C) != RECEIPT_TYPE]
        if mos or accepted:
            self._start_commit(mos, accepted, results, answers, [])
            results, answers = [], []
        if receipts:  # apart: the MOs' answers do not wait for the receipts' look-ups
            self._start_commit(receipts, [], results, answers, list(self._accepting))

    def _start_commit(self, delivers: list[Any], accepted: list[tuple[Any, SubmitResult]],
                      results: list[tuple[asyncio.Future, SubmitResult]], answers: list[bytes],
                      before: list[asyncio.Future]) -> None:
        commit = asyncio.ensure_future(self._commit(delivers, accepted, results, answers, before))
        self._commits.add(commit)
        commit.add_done_callback(self._commits.discard)
        if accepted:  # a later receipt may report on these: it waits for this commit
            self._accepting.add(commit)
            commit.add_done_callback(self._accepting.discard)

    async def _commit(self, delivers: list[Any], accepted: list[tuple[Any, SubmitResult]],
                      results: list[tuple[asyncio.Future, SubmitResult]], answers: list[bytes],
                      after: list[asyncio.Future]) -> None:
        """One transaction for the burst's MOs and acceptances, then its answers and results."""
        if after:
            await asyncio.wait(after)
        on_accepted = self.on_accepted
        extra = (lambda pipe: on_accepted(pipe, accepted)) if accepted and on_accepted is not None else None
        statuses, stored = await self._deliver(delivers, extra)
        if extra is not None and self.on_recorded is not None:  # before the submits learn their results
            self.on_recorded(accepted, stored)
        answers += [_HEADER.pack(17, DELIVER_SM_RESP, status, pdu.sequence) + b"\x00"  # no message_id
                    for pdu, status in zip(delivers, statuses, strict=True)]
        try:
            if answers:
                self._send(answers)
        except LinkDown:  # gone meanwhile: the SMSC delivers again what it has no answer for
            pass
        _resolve(results)

    async def _deliver(self, pdus: list[Any], extra: Callable[[Any], None] | None) -> tuple[list[int], bool]:
        """The statuses of the deliver_sm, and whether the burst's transaction was written."""
        try:
            return await self._on_deliver(pdus, extra), True
        except NotStored:  # the handler said why
            pass
        except Exception:
            logger.error("deliver_sm handler failed", exc_info=True)
        return [C.SMPP_ESME_RX_T_APPN] * len(pdus), False  # temporary: the SMSC will deliver them again

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(SubmitInDoubt("link lost before submit_sm_resp"))

    # -- submits -----------------------------------------------------------------
    async def submit(self, timeout: float = 30.0, accepted: Any = None, **params: Any) -> SubmitResult:
        """Send one submit_sm and wait for its response.

        ``accepted`` (any tag) is handed to ``on_accepted`` with the result as soon as the
        SMSC accepts the PDU, with the other acceptances of the same read, before this
        returns, so what it records survives a crash right after the acceptance.

        Raises:
            LinkDown: not bound, nothing sent.
            SubmitInDoubt: sent, but the link dropped before the response, or it came too late.
        """
        assert self._window is not None, "start() first"
        async with self._window:
            await self._limiter.acquire()
            if not self.bound:
                raise LinkDown("not bound")
            if _FAST_SUBMIT.issuperset(params):
                sequence = self._sequence.next_sequence()
                encoded = encode_submit_sm(sequence, params)
            else:
                pdu = smpplib.smpp.make_pdu("submit_sm", client=self._sequence, **params)
                sequence, encoded = pdu.sequence, pdu.generate()
            future: asyncio.Future = asyncio.get_running_loop().create_future()
            self._pending[sequence] = (future, accepted)
            try:
                self._send([encoded])
            except LinkDown:
                self._pending.pop(sequence, None)
                raise
            try:
                return await asyncio.wait_for(future, timeout)
            except asyncio.TimeoutError as exc:
                self._pending.pop(sequence, None)
                raise SubmitInDoubt("no submit_sm_resp in time") from exc
