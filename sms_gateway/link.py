"""The SMPP link: smpplib's blocking client in its own thread, handed to asyncio.

The reader thread connects, binds, reads PDUs and answers deliver_sm with the
status the intake callback returns (so a deliver_sm is acknowledged only after
it is stored). Submits come from asyncio: a window of outstanding submit_sm, a
rate cap, and a future per sequence number resolved by its submit_sm_resp. A
dropped link or a failed bind is retried with exponential backoff; submits in
flight fail with :class:`LinkDown` and are retried by the sender.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
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

DeliverHandler = Callable[[Any], int]


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
    """smpplib's client with every send serialised (two threads send)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.send_lock = threading.RLock()
        self.last_rx = time.monotonic()

    def send_pdu(self, p: Any) -> bool:
        with self.send_lock:
            return super().send_pdu(p)

    def read_pdu(self) -> Any:
        pdu = super().read_pdu()
        self.last_rx = time.monotonic()
        return pdu


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

    def __init__(self, settings: SmsSettings, on_deliver: DeliverHandler) -> None:
        self.settings = settings
        self._on_deliver = on_deliver
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: _Client | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._bound = threading.Event()
        self._pending: dict[int, tuple[asyncio.Future, Callable[[SubmitResult], None] | None]] = {}
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
            client.set_message_received_handler(self._deliver)
            client.set_message_sent_handler(self._submit_resp)
            client.set_error_pdu_handler(self._error_pdu)
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
            client.read_once(auto_send_enquire_link=True)
            if time.monotonic() - client.last_rx > stale:
                raise smpplib.exceptions.ConnectionError("no answer to enquire_link")

    def _set_bound(self, bound: bool) -> None:
        (self._bound.set if bound else self._bound.clear)()
        for listener in self.state_listeners:
            listener(bound)

    def _deliver(self, pdu: Any) -> int:
        try:
            return self._on_deliver(pdu)
        except Exception:
            logger.error("deliver_sm handler failed", exc_info=True)
            return C.SMPP_ESME_RX_T_APPN  # temporary: the SMSC will deliver it again

    def _submit_resp(self, pdu: Any) -> None:
        message_id = pdu.message_id.decode() if isinstance(pdu.message_id, bytes) else str(pdu.message_id or "")
        result = SubmitResult(status=int(pdu.status), message_id=message_id)
        future, on_ok = self._pending.pop(pdu.sequence, (None, None))
        if future is None or self._loop is None:
            return
        if result.ok and on_ok is not None:
            try:  # recorded here, in the reader thread, before anything else can happen
                on_ok(result)
            except Exception:
                logger.error("recording an accepted submit failed", exc_info=True)
        self._loop.call_soon_threadsafe(_resolve, future, result)

    def _error_pdu(self, pdu: Any) -> None:
        if pdu.command != "submit_sm_resp":  # submit errors are answered through _submit_resp
            logger.warning("SMSC answered %s with status 0x%x", pdu.command, pdu.status)

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            if self._loop is not None:
                self._loop.call_soon_threadsafe(_fail, future, LinkDown("link lost before submit_sm_resp"))

    # -- asyncio side ----------------------------------------------------------
    async def submit(
        self, timeout: float = 30.0, on_ok: Callable[[SubmitResult], None] | None = None, **params: Any
    ) -> SubmitResult:
        """Send one submit_sm and wait for its response.

        ``on_ok`` runs in the reader thread as soon as the SMSC accepts the PDU,
        so what it records survives a crash right after the acceptance.

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
                    self._pending[pdu.sequence] = (future, on_ok)
                    client.send_pdu(pdu)

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


def _resolve(future: asyncio.Future, result: SubmitResult) -> None:
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
