"""A real SMSC (node-smpp), the gateway as a real process, and an MO worker run in the test, for the
SMS tests."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from common import sms_keys
from common.streams import ConsumerPolicy, ensure_group
from sms_gateway.config import SmsSettings
from sms_gateway.metrics import Metrics
from sms_gateway.router import Ahead
from sms_gateway.simulator.control import SimulatorControl, assemble
from sms_gateway.worker import MoWorker
from tests.conftest import ROOT, Stack, free_port, wait_for_port

SMSC_SCRIPT = ROOT / "sms_gateway" / "simulator" / "smsc.js"
_databases = itertools.cycle(range(1, 16))


def wait_until(predicate: Callable[[], object], timeout: float = 20.0, what: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"{what} not met after {timeout} s")


@dataclass
class Smsc:
    """The node-smpp SMSC, its control API and its submit log."""

    workdir: Path
    port: int = field(default_factory=free_port)
    control: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "smsc.jsonl"

    def start(self) -> None:
        node = shutil.which("node")
        assert node, "node is missing"
        out = open(self.workdir / "smsc.out", "ab")
        self.proc = subprocess.Popen(
            [node, str(SMSC_SCRIPT), "--port", str(self.port), "--control", str(self.control),
             "--log", str(self.log), "--system-id", "sct", "--password", "t3stpwd"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
        wait_for_port(self.control)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.control}{path}"

    def configure(self, **options: object) -> None:
        requests.post(self.url("/config"), json=options, timeout=5).raise_for_status()

    def bound(self) -> int:
        return requests.get(self.url("/state"), timeout=5).json()["bound"]

    @property
    def sim(self) -> SimulatorControl:
        return SimulatorControl(self.url(""), self.log)

    def deliver(self, source: str, payload: bytes, data_coding: int = 0, esm_class: int = 0,
                tlvs: dict | None = None, resend: bool = False) -> int:
        """Send one deliver_sm (``resend``: twice, same sequence); the command_status of its deliver_sm_resp."""
        return self.sim.deliver(source, payload, data_coding, esm_class, tlvs, resend)

    def send_text(self, source: str, text: str, ucs2: bool = False) -> int:
        if ucs2:
            return self.deliver(source, text.encode("utf-16-be"), data_coding=8)
        return self.sim.send_text(source, text)

    def entries(self) -> list[dict]:
        return self.sim.entries()

    def submits(self) -> list[dict]:
        return self.sim.submits()

    def replies(self) -> dict[str, list[str]]:
        """Whole reply texts per destination, concatenated parts joined in order."""
        return assemble(self.submits())

    def wait_replies(self, count: int, timeout: float = 30.0) -> dict[str, list[str]]:
        wait_until(lambda: sum(map(len, self.replies().values())) >= count, timeout, f"{count} replies")
        time.sleep(0.3)  # anything extra (a duplicate) would show up now
        return self.replies()


@dataclass
class GatewayProcess:
    """``python -m sms_gateway`` as a real process (``role``: ``link`` or ``worker``; both by default)."""

    env: dict
    workdir: Path
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    start_timeout: float = 30.0
    role: str = ""

    def start(self) -> None:
        out = open(self.workdir / f"gateway{'-' + self.role if self.role else ''}.log", "ab")
        env = {**self.env, "SMS_HTTP_PORT": str(self.http_port)}
        role = [self.role, "--port", str(self.http_port)] if self.role else []
        self.proc = subprocess.Popen([sys.executable, "-m", "sms_gateway", *role], cwd=ROOT, env=env,
                                     stdout=out, stderr=subprocess.STDOUT)
        wait_until(self.healthy, self.start_timeout, "gateway bound")

    def healthy(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.http_port}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def metrics(self) -> str:
        return requests.get(f"http://127.0.0.1:{self.http_port}/metrics", timeout=5).text

    def sample(self, name: str, **labels: str) -> float:
        """One sample of /metrics (0 when absent)."""
        for family in text_string_to_metric_families(self.metrics()):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return sample.value
        return 0.0

    def health(self) -> dict:
        return requests.get(f"http://127.0.0.1:{self.http_port}/health", timeout=5).json()

    def sigkill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def smsc(tmp_path: Path) -> Iterator[Smsc]:
    server = Smsc(tmp_path)
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.kill()


@pytest.fixture
def redis_db(stack: Stack) -> Iterator[str]:
    """A Redis database of its own for one test (the SMS streams start empty)."""
    url = stack.redis_url.rsplit("/", 1)[0] + f"/{next(_databases)}"
    redis.Redis.from_url(url).flushdb()
    yield url


@pytest.fixture
def gateway_env(stack: Stack, smsc: Smsc, redis_db: str) -> dict:
    return {
        **os.environ,
        "REDIS_URL": redis_db,
        "DOSSIER_API_URL": stack.api_url,
        "RASA_URL": stack.rasa_url,
        "HOTLINE": "1022",
        "SMS_SMSC_PORT": str(smsc.port),
        "SMS_SYSTEM_ID": "sct",
        "SMS_PASSWORD": "t3stpwd",
        "SMS_ENQUIRE_LINK_S": "2",
        "SMS_RECONNECT_MAX_S": "1",
        "SMS_CONSUMER": "gw-test",
        "SMS_THROTTLE_BACKOFF_S": "0.05",
        "SMS_RATE_LIMIT_PER_MIN": "100",
    }


@pytest.fixture
def gateway(gateway_env: dict, tmp_path: Path) -> Iterator[GatewayProcess]:
    process = GatewayProcess(gateway_env, tmp_path)
    process.start()
    yield process
    process.stop()


@pytest.fixture
def split(gateway_env: dict, tmp_path: Path) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    """The link and an MO worker, each its own process."""
    link = GatewayProcess(gateway_env, tmp_path, role="link")
    worker = GatewayProcess(gateway_env, tmp_path, role="worker")
    link.start()
    worker.start()
    yield link, worker
    worker.stop()
    link.stop()


class CountingRouter:
    """Answers every keyword MO with a fixed text and counts the answers."""

    def __init__(self) -> None:
        self.replies = 0

    async def read_ahead(self, messages: list, commands: list) -> list[Ahead]:
        return [Ahead(command, None) for command in commands]

    async def reply(self, msisdn: str, text: str | None, ahead: object = None,
                    message_id: str | None = None) -> str | None:
        self.replies += 1
        return "Ho so dang xu ly"


async def answer_all(client: Any, router: CountingRouter, metrics: Metrics, settings: SmsSettings) -> None:
    """Run an MO worker until every MO of the stream is handled."""
    worker = MoWorker(client, router, settings, metrics, "host-mo-worker-0",  # type: ignore[arg-type]
                      ConsumerPolicy(block_ms=50))
    await ensure_group(client, sms_keys.MO_STREAM, worker.group)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        deadline = time.monotonic() + 10
        while await client.xlen(sms_keys.MO_STREAM):  # each MO is deleted once handled
            assert time.monotonic() < deadline, "MOs not handled"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
