"""Fixtures shared by the test tree: a real Redis, a seeded reference API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dossier_api.db import Database
from dossier_api.seed import seed
from scripts.localstack import ROOT, LocalStack, free_port, start_redis, stop, wait_for_port  # noqa: F401

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
    """The whole stack (dossier API, actions, Rasa with the trained model, web chat)."""
    local = LocalStack(redis_url=redis_url, db_path=seeded_db, logs=tmp_path_factory.mktemp("logs"))
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


def seeded_dossier(stack: Stack, status: str, offset: int = 0) -> dict:
    """A real dossier of the seeded reference API."""
    params = {"status": status, "limit": 1, "offset": offset}
    page = stack.api_session().get(f"{stack.api_url}/api/v1/dossiers", params=params, timeout=10).json()
    return page["items"][0]
