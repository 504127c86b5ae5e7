"""`make bench-chat`: many web citizens at once, each a fresh conversation of one message.

For each number of Rasa replicas (``--replicas``, default 1 and 2) the local stack runs
(Redis, dossier API, action server, the replicas, the chat gateway); then, for each
crowd size (``--users``, default 20 and 50) and each kind of message (a dossier lookup by
code, a procedure question), the users send as fast as their answers come back for
``--seconds``, once through the gateway's ``POST /api/chat`` (with a session it issued)
and once to Rasa directly (its gateway channel, conversations spread over the replicas as
the gateway spreads them). Prints replies/s and p50/p99 latency per run, every answer
checked (a lookup must name its dossier's code, a procedure answer its fee line).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clients.rasa import CHANNEL_PATH, RasaClient  # noqa: E402
from dossier_api.db import Database  # noqa: E402
from dossier_api.seed import seed  # noqa: E402
from scripts.localstack import LocalStack, start_redis, stop  # noqa: E402

QUESTIONS = [
    "Lệ phí cấp giấy chứng nhận cửa hàng bán lẻ xăng dầu là bao nhiêu?",
    "phi cap giay phep ban buon ruou bao nhieu",
    "lệ phí đăng ký khuyến mại là bao nhiêu",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Run:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.wrong = 0


async def crowd(users: int, seconds: float, turn) -> tuple[Run, float]:
    """``users`` loops calling ``turn(i)`` (one fresh conversation each time) for ``seconds``."""
    run, deadline = Run(), time.perf_counter() + seconds

    async def user(u: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            ok = await turn(f"{u}-{i}")
            run.latencies.append(time.perf_counter() - started)
            run.wrong += not ok
            i += 1

    began = time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(users)))
    return run, time.perf_counter() - began


def expected(kind: str, codes: list[str]) -> tuple[str, str]:
    """A message of ``kind`` and what its answer must contain."""
    if kind == "lookup":
        code = random.choice(codes)
        return f"tra cứu hồ sơ {code}", code
    return random.choice(QUESTIONS), "Lệ phí"


async def bench(stack: LocalStack, codes: list[str], users_list: list[int], seconds: float) -> list[tuple]:
    rows = []
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        rasa = RasaClient(",".join(stack.rasa_urls), session=http, channel_token=stack.channel_token)
        bench_id = os.urandom(3).hex()

        async def via_gateway(kind: str):
            async def turn(name: str) -> bool:
                async with http.post(f"{stack.chat_url}/api/session") as resp:
                    session = (await resp.json())["session"]
                text, must = expected(kind, codes)
                async with http.post(f"{stack.chat_url}/api/chat", json={"session": session, "text": text}) as resp:
                    body = await resp.json()
                return resp.status == 200 and any(must in m["text"] for m in body["messages"])
            return turn

        async def direct(kind: str):
            async def turn(name: str) -> bool:
                sender = f"web:bench{bench_id}{kind}{name}"
                text, must = expected(kind, codes)
                url = rasa.replicas_for(sender)[0]
                async with http.post(f"{url}{CHANNEL_PATH}", json={"sender": sender, "message": text},
                                     headers={"Authorization": f"Bearer {stack.channel_token}"}) as resp:
                    body = await resp.json()
                return resp.status == 200 and any(must in (m.get("text") or "") for m in body)
            return turn

        for users in users_list:
            for kind in ("lookup", "procedure"):
                for path, make in (("/api/chat", via_gateway), ("Rasa direct", direct)):
                    await crowd(min(users, 4), 2, await make(kind))  # warm the connections
                    run, elapsed = await crowd(users, seconds, await make(kind))
                    lat = run.latencies
                    rows.append((stack.rasa_replicas, users, kind, path, len(lat) / elapsed,
                                 statistics.median(lat) * 1000, percentile(lat, 0.99) * 1000, run.wrong))
                    print(f"  replicas={stack.rasa_replicas} users={users} {kind:9} {path:11} "
                          f"{len(lat) / elapsed:6.1f}/s p50 {rows[-1][5]:5.0f} ms p99 {rows[-1][6]:5.0f} ms "
                          f"wrong {run.wrong}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    print(f"bench-chat on {os.cpu_count()} cores, {args.seconds:.0f} s per run")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        db = work / "dossiers.sqlite3"
        seed(Database(db))
        codes = [d.code for d in Database(db).dossiers(None, 300, 0)[0]]
        (work / "redis").mkdir()
        redis_proc, redis_url = start_redis(work / "redis")
        try:
            for replicas in args.replicas:
                logs = work / f"logs{replicas}"
                logs.mkdir()
                stack = LocalStack(redis_url=redis_url, db_path=db, logs=logs, rasa_replicas=replicas)
                stack.start()
                try:
                    rows += asyncio.run(bench(stack, codes, args.users, args.seconds))
                finally:
                    stack.stop()
        finally:
            stop([redis_proc])
    print("\n| Rasa replicas | users | message | path | replies/s | p50 ms | p99 ms | wrong |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | {r[5]:.0f} | {r[6]:.0f} | {r[7]} |")


if __name__ == "__main__":
    main()
