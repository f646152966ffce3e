"""A NamenodeServer on its own event loop in a daemon thread, for tests that need its internals.

Timeouts, limits and counters are constructor arguments and attributes of `NamenodeServer`; running it
in-process lets a test shorten the handshake and idle timeouts to fractions of a second and read
`server.connections` directly. `call_in_loop` runs a function on the server's loop thread, which is
the only thread that may touch connections and transports.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import uvloop

from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace
from namenode.ipc.server import NamenodeServer

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0

_T = TypeVar("_T")


class InProcessNamenode:
    def __init__(self, server: NamenodeServer, loop: asyncio.AbstractEventLoop, port: int) -> None:
        self.server = server
        self.loop = loop
        self.port = port

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def limit_send_buffer(self, send_buffer_bytes: int) -> None:
        """Cap the kernel send buffer of connections accepted from now on (Linux copies SO_SNDBUF from
        the listening socket), so a test can fill it quickly whatever the host's TCP autotuning."""

        def apply() -> None:
            listener = self.server._server
            assert listener is not None
            for sock in listener.sockets:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)

        self.call_in_loop(apply)

    def call_in_loop(self, function: Callable[[], _T]) -> _T:
        """Run `function` on the server's event loop thread and return its result."""

        async def run() -> _T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(START_TIMEOUT_S)


def format_sqlite_store(url: str, superuser: str = "hdfs") -> None:
    store = MetadataStore(url)
    try:
        store.format(superuser=superuser, supergroup="supergroup", now_ms=int(time.time() * 1000))
    finally:
        store.dispose()


@contextmanager
def running_namenode(metadata_url: str, **server_options: Any) -> Iterator[InProcessNamenode]:
    """Serve `metadata_url` (already formatted) on 127.0.0.1, port 0, until the block ends."""
    store = MetadataStore(metadata_url)
    loop = uvloop.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="inprocess-namenode", daemon=True)
    thread.start()
    try:
        server = NamenodeServer(Namespace(store), **server_options)
        port = asyncio.run_coroutine_threadsafe(server.start(), loop).result(START_TIMEOUT_S)
        try:
            yield InProcessNamenode(server, loop, port)
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(STOP_TIMEOUT_S)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
        loop.close()
        store.dispose()
