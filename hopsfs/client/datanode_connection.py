"""A client's TCP connections to datanodes' DataTransferProtocol ports, and the pool that reuses them.

`DatanodeConnection` is the thin transport around the sans-I/O `DataTransferClientConnection`: bytes
from the socket go into the codec, frames from the codec go to the socket; every wait runs under a
timeout the caller passes. `DatanodePool` keeps connections that finished an operation cleanly (codec
state IDLE) for the next operation on the same datanode, as HDFS's socket cache does: at most
`idle_connections_per_datanode_max` per address, each for at most `idle_connection_s`.

Failures surface as `DatanodeUnreachable` (connect), `OSError`/`TimeoutError` (the connection broke or
went silent) and the codec's `RemoteProtocolError` (the datanode broke the protocol); the reader and
writer decide what each means for the replica or the pipeline.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque

from hopsfs.client.stream_settings import StreamSettings
from hopsfs.errors import HopsFSError
from hopsfs.invariants import check
from hopsfs.protocol.dtp_client import DataTransferClientConnection
from hopsfs.protocol.dtp_events import ClientEvent, TransferState
from hopsfs.protocol.located_blocks import DatanodeInfo

# Bytes asked of the socket per receive: a few packets, so a read of a 64 KiB packet is one call.
RECEIVE_BYTES = 256 * 1024
# The stream reader's own buffer limit (it never holds more than one receive beyond this).
STREAM_LIMIT_BYTES = 1024 * 1024


class DatanodeUnreachable(HopsFSError):
    """A TCP connection to a datanode could not be opened in time."""


class DatanodeConnection:
    """One connection to one datanode, carrying operations one after another."""

    def __init__(
        self,
        node: DatanodeInfo,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        verify_checksums: bool = True,
    ) -> None:
        self.node = node
        self.codec = DataTransferClientConnection(verify_checksums=verify_checksums)
        self.last_used_s = time.monotonic()
        # True when the pool handed it out again: a failure before any answer may just mean the
        # datanode closed it while idle, which is no fault of the datanode.
        self.reused = False
        self._reader = reader
        self._writer = writer
        self._closed = False

    @classmethod
    async def open(cls, node: DatanodeInfo, timeout_s: float) -> DatanodeConnection:
        host, port = node.transfer_address
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(host, port, limit=STREAM_LIMIT_BYTES)
        except (OSError, TimeoutError) as error:
            raise DatanodeUnreachable(
                f"cannot connect to datanode {node.transfer_name}: {error or type(error).__name__}"
            ) from error
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Acks and small ops must not wait for Nagle's timer.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(node, reader, writer)

    @property
    def is_reusable(self) -> bool:
        """True between operations on a connection that still looks open."""
        return (
            not self._closed
            and self.codec.state is TransferState.IDLE
            and not self._reader.at_eof()
            and not self._writer.is_closing()
        )

    def send(self, frame: bytes) -> None:
        """Queue `frame` for the socket (await `drain` to wait until it is taken)."""
        if self._closed or self._writer.is_closing():
            raise ConnectionResetError(f"connection to datanode {self.node.transfer_name} is closed")
        self._writer.write(frame)
        self.last_used_s = time.monotonic()

    async def drain(self, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._writer.drain()

    async def receive(self, timeout_s: float) -> list[ClientEvent]:
        """The events the next bytes from the datanode complete (possibly none); at end of stream the
        codec's ConnectionClosed event, or RemoteProtocolError when it ended inside a message."""
        async with asyncio.timeout(timeout_s):
            data = await self._reader.read(RECEIVE_BYTES)
        self.last_used_s = time.monotonic()
        return self.codec.receive_data(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.codec.close()
        self._writer.close()


class DatanodePool:
    """Idle connections per datanode address, handed out again before they grow stale."""

    def __init__(self, settings: StreamSettings) -> None:
        self._settings = settings
        self._idle: dict[tuple[str, int], deque[DatanodeConnection]] = {}
        self.connections_opened = 0

    async def connect(self, node: DatanodeInfo) -> DatanodeConnection:
        """An idle connection to `node` if a fresh one is pooled, else a new one."""
        idle = self._idle.get(node.transfer_address)
        now = time.monotonic()
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to be stale
            if connection.is_reusable and now - connection.last_used_s < self._settings.idle_connection_s:
                connection.reused = True
                connection.node = node  # same address; the caller's view of the node (storage id)
                return connection
            connection.close()
        connection = await DatanodeConnection.open(node, self._settings.connect_timeout_s)
        self.connections_opened += 1
        return connection

    def release(self, connection: DatanodeConnection) -> None:
        """Take back a connection after an operation: kept when it ended cleanly, else closed."""
        if not connection.is_reusable:
            connection.close()
            return
        idle = self._idle.setdefault(connection.node.transfer_address, deque())
        idle.append(connection)
        while len(idle) > self._settings.idle_connections_per_datanode_max:
            idle.popleft().close()
        check(len(idle) <= self._settings.idle_connections_per_datanode_max, "the pool is bounded")

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
