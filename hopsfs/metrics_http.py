"""A tiny HTTP endpoint: GET /metrics answers Prometheus text, anything else 404.

Shared by every server process (namenode, datanode, CDC), which may import `hopsfs` but not each
other; one request per connection, bounded request size and time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

REQUEST_BYTES_MAX = 8192
REQUEST_TIMEOUT_S = 5.0


async def serve_metrics(host: str, port: int, render: Callable[[], str]) -> asyncio.Server:
    """Listen on host:port (0: any free port) and answer GET /metrics with `render()`."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REQUEST_TIMEOUT_S)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            writer.close()
            return
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(parts) == 3 and parts[0] == "GET" and parts[1].split("?", 1)[0] == "/metrics":
            status, body = "200 OK", render().encode("utf-8")
            content_type = "text/plain; version=0.0.4; charset=utf-8"
        else:
            status, body, content_type = "404 Not Found", b"GET /metrics\n", "text/plain"
        head_out = (
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head_out.encode("latin-1") + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, host, port, limit=REQUEST_BYTES_MAX)
