"""Fixtures shared by the test tree: a real Redis, a seeded reference API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dossier_api.db import Database
from dossier_api.seed import seed
from scripts.localstack import (  # noqa: F401
    ROOT,
    LocalStack,
    copy_content,
    free_port,
    start_redis,
    stop,
    wait_for_port,
)

Stack = LocalStack  # what the tests call it


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on a free port, for the whole session."""
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    stop([proc])


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference dossier database seeded once per session."""
    path = tmp_path_factory.mktemp("db") / "dossiers.sqlite3"
    seed(Database(path))
    return path


@pytest.fixture(scope="session")
def stack(redis_url: str, seeded_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The whole stack (dossier API, actions, Rasa with the trained model, web chat), its content
    (catalog, knowledge base, texts) a copy that tests may edit (and put back)."""
    local = LocalStack(redis_url=redis_url, db_path=seeded_db, logs=tmp_path_factory.mktemp("logs"),
                       content_dir=copy_content(tmp_path_factory.mktemp("content")))
    saved = {name: os.environ.get(name) for name in local.credentials()}
    # In-process gateways and clients of the tests read the stack's credentials as every
    # process of `make run` reads them from .env.
    os.environ.update(local.credentials())
    try:
        local.start()
        yield local
    finally:
        local.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def seeded_dossier(stack: Stack, status: str, offset: int = 0, undelivered: bool = False) -> dict:
    """A real dossier of the seeded reference API (``undelivered``: the first from ``offset`` on whose result
    nobody asked to be posted yet; other tests in the session post random ones)."""
    params = {"status": status, "limit": 50, "offset": offset}
    page = stack.api_session().get(f"{stack.api_url}/api/v1/dossiers", params=params, timeout=10).json()
    return next(d for d in page["items"] if not (undelivered and d["delivery_requested"]))


def new_session(chat_url: str) -> str:
    """A web chat session token, issued by the gateway as the page gets it."""
    resp = requests.post(f"{chat_url}/api/session", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["session"]


class Conversation:
    """One citizen talking to the web chat endpoint (of a stack, or of any chat gateway URL)."""

    def __init__(self, stack: Stack | str) -> None:
        chat_url = stack if isinstance(stack, str) else stack.chat_url
        self.url = f"{chat_url}/api/chat"
        self.token = new_session(chat_url)
        self.session = self.token.split(".")[0]  # the sender id is web:<session>

    def messages(self, text: str) -> list[dict]:
        """The replies to ``text`` as the web chat gets them (text, buttons)."""
        resp = requests.post(self.url, json={"session": self.token, "text": text}, timeout=60)
        assert resp.status_code == 200, resp.text
        return resp.json()["messages"]

    def say(self, text: str) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages(text))
