"""Several Rasa replicas behind one client: each conversation keeps its replica, a replica that
refuses connections is skipped, a model is loaded into every replica (local stand-ins)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from clients.rasa import RasaClient, RasaUnavailable
from scripts.localstack import free_port
from tests.fakes.rasa_rest import CHANNEL_TOKEN, rasa_rest_app


def _replica(received: list[dict], loaded: list[str]) -> web.Application:
    app = rasa_rest_app(received)

    async def load(request: web.Request) -> web.Response:
        loaded.append((await request.json())["model_file"])
        return web.Response(status=204)

    app.router.add_put("/model", load)
    return app


@pytest.fixture
async def replicas() -> AsyncIterator[list[tuple[str, list[dict], list[str]]]]:
    servers, out = [], []
    for _ in range(2):
        received: list[dict] = []
        loaded: list[str] = []
        server = TestServer(_replica(received, loaded))
        await server.start_server()
        servers.append(server)
        out.append((str(server.make_url("")).rstrip("/"), received, loaded))
    yield out
    for server in servers:
        await server.close()


async def test_conversations_spread_over_replicas_and_each_keeps_its_own(replicas) -> None:
    rasa = RasaClient(",".join(url for url, _, _ in replicas), channel_token=CHANNEL_TOKEN)
    try:
        senders = [f"web:citizen{i}" for i in range(20)]
        for _ in range(2):
            for sender in senders:
                assert (await rasa.send(sender, "xin chào"))[0].text == "echo: xin chào"
        by_replica = [[r["sender"] for r in received] for _, received, _ in replicas]
        assert all(by_replica) and sum(map(len, by_replica)) == 40
        assert not set(by_replica[0]) & set(by_replica[1])  # a conversation never moves while its replica answers
        await rasa.load_model("/models/candidate.tar.gz")
        assert [loaded for _, _, loaded in replicas] == [["/models/candidate.tar.gz"]] * 2
        assert await rasa.is_ready()
    finally:
        await rasa.close()


async def test_a_replica_that_refuses_connections_is_skipped(replicas) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    url, received, _ = replicas[0]
    rasa = RasaClient(f"{down},{url}", channel_token=CHANNEL_TOKEN)
    try:
        for i in range(6):
            await rasa.send(f"sms:8490555{i:04d}", "hs")
        assert len(received) == 6 and await rasa.is_ready()
    finally:
        await rasa.close()
    alone = RasaClient(down, channel_token=CHANNEL_TOKEN)
    try:
        with pytest.raises(RasaUnavailable):
            await alone.send("web:x", "hs")
        assert not await alone.is_ready()
    finally:
        await alone.close()


async def test_a_replica_refusing_the_model_sends_the_others_back_to_the_live_one(replicas) -> None:
    first_url, _, first_loaded = replicas[0]
    down = f"http://127.0.0.1:{free_port()}"
    rasa = RasaClient(f"{first_url},{down}", channel_token=CHANNEL_TOKEN)
    try:
        with pytest.raises(RasaUnavailable):
            await rasa.load_model("/models/candidate.tar.gz", restore="/models/live.tar.gz")
        # The first replica took the candidate, the second could not: the first answers with the live model again.
        assert first_loaded == ["/models/candidate.tar.gz", "/models/live.tar.gz"]
    finally:
        await rasa.close()
