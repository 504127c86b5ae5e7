"""Service figures kept for the dashboard, against a real Redis."""

from __future__ import annotations

import datetime as dt

import redis.asyncio as aioredis

from common import stats
from common.stats import Count

DAY = dt.date(2026, 3, 2)


async def test_counts_and_response_times_are_read_back_per_day(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await client.delete(*[stats.key(DAY + dt.timedelta(days=i), f) for i in range(2) for f in stats.COUNTERS],
                            stats.key(DAY, stats.RESPONSE_MS, "web"))
        await stats.record(client, Count(stats.MESSAGES, "web"), Count(stats.MESSAGES, "web"),
                           Count(stats.LOOKUPS, "found"), day=DAY)
        await stats.record(client, Count(stats.DLR, "DELIVRD", 3), day=DAY + dt.timedelta(days=1))
        for seconds in (0.2, 0.5, 1.25):
            await stats.record(client, response=("web", seconds), day=DAY)
        first, second = await stats.read(client, DAY, DAY + dt.timedelta(days=1), ["web", "sms"])
        assert first.counters[stats.MESSAGES] == {"web": 2} and first.counters[stats.LOOKUPS] == {"found": 1}
        assert first.response_ms == {"web": [200, 500, 1250], "sms": []}
        assert second.counters[stats.DLR] == {"DELIVRD": 3} and second.counters[stats.MESSAGES] == {}
        assert 0 < await client.ttl(stats.key(DAY, stats.MESSAGES)) <= stats.KEEP_DAYS * 86400
    finally:
        await client.close()


async def test_a_redis_outage_never_costs_the_answer() -> None:
    client = aioredis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    await stats.record(client, Count(stats.MESSAGES, "web"), response=("web", 0.1))
    await client.close()
