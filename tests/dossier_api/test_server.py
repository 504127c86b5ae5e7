from pathlib import Path

import yaml
from aiohttp.test_utils import TestClient, TestServer

from dossier_api.server import create_app


async def _client(db: Path, token: str = "") -> TestClient:
    client = TestClient(TestServer(create_app(str(db), token)))
    await client.start_server()
    return client


async def test_health_openapi_and_errors(seeded_db: Path) -> None:
    client = await _client(seeded_db)
    try:
        assert (await (await client.get("/health")).json())["dossiers"] >= 2000
        spec = yaml.safe_load(await (await client.get("/openapi.yaml")).text())
        assert "/api/v1/dossiers/{code}" in spec["paths"]
        resp = await client.get("/api/v1/dossiers/not-a-code")
        assert resp.status == 400 and (await resp.json())["error"] == "invalid_code"
        resp = await client.get("/api/v1/dossiers?limit=abc")
        assert resp.status == 400
        resp = await client.get("/api/v1/dossiers?status=unknown")
        assert resp.status == 400
        resp = await client.post("/api/v1/ratings", data=b'{"level": "tuyet"}')
        assert resp.status == 400 and (await resp.json())["error"] == "invalid_body"
    finally:
        await client.close()


async def test_token_is_required_when_configured(seeded_db: Path) -> None:
    client = await _client(seeded_db, token="s3cret")
    try:
        assert (await client.get("/api/v1/procedures")).status == 401
        ok = await client.get("/api/v1/procedures", headers={"Authorization": "Bearer s3cret"})
        assert ok.status == 200 and len(await ok.json()) >= 25
        assert (await client.get("/health")).status == 200
    finally:
        await client.close()
