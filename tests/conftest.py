"""Fixtures shared by the test tree: a real Redis, a seeded reference API."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from dossier_api.db import Database
from dossier_api.seed import seed

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port, for the whole session."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: run `make install`"
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference dossier database seeded once per session."""
    path = tmp_path_factory.mktemp("db") / "dossiers.sqlite3"
    seed(Database(path))
    return path


MODEL = ROOT / "models" / "sct-assistant.tar.gz"
BIN = Path(sys.executable).parent


@dataclass
class Stack:
    """URLs of the running stack."""

    chat_url: str
    api_url: str
    rasa_url: str
    redis_url: str


def _wait_http(url: str, timeout: float, procs: list[subprocess.Popen], logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[:3]} exited with {p.returncode}; logs in {logs}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout} s; logs in {logs}")


@pytest.fixture(scope="session")
def stack(redis_url: str, seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    assert MODEL.exists(), "no trained model: run `make model` (make test does it)"
    logs = tmp_path_factory.mktemp("logs")
    ports = {name: free_port() for name in ("api", "actions", "rasa", "chat")}
    redis_port = redis_url.rsplit(":", 1)[1].split("/")[0]
    env = {
        **os.environ,
        "DOSSIER_API_URL": f"http://127.0.0.1:{ports['api']}",
        "DOSSIER_API_PORT": str(ports["api"]),
        "DOSSIER_DB_PATH": str(seeded_db),
        "REDIS_URL": redis_url,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": redis_port,
        "REDIS_DB": "0",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
        "RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
        "CHAT_PORT": str(ports["chat"]),
        "HOTLINE": "1022",
    }
    commands = {
        "api": [sys.executable, "-m", "dossier_api"],
        "actions": [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(ports["actions"])],
        "rasa": [
            str(BIN / "rasa"), "run", "--enable-api", "--model", str(MODEL), "--port", str(ports["rasa"]),
            "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
        ],
        "chat": [sys.executable, "-m", "bot"],
    }
    procs = []
    try:
        for name, cmd in commands.items():
            out = open(logs / f"{name}.log", "wb")
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
        wait_for_port(ports["api"])
        _wait_http(f"http://127.0.0.1:{ports['actions']}/health", 120, procs, logs)
        _wait_http(f"http://127.0.0.1:{ports['rasa']}/status", 240, procs, logs)
        _wait_http(f"http://127.0.0.1:{ports['chat']}/health", 60, procs, logs)
        yield Stack(
            chat_url=f"http://127.0.0.1:{ports['chat']}",
            api_url=f"http://127.0.0.1:{ports['api']}",
            rasa_url=f"http://127.0.0.1:{ports['rasa']}",
            redis_url=redis_url,
        )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
