"""The typed client against the reference server (both real, on a local port)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as redis
from aiohttp import web
from aiohttp.test_utils import TestServer

from common.dates import local_now
from common.status import RatingLevel
from dossier_api.client import DossierApiUnavailable, DossierClient, DossierNotFound, InvalidDossierCode
from dossier_api.db import Database
from dossier_api.models import RatingIn
from dossier_api.server import create_app


@pytest.fixture
async def api(seeded_db: Path) -> AsyncIterator[TestServer]:
    server = TestServer(create_app(str(seeded_db)))
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def client(api: TestServer) -> AsyncIterator[DossierClient]:
    async with DossierClient(str(api.make_url("")), retries=0) as c:
        yield c


async def test_dossier_by_code_in_any_shape(client: DossierClient, seeded_db: Path) -> None:
    [expected], _ = Database(seeded_db).dossiers("cho_bo_sung", 1, 0)
    messy = expected.code.lower().replace("-", " – ")
    dossier = await client.get_dossier(messy)
    assert dossier == expected
    assert dossier.status_label == "chờ bổ sung"
    assert "***" in dossier.applicant


async def test_unknown_and_malformed_codes(client: DossierClient) -> None:
    with pytest.raises(DossierNotFound):
        await client.get_dossier("000.00.12.H17-200115-0999")
    with pytest.raises(InvalidDossierCode):
        await client.get_dossier("12345")


async def test_listing_pages_and_filters(client: DossierClient) -> None:
    page = await client.list_dossiers(status="tre_han", limit=5)
    assert page.total > 5 and len(page.items) == 5
    assert {d.status.value for d in page.items} == {"tre_han"}


async def test_procedure_search_and_get(client: DossierClient) -> None:
    [top, *_] = await client.search_procedures("le phi ban le xang dau")
    assert top.procedure.id == "ban_le_xang_dau"
    assert top.procedure.fee_vnd == 1_200_000
    assert (await client.get_procedure("ban_le_xang_dau")).name == top.procedure.name
    with pytest.raises(DossierNotFound):
        await client.get_procedure("khong_co")


async def test_rating_is_stored(client: DossierClient, seeded_db: Path) -> None:
    before = Database(seeded_db).rating_counts().get("binh_thuong", 0)
    stored = await client.rate(RatingIn(level=RatingLevel.BINH_THUONG, channel="web"))
    assert stored.id > 0 and stored.level is RatingLevel.BINH_THUONG
    assert Database(seeded_db).rating_counts()["binh_thuong"] == before + 1


async def test_rating_of_an_unknown_dossier_is_refused(client: DossierClient) -> None:
    with pytest.raises(DossierNotFound):
        await client.rate(RatingIn(level="hai_long", channel="web", dossier_code="000.00.12.H17-200115-0999"))


async def test_server_errors_are_retried_then_reported() -> None:
    calls = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        return web.json_response({"error": "internal"}, status=500)

    app = web.Application()
    app.router.add_get("/api/v1/procedures/{id}", flaky)
    server = TestServer(app)
    await server.start_server()
    try:
        async with DossierClient(str(server.make_url("")), retries=2) as c:
            with pytest.raises(DossierApiUnavailable):
                await c.get_procedure("x")
        assert calls == 3
    finally:
        await server.close()


async def test_unreachable_api_is_reported() -> None:
    async with DossierClient("http://127.0.0.1:9", retries=1, timeout_s=1) as c:
        with pytest.raises(DossierApiUnavailable):
            await c.get_procedure("x")


async def test_hot_codes_are_served_from_redis(api: TestServer, seeded_db: Path, redis_url: str) -> None:
    [stored], _ = Database(seeded_db).dossiers("dang_xu_ly", 1, 0)
    expected = stored.as_of(local_now().date())  # served with its late fact of today
    cache = redis.from_url(redis_url)
    try:
        async with DossierClient(str(api.make_url("")), cache=cache, cache_ttl_s=30) as c:
            assert await c.get_dossier(expected.code) == expected
            assert await cache.ttl(f"dossier:{expected.code}") > 0
            await api.close()  # the API is gone: the cache still answers
            assert await c.get_dossier(expected.code) == expected
    finally:
        await cache.flushdb()
        await cache.close()
