"""The SMPP link: smpplib's blocking client in its own thread, handed to asyncio.

The reader thread connects, binds and reads the socket in bursts: every whole PDU
one ``recv`` brought is handled together (group commit). The deliver_sm of a burst
go to the intake callback at once (one Redis write for all of them) and are
answered with the statuses it returns, so a deliver_sm is acknowledged only after
it is stored; the submit_sm accepted in a burst are handed to ``on_accepted`` at
once (one Redis write records them) before any waiting submit learns its result.
Submits come from asyncio: a window of outstanding submit_sm, a rate cap, and a
future per sequence number resolved by its submit_sm_resp. A dropped link or a
failed bind is retried with exponential backoff; submits in flight fail with
:class:`LinkDown` and are retried by the sender.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import smpplib.client
import smpplib.consts as C
import smpplib.exceptions
import smpplib.smpp

from sms_gateway.config import SmsSettings

logger = logging.getLogger(__name__)

DeliverHandler = Callable[[list[Any]], list[int]]  # deliver_sm PDUs of one burst -> their statuses
AcceptedHandler = Callable[[list[tuple[Any, "SubmitResult"]]], None]  # (tag given to submit, result)
BURST_BYTES = 1 << 16


class LinkDown(Exception):
    """The SMPP link is not bound; try again later."""


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


class _Client(smpplib.client.Client):
    """smpplib's client with every send serialised (two threads send) and reads in bursts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.send_lock = threading.RLock()
        self.last_rx = time.monotonic()
        self._buffer = bytearray()

    def send_pdu(self, p: Any) -> bool:
        with self.send_lock:
            return super().send_pdu(p)

    def send_many(self, pdus: list[Any]) -> None:
        """Send several PDUs with one write (smpplib's send_pdu hex-dumps each for its debug log)."""
        for p in pdus:
            if self.state not in C.COMMAND_STATES[p.command]:  # as smpplib's send_pdu refuses
                raise smpplib.exceptions.PDUError(f"Command {p.command} failed: not bound")
        data = b"".join(p.generate() for p in pdus)
        with self.send_lock:
            try:
                self._socket.sendall(data)
            except OSError as exc:
                raise smpplib.exceptions.ConnectionError() from exc

    def read_pdu(self) -> Any:
        pdu = super().read_pdu()
        self.last_rx = time.monotonic()
        return pdu

    def read_burst(self) -> list[Any]:
        """Block until at least one whole PDU came; every whole PDU received so far.

        Raises:
            TimeoutError: nothing for ``timeout`` seconds (time for an enquire_link).
        """
        while True:
            pdus = self._parse_buffered()
            if pdus:
                self.last_rx = time.monotonic()
                return pdus
            try:
                chunk = self._socket.recv(BURST_BYTES)
            except TimeoutError:
                raise
            except OSError as exc:
                raise smpplib.exceptions.ConnectionError() from exc
            if not chunk:
                raise smpplib.exceptions.ConnectionError()
            self._buffer += chunk

    def _parse_buffered(self) -> list[Any]:
        buffer, offset, pdus = self._buffer, 0, []
        while len(buffer) - offset >= 4:
            (length,) = struct.unpack_from(">L", buffer, offset)
            if length < 16:
                raise smpplib.exceptions.PDUError("Broken PDU")
            if len(buffer) - offset < length:
                break
            pdu = smpplib.smpp.parse_pdu(bytes(buffer[offset:offset + length]), client=self,
                                         allow_unknown_opt_params=self.allow_unknown_opt_params)
            offset += length
            if not pdu.is_error() and pdu.command in C.STATE_SETTERS:
                self.state = C.STATE_SETTERS[pdu.command]
            pdus.append(pdu)
        if offset:
            del buffer[:offset]
        return pdus


