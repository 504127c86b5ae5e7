"""Start the assistant's processes locally on free ports: used by the end-to-end
tests and the benchmarks (``make run`` uses the Procfile instead)."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "sct-assistant.tar.gz"


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


def start_redis(workdir: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """A throw-away redis-server on a free port (or ``port``: a restart); returns the process and its URL."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: run `make install`"
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return proc, f"redis://127.0.0.1:{port}/0"


def stop(procs: list[subprocess.Popen]) -> None:
    """Terminate processes, killing those that do not stop."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def copy_content(dest: Path) -> Path:
    """A copy of the content staff edit (catalog, knowledge base, reply texts if any) laid out as
    ``CONTENT_DIR`` expects, so a test edits the copy, never the repository's files."""
    (dest / "knowledge").mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "dossier_api" / "data" / "procedures.yml", dest / "procedures.yml")
    for path in (ROOT / "knowledge" / "data").glob("*.yml"):
        shutil.copy2(path, dest / "knowledge" / path.name)
    texts = ROOT / "content" / "data" / "texts.yml"
    if texts.exists():
        shutil.copy2(texts, dest / "texts.yml")
    return dest


@dataclass
class LocalStack:
    """Dossier API, action server, Rasa and web chat as separate processes."""

    redis_url: str
    db_path: Path
    logs: Path
    ports: dict[str, int] = field(default_factory=lambda: {n: free_port() for n in ("api", "actions", "rasa", "chat")})
    rasa_replicas: int = 1  # more Rasa processes on the same Redis stores; the gateways spread conversations
    procs: list[subprocess.Popen] = field(default_factory=list)
    content_dir: Path | None = None  # CONTENT_DIR of every process (a copy the tests may edit); None: the repo's
    # The credentials `make run` generates into .env (scripts/init_env.py), fresh for each stack.
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(16))
    channel_token: str = field(default_factory=lambda: secrets.token_hex(16))
    action_token: str = field(default_factory=lambda: secrets.token_hex(16))
    api_token: str = field(default_factory=lambda: secrets.token_hex(16))
    staff_token: str = field(default_factory=lambda: secrets.token_hex(16))
    tracker_key: str = field(default_factory=lambda: secrets.token_hex(16))
    web_session_secret: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['rasa']}"

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa replica (the first is ``rasa_url``)."""
        extra = [self.ports[f"rasa{i}"] for i in range(2, self.rasa_replicas + 1)]
        return [self.rasa_url, *(f"http://127.0.0.1:{p}" for p in extra)]

    @property
    def chat_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['chat']}"

    def credentials(self) -> dict[str, str]:
        """The stack's secrets as environment variables (what .env holds under `make run`)."""
        return {
            "RASA_TOKEN": self.rasa_token,
            "RASA_CHANNEL_TOKEN": self.channel_token,
            "ACTION_SERVER_TOKEN": self.action_token,
            "DOSSIER_API_TOKEN": self.api_token,
            "DOSSIER_API_STAFF_TOKEN": self.staff_token,
            "TRACKER_KEY": self.tracker_key,
            "WEB_SESSION_SECRET": self.web_session_secret,
        }

    def api_session(self) -> requests.Session:
        """HTTP to the dossier API as staff tools call it (the staff token opens every route)."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.staff_token}"
        return session

    def env(self) -> dict[str, str]:
        redis_port = self.redis_url.rsplit(":", 1)[1].split("/")[0]
        return {
            **os.environ,
            **self.credentials(),
            "REDIS_PASSWORD": "",
            "DOSSIER_API_URL": self.api_url,
            "DOSSIER_API_PORT": str(self.ports["api"]),
            "DOSSIER_DB_PATH": str(self.db_path),
            "REDIS_URL": self.redis_url,
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": redis_port,
            "REDIS_DB": "0",
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.ports['actions']}/webhook",
            "RASA_URL": ",".join(self.rasa_urls),
            "RASA_PORT": str(self.ports["rasa"]),
            "ACTION_SERVER_PORT": str(self.ports["actions"]),
            "CHAT_PORT": str(self.ports["chat"]),
            "HOTLINE": "1022",
            "HANDOFF_HOURS": "always",  # deterministic whatever the hour the tests run
            "NOTIFY_QUIET_HOURS": "",  # likewise: the stack's notifier is one of the replicas in the tests
            # Every test citizen comes from 127.0.0.1: the per-address web chat limits would count the
            # whole suite as one client (tests/bot/test_web.py tests those limits in-process).
            "CHAT_RATE_LIMIT_PER_ADDRESS_PER_MIN": "100000",
            "CHAT_LOOKUP_LIMIT_PER_ADDRESS_PER_HOUR": "100000",
            "CHAT_UNKNOWN_CODE_LIMIT_PER_ADDRESS_PER_HOUR": "100000",
            # The console's state stays out of the working tree: accounts, confirmed examples, candidates.
            "STAFF_DB_PATH": str(self.logs / "staff.sqlite3"),
            "NLU_DATA_DIR": str(self.logs / "nlu_inbox"),
            "MODELS_DIR": str(self.logs / "models"),
            "MODEL_PATH": str(MODEL),
            "CONTENT_DIR": str(self.content_dir) if self.content_dir else "",
        }

    def start(self) -> None:
        """Start every process and wait until each answers."""
        assert MODEL.exists(), "no trained model: run `make model`"
        commands = {
            "api": [sys.executable, "-m", "dossier_api"],
            "actions": [sys.executable, "-m", "rasa_server", "actions"],
            "rasa": [sys.executable, "-m", "rasa_server", "rasa", "--model", str(MODEL)],
            "chat": [sys.executable, "-m", "bot"],
        }
        for i in range(2, self.rasa_replicas + 1):
            self.ports.setdefault(f"rasa{i}", free_port())
            commands[f"rasa{i}"] = commands["rasa"]
        env = self.env()
        (self.logs / "nlu_inbox").mkdir(exist_ok=True)
        for name, cmd in commands.items():
            out = open(self.logs / f"{name}.log", "wb")
            port = {"RASA_PORT": str(self.ports[name])} if name.startswith("rasa") else {}
            self.procs.append(subprocess.Popen(cmd, cwd=ROOT, env={**env, **port}, stdout=out,
                                               stderr=subprocess.STDOUT))
        wait_for_port(self.ports["api"])
        self._wait_http(f"http://127.0.0.1:{self.ports['actions']}/health", 120)
        for url in self.rasa_urls:
            self._wait_http(f"{url}/status?token={self.rasa_token}", 240)
        self._wait_http(f"{self.chat_url}/health", 60)

    def _wait_http(self, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError(f"{p.args[:3]} exited with {p.returncode}; logs in {self.logs}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{url} not ready after {timeout} s; logs in {self.logs}")

    def stop(self) -> None:
        stop(self.procs)
