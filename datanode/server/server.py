"""The DataTransferProtocol server: a listening socket served by asyncio, one task per connection.

`bind` happens first (the port goes into the datanode's registration), `start` once the replica store
is open. At most `xceivers_max` connections are served at once; one over the limit is closed at once
(and counted), as Hadoop refuses xceivers past its limit. `stop` stops accepting, closes connections
idle between operations at once, gives running operations `grace_s` to finish, then aborts the rest;
connections end without disturbing each other.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from datanode.server.channel import Channel
from datanode.server.connection import serve_connection
from datanode.server.context import ServerContext
from hopsfs.invariants import check

LOGGER = logging.getLogger("hopsfs.datanode.server")
LISTEN_BACKLOG = 128


class DataTransferServer:
    def __init__(self) -> None:
        self._listener: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._channels: set[Channel] = set()  # of the connections being served
        self._context: ServerContext | None = None

    @property
    def port(self) -> int:
        check(self._listener is not None, "the server is bound")
        assert self._listener is not None
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def connections(self) -> int:
        return len(self._connections)

    def bind(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port); return the port."""
        check(self._listener is None, "bind once")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(LISTEN_BACKLOG)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        return self.port

    async def start(self, context: ServerContext) -> None:
        """Accept connections from now on."""
        listener = self._listener
        check(listener is not None and self._server is None, "start a bound server once")
        assert listener is not None
        self._context = context
        loop = asyncio.get_running_loop()
        receive_bytes_max = context.limits.receive_bytes_max
        self._server = await loop.create_server(
            lambda: Channel(receive_bytes_max, self._connected), sock=listener
        )

    async def stop(self, grace_s: float) -> None:
        """Stop accepting; close connections idle between operations; let operations run up to
        `grace_s`, then abort them."""
        if self._server is not None:
            self._server.close()
        elif self._listener is not None:
            self._listener.close()
        for channel in self._channels:
            if channel.between_operations:
                channel.close()  # its handler sees the end of the stream and returns
        if self._connections:
            _, pending = await asyncio.wait(set(self._connections), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                LOGGER.info("aborted %d transfers at shutdown", len(pending))
                await asyncio.wait(pending)

    def _connected(self, channel: Channel) -> None:
        """A new connection (Channel.connection_made): serve it, unless at the xceiver limit."""
        context = self._context
        assert context is not None
        if len(self._connections) >= context.limits.xceivers_max:
            context.metrics.add("connections_refused")
            LOGGER.warning(
                "refusing a connection from %s: %d transfers already", channel.peer, len(self._connections)
            )
            channel.abort()
            return
        task = asyncio.get_running_loop().create_task(self._serve(context, channel), name="dtp-connection")
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)
        self._channels.add(channel)
        task.add_done_callback(lambda _: self._channels.discard(channel))

    async def _serve(self, context: ServerContext, channel: Channel) -> None:
        try:
            await serve_connection(context, channel)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A bug in one connection's handling must not reach the others: log it with its traceback.
            LOGGER.exception("connection handler failed")