class RateLimiter:
    """At most ``rate`` acquisitions per second, evenly spaced."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)


class SmppLink:
    """One bind to the SMSC."""

    def __init__(self, settings: SmsSettings, on_deliver: DeliverHandler,
                 on_accepted: AcceptedHandler | None = None) -> None:
        self.settings = settings
        self._on_deliver = on_deliver
        self.on_accepted = on_accepted  # records accepted submits (the sender's), in the reader thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: _Client | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._bound = threading.Event()
        self._pending: dict[int, tuple[asyncio.Future, Any]] = {}
        self._window: asyncio.Semaphore | None = None
        self._limiter = RateLimiter(settings.tps)
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
        return self._bound.is_set()

    def start(self) -> None:
        """Start the reader thread (call from the event loop)."""
        self._loop = asyncio.get_running_loop()
        self._window = asyncio.Semaphore(self.settings.window)
        self._thread = threading.Thread(target=self._run, name="smpp-link", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Unbind and stop the thread."""
        self._stop.set()
        client = self._client
        if client is not None:
            try:
                with client.send_lock:
                    client.unbind()
            except Exception:  # the link may already be gone
                pass
            client.disconnect()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)

    async def wait_bound(self, timeout: float) -> bool:
        """Wait until bound; False on timeout."""
        return await asyncio.to_thread(self._bound.wait, timeout)

    # -- reader thread ---------------------------------------------------------
    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            client = _Client(
                self.settings.smsc_host, self.settings.smsc_port,
                timeout=self.settings.enquire_link_s, allow_unknown_opt_params=True,
            )
            try:
                client.connect()
                bind = getattr(client, f"bind_{self.settings.bind_mode}")
                bind(system_id=self.settings.system_id, password=self.settings.password,
                     system_type=self.settings.system_type)
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
                attempt += 1
                delay = min(self.settings.reconnect_max_s, 0.25 * 2 ** min(attempt, 10))
                logger.warning("SMPP bind failed (%s); retrying in %.1f s", exc, delay)
                _close(client)
                self._stop.wait(delay)
                continue
            attempt = 0
            self._client = client
            self.binds += 1
            self._set_bound(True)
            logger.info("SMPP bound as %s to %s:%s", self.settings.bind_mode,
                        self.settings.smsc_host, self.settings.smsc_port)
            try:
                self._read_loop(client)
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as exc:
                if not self._stop.is_set():
                    logger.warning("SMPP link lost: %r", exc)
            finally:
                self._set_bound(False)
                self._client = None
                _close(client)
                self._fail_pending()
            if not self._stop.is_set():
                self._stop.wait(0.25)

    def _read_loop(self, client: _Client) -> None:
        stale = 3 * self.settings.enquire_link_s
        while not self._stop.is_set():
            try:
                pdus = client.read_burst()
            except TimeoutError:
                client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
            else:
                self._dispatch(client, pdus)
            if time.monotonic() - client.last_rx > stale:
                raise smpplib.exceptions.ConnectionError("no answer to enquire_link")

    def _set_bound(self, bound: bool) -> None:
        (self._bound.set if bound else self._bound.clear)()
        for listener in self.state_listeners:
            listener(bound)

    def _dispatch(self, client: _Client, pdus: list[Any]) -> None:
        """Handle one burst: accepted submits recorded, MOs stored, then every answer goes out."""
        delivers: list[Any] = []
        answers: list[Any] = []  # deliver_sm_resp and enquire_link_resp, sent with one write
        results: list[tuple[asyncio.Future, SubmitResult]] = []
        accepted: list[tuple[Any, SubmitResult]] = []
        for pdu in pdus:
            command = pdu.command
            if command == "deliver_sm":
                delivers.append(pdu)
            elif command == "submit_sm_resp":
                message_id = pdu.message_id
                message_id = message_id.decode() if isinstance(message_id, bytes) else str(message_id or "")
                result = SubmitResult(status=int(pdu.status), message_id=message_id)
                future, tag = self._pending.pop(pdu.sequence, (None, None))
                if future is not None:
                    results.append((future, result))
                    if result.ok and tag is not None:
                        accepted.append((tag, result))
            elif command == "enquire_link":
                answer = smpplib.smpp.make_pdu("enquire_link_resp", client=client)
                answer.sequence = pdu.sequence
                answers.append(answer)
            elif pdu.is_error():
                logger.warning("SMSC answered %s with status 0x%x", command, pdu.status)
            elif command not in ("enquire_link_resp", "unbind", "unbind_resp", "alert_notification"):
                logger.warning("unhandled SMPP command %s", command)
        if accepted and self.on_accepted is not None:
            try:  # recorded here, in the reader thread, before any submit learns its result
                self.on_accepted(accepted)
            except Exception:
                logger.error("recording %d accepted submits failed", len(accepted), exc_info=True)
        if delivers:
            for pdu, status in zip(delivers, self._deliver(delivers), strict=False):
                answer = smpplib.smpp.make_pdu("deliver_sm_resp", client=client, status=status)
                answer.sequence = pdu.sequence
                answers.append(answer)
        if answers:
            client.send_many(answers)
        if results and self._loop is not None:
            self._loop.call_soon_threadsafe(_resolve_all, results)

    def _deliver(self, pdus: list[Any]) -> list[int]:
        try:
            return self._on_deliver(pdus)
        except Exception:
            logger.error("deliver_sm handler failed", exc_info=True)
            return [C.SMPP_ESME_RX_T_APPN] * len(pdus)  # temporary: the SMSC will deliver them again

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            if self._loop is not None:
                self._loop.call_soon_threadsafe(_fail, future, LinkDown("link lost before submit_sm_resp"))

    # -- asyncio side ----------------------------------------------------------
    async def submit(self, timeout: float = 30.0, accepted: Any = None, **params: Any) -> SubmitResult:
        """Send one submit_sm and wait for its response.

        ``accepted`` (any tag) is handed to ``on_accepted`` with the result in the reader
        thread as soon as the SMSC accepts the PDU, with the other acceptances of the same
        read, so what it records survives a crash right after the acceptance.

        Raises:
            LinkDown: not bound, or the link dropped before the response.
        """
        assert self._window is not None and self._loop is not None, "start() first"
        async with self._window:
            await self._limiter.acquire()
            client = self._client
            if client is None or not self.bound:
                raise LinkDown("not bound")
            future: asyncio.Future = self._loop.create_future()

            def send() -> None:
                with client.send_lock:
                    pdu = smpplib.smpp.make_pdu("submit_sm", client=client, **params)
                    self._pending[pdu.sequence] = (future, accepted)
                    client.send_many([pdu])

            try:
                # Sent from the event loop: a PDU is a few hundred bytes and the window keeps the
                # socket buffer far from full; a thread hop per submit cost more than the send.
                send()
            except (smpplib.exceptions.ConnectionError, OSError) as exc:
                raise LinkDown(str(exc)) from exc
            except smpplib.exceptions.PDUError as exc:
                # smpplib refuses locally when the link dropped between our check and the send
                # ("Incorrect BIND Status"): the same as a lost link, retry once bound again.
                raise LinkDown(str(exc)) from exc
            try:
                return await asyncio.wait_for(future, timeout)
            except asyncio.TimeoutError as exc:
                raise LinkDown("no submit_sm_resp in time") from exc


def _resolve_all(results: list[tuple[asyncio.Future, SubmitResult]]) -> None:
    for future, result in results:
        if not future.done():
            future.set_result(result)


def _fail(future: asyncio.Future, exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)


def _close(client: _Client) -> None:
    try:
        client.disconnect()
    except Exception:
        pass
