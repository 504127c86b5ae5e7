"""Prepare a local deployment's secrets: ``.env`` and the Redis configuration.

``make run`` calls it every time. The first time it copies ``.env.example`` to
``.env``; every time it fills each credential that is still empty with a random
one (an ``.env`` written before a credential existed gets it too), writes
``var/redis/redis.conf`` with the Redis password, and leaves both readable by
their owner only. Nothing secret is ever put on a command line.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Credentials that only this deployment's processes share: generated, never chosen.
GENERATED = (
    "DOSSIER_EVENTS_SECRET",
    "RASA_TOKEN",
    "RASA_CHANNEL_TOKEN",
    "ACTION_SERVER_TOKEN",
    "DOSSIER_API_TOKEN",
    "DOSSIER_API_STAFF_TOKEN",
    "REDIS_PASSWORD",
    "TRACKER_KEY",
    "WEB_SESSION_SECRET",
)
_LINE = re.compile(r"^([A-Z0-9_]+)=(.*)$")


def fill_secrets(text: str) -> tuple[str, list[str]]:
    """``text`` of an env file with every empty or missing generated credential set; and their names."""
    lines = text.splitlines()
    seen: set[str] = set()
    filled: list[str] = []
    for i, line in enumerate(lines):
        match = _LINE.match(line)
        if not match or match.group(1) not in GENERATED:
            continue
        seen.add(match.group(1))
        if match.group(2).strip().strip('"') == "":
            lines[i] = f"{match.group(1)}={secrets.token_hex(24)}"
            filled.append(match.group(1))
    for name in GENERATED:
        if name not in seen:
            lines.append(f"{name}={secrets.token_hex(24)}")
            filled.append(name)
    return "\n".join(lines) + "\n", filled


def read_env(text: str) -> dict[str, str]:
    """The variables of an env file (quotes dropped)."""
    values = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            values[match.group(1)] = match.group(2).strip().strip('"')
    return values


def redis_conf(values: dict[str, str], data_dir: Path) -> str:
    """The local Redis server's configuration: loopback, append-only file, the password."""
    return "\n".join([
        f"port {values.get('REDIS_PORT') or 6379}",
        "bind 127.0.0.1",
        "protected-mode yes",
        f"dir {data_dir}",
        "appendonly yes",
        f"requirepass {values['REDIS_PASSWORD']}",
        "",
    ])


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable and writable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, 0o600)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env", type=Path, default=ROOT / ".env")
    parser.add_argument("--example", type=Path, default=ROOT / ".env.example")
    parser.add_argument("--var", type=Path, default=ROOT / "var")
    args = parser.parse_args(argv)
    current = args.env.read_text(encoding="utf-8") if args.env.exists() else args.example.read_text(encoding="utf-8")
    text, filled = fill_secrets(current)
    write_private(args.env, text)
    if filled:
        print(f"==> {args.env.name}: generated {', '.join(filled)}")
    args.var.mkdir(parents=True, exist_ok=True)
    os.chmod(args.var, 0o700)
    redis_dir = (args.var / "redis").resolve()
    redis_dir.mkdir(exist_ok=True)
    write_private(redis_dir / "redis.conf", redis_conf(read_env(text), redis_dir))


if __name__ == "__main__":
    main()
