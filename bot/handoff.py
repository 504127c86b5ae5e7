"""Staff side of the handoff from the command line (the console's overview has the same):
``python -m bot.handoff list`` and ``python -m bot.handoff release <sender>``."""

from __future__ import annotations

import argparse
import asyncio

import redis.asyncio as aioredis

from bot.rasa_client import RasaClient
from common import handoff
from common.settings import get_settings


async def release(redis, rasa: RasaClient, sender: str) -> bool:
    """Resume the assistant for ``sender``, then forget the mark (a Rasa error leaves it listed);
    False when nobody was waiting under that id."""
    await rasa.resume(sender)
    return await handoff.release(redis, sender)


async def _main(args: argparse.Namespace) -> None:
    settings = get_settings()
    redis = aioredis.from_url(settings.redis_url)
    rasa = RasaClient.from_settings(settings)
    try:
        if args.command == "list":
            waiting = await handoff.waiting(redis)
            for sender, since in sorted(waiting.items(), key=lambda kv: kv[1]):
                print(f"{since}  {sender}")
            print(f"{len(waiting)} conversation(s) waiting for a staff member")
        else:
            known = await release(redis, rasa, args.sender)
            print(f"{args.sender}: assistant resumed" + ("" if known else " (it was not marked as waiting)"))
    finally:
        await rasa.close()
        await redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="conversations waiting for a staff member")
    rel = sub.add_parser("release", help="give a conversation back to the assistant")
    rel.add_argument("sender", help="sender id, e.g. telegram:123456 or web:<session>")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
