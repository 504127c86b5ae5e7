"""Hand-made HTTP/1.1 requests, for bytes a well-behaved client never sends (non-UTF-8 headers)."""

from __future__ import annotations

import asyncio


async def raw_status(host: str, port: int, method: str, path: str, headers: bytes, body: bytes = b"") -> int:
    """Send one request whose header block is given as raw bytes; the response status."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n".encode() + headers
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        return int((await reader.readline()).split()[1])
    finally:
        writer.close()
