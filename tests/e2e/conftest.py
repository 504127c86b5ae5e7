"""The whole stack as separate processes: Redis, dossier API, actions, Rasa, web chat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, free_port, wait_for_port

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
