"""The namenode's Hadoop IPC server: a listening socket, its connections, and the threads calls run on.

Several namenode processes may serve one port at once (SO_REUSEPORT: the kernel spreads new
connections over them) because no namenode keeps namespace state of its own; each also works alone on
a port of its own. A sweeper closes connections that never finish their handshake within
`handshake_timeout_s` or sit idle (no bytes, no calls in flight) for `idle_timeout_s`, so half-open
and abandoned connections do not pile up.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

from hopsfs.protocol.ipc_wire import FRAME_SIZE_BYTES_MAX
from namenode.dal.connection import Backend
from namenode.engine.namespace import Namespace
from namenode.ipc.connection import IpcConnection
from namenode.ipc.groups import GroupResolver
from namenode.ipc.metrics import NamenodeMetrics
from namenode.ipc.service import ClientProtocolService

log = logging.getLogger("hopsfs.namenode.ipc")

HANDLER_THREADS_DEFAULT = 8
CONNECTIONS_MAX_DEFAULT = 4096
HANDSHAKE_TIMEOUT_S = 20.0
# Hadoop clients drop idle connections after 10 s and ping every 60 s while they wait: 2x that.
IDLE_TIMEOUT_S = 120.0
_SWEEP_INTERVAL_S = 1.0


class NamenodeServer:
    def __init__(
        self,
        namespace: Namespace,
        *,
        handler_threads: int = HANDLER_THREADS_DEFAULT,
        inline_reads: bool | None = None,
        connections_max: int = CONNECTIONS_MAX_DEFAULT,
        frame_size_bytes_max: int = FRAME_SIZE_BYTES_MAX,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.namespace = namespace
        self.service = ClientProtocolService(namespace)
        self.groups = GroupResolver()
        self.superuser = namespace.settings["superuser"]
        self.executor = ThreadPoolExecutor(handler_threads, thread_name_prefix="namenode-handler")
        # Embedded SQLite answers a read in tens of microseconds, less than handing it to a thread.
        self.inline_reads = (
            namespace.store.backend is Backend.SQLITE if inline_reads is None else inline_reads
        )
        self.connections_max = connections_max
        self.frame_size_bytes_max = frame_size_bytes_max
        self.handshake_timeout_s = handshake_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.connections: set[IpcConnection] = set()
        self.metrics = NamenodeMetrics()
        self.loop: asyncio.AbstractEventLoop  # set by start(), before any connection exists
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, reuse_port: bool = False) -> int:
        """Listen on host:port (0 picks a free port); returns the port."""
        self.loop = asyncio.get_running_loop()
        sock = _listening_socket(host, port, reuse_port)
        self._server = await self.loop.create_server(lambda: IpcConnection(self), sock=sock)
        self._sweeper = asyncio.create_task(self._sweep())
        bound = sock.getsockname()[1]
        log.info("namenode %s serving Hadoop IPC on %s:%d", self.namespace.context.namenode_id, host, bound)
        return int(bound)

    async def stop(self) -> None:
        """Stop accepting, close every connection, let running calls finish, release the store."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.close()
        if self._server is not None:
            await self._server.wait_closed()
        await self.loop.run_in_executor(None, self.executor.shutdown, True)

    def connection_opened(self, connection: IpcConnection) -> None:
        if len(self.connections) >= self.connections_max:
            log.warning("refusing %s: %d connections open", connection.peer, len(self.connections))
            self.metrics.connections_refused += 1
            connection.close()
            return
        self.connections.add(connection)

    def connection_closed(self, connection: IpcConnection) -> None:
        self.connections.discard(connection)

    def render_metrics(self) -> str:
        gauges = {
            "connections": float(len(self.connections)),
            "calls_in_flight": float(sum(connection.calls_in_flight for connection in self.connections)),
        }
        return self.metrics.render(gauges, dict(self.namespace.context.statistics))

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP_INTERVAL_S)
            now = time.monotonic()
            for connection in list(self.connections):
                # abort, not close: a peer that does not read would keep a closing transport (and the
                # responses it buffered) alive forever.
                if not connection.handshake_done and now - connection.opened_at > self.handshake_timeout_s:
                    log.info("closing %s: no handshake in %.0f s", connection.peer, self.handshake_timeout_s)
                    connection.abort()
                elif connection.calls_in_flight == 0 and now - connection.last_activity > self.idle_timeout_s:
                    connection.abort()


def _listening_socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(min(socket.SOMAXCONN, 4096))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
