"""A client's TCP connections to datanodes' DataTransferProtocol ports, and the pool that reuses them.

`DatanodeConnection` is the thin transport around the sans-I/O `DataTransferClientConnection`: bytes
from the socket go into the codec, frames from the codec go to the socket; every wait runs under a
timeout the caller passes. `DatanodePool` keeps connections that finished an operation cleanly (codec
state IDLE) for the next operation on the same datanode, as HDFS's socket cache does: at most
`idle_connections_per_datanode_max` per address, each for at most `idle_connection_s`.

The transport is an asyncio `BufferedProtocol`, not a stream: while the codec assembles a read packet
the socket receives straight into that packet's buffer (`receive_target`), so a packet's bytes are
written once by the kernel and then only checksummed and handed to the reader. Other bytes (responses,
acks, packet lengths) land in a small staging buffer and are fed to the codec. Events the codec
produces wait in a queue for `receive`; past `EVENT_BYTES_HIGH` queued packet bytes the socket stops
being read until the reader catches up (TCP then pushes back on the datanode).

Failures surface as `DatanodeUnreachable` (connect), `OSError`/`TimeoutError` (the connection broke or
went silent) and the codec's `RemoteProtocolError` (the datanode broke the protocol); the reader and
writer decide what each means for the replica or the pipeline.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import deque
from typing import cast

from hopsfs.client.stream_settings import StreamSettings
from hopsfs.errors import HopsFSError
from hopsfs.invariants import check
from hopsfs.protocol.dtp_client import DataTransferClientConnection
from hopsfs.protocol.dtp_events import ClientEvent, PacketReceived, TransferState
from hopsfs.protocol.errors import ProtocolError
from hopsfs.protocol.located_blocks import DatanodeInfo
from hopsfs.protocol.packet_buffers import PacketBuffers

# Bytes the socket may deliver per call outside packet bodies (responses, acks, a packet's lengths,
# header and checksums): small, so that a packet's data is received in place, not copied in.
STAGING_BYTES = 8 * 1024
# Packet bytes that may wait for the reader before the socket is no longer read.
EVENT_BYTES_HIGH = 4 * 1024 * 1024


class DatanodeUnreachable(HopsFSError):
    """A TCP connection to a datanode could not be opened in time."""


class _TransferProtocol(asyncio.BufferedProtocol):
    """Receives read packets as they arrive, straight into the codec's buffers; queues all else as bytes.

    While a read streams, the callback feeds the codec (packet bodies received in place, then
    verified): read packets change no connection state a sender looks at. Every other byte (responses,
    acks) and the end of stream wait, in order, for `next_events` to feed them to the codec, so a failed
    ack or an error response is seen by whoever awaits the events before the codec's state says so.
    The queue is in stream order by construction: bytes are fed on arrival only while none wait.
    """

    def __init__(self, codec: DataTransferClientConnection) -> None:
        self.codec = codec
        self.transport: asyncio.Transport | None = None
        self.failure: BaseException | None = None
        self.at_eof = False
        self.lost = False
        # Events of packets completed in place, then bytes not yet fed to the codec (later in the stream).
        self._events: deque[ClientEvent] = deque()
        self._raw: deque[bytes] = deque()
        self._eof_fed = False
        self._staging = bytearray(STAGING_BYTES)
        self._receiving_direct = False
        self._queued_bytes = 0
        self._reading_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._writing_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []

    @property
    def has_pending(self) -> bool:
        """True while received events or bytes wait for the connection's owner."""
        return bool(self._events or self._raw)

    # -- asyncio callbacks -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's TCP transports have asyncio.Transport's methods without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview | bytearray:
        target = None if self._raw or self.failure is not None else self.codec.receive_target()
        self._receiving_direct = target is not None
        return target if target is not None else self._staging

    def buffer_updated(self, nbytes: int) -> None:
        if self._receiving_direct or (not self._raw and self.codec.state is TransferState.READ_STREAMING):
            # Read packets change no state a sender looks at (the last one only makes the read
            # status due), so they are decoded and verified as they arrive.
            try:
                if self._receiving_direct:
                    events = self.codec.received_into(nbytes)
                else:
                    events = self.codec.receive_data(bytes(memoryview(self._staging)[:nbytes]))
            except ProtocolError as error:  # the codec's verdict on the peer: raised by the next receive
                self._fail(error)
                return
            self._events.extend(events)
            for event in events:
                if isinstance(event, PacketReceived):
                    self._queued_bytes += len(event.wire)
        else:
            self._raw.append(bytes(memoryview(self._staging)[:nbytes]))
            self._queued_bytes += nbytes
        if self._queued_bytes > EVENT_BYTES_HIGH and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.at_eof = True
        self._wake()
        return False  # close the transport: a datanode that stops sending is done with us

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if exc is not None and self.failure is None:
            self.failure = exc
        self._wake()
        self._release_drain_waiters()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._release_drain_waiters()

    # -- the connection's side ---------------------------------------------------------------------

    async def next_events(self) -> list[ClientEvent]:
        while True:
            events = self._take_events()
            if events:
                return events
            if self.failure is not None:
                raise self.failure
            if self.lost or self.at_eof:
                raise ConnectionResetError("the datanode closed the connection")
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None

    async def drain(self) -> None:
        if self.lost:
            raise ConnectionResetError("the datanode closed the connection")
        if not self._writing_paused:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._drain_waiters.append(waiter)
        await waiter
        if self.lost:
            raise ConnectionResetError("the datanode closed the connection")

    def _take_events(self) -> list[ClientEvent]:
        """Events completed in place, then those the queued bytes (and the end of stream) complete."""
        events = list(self._events)
        self._events.clear()
        try:
            while self._raw:
                events.extend(self.codec.receive_data(self._raw.popleft()))
            if not events and self.at_eof and not self._eof_fed and self.failure is None:
                self._eof_fed = True
                if self.codec.state not in (TransferState.ERROR, TransferState.CLOSED):
                    events.extend(self.codec.receive_data(b""))
        except ProtocolError as error:
            self._fail(error)
            raise
        self._queued_bytes = 0
        if self._reading_paused and self.transport is not None and not self.lost:
            self._reading_paused = False
            self.transport.resume_reading()
        return events

    def _fail(self, error: BaseException) -> None:
        self.failure = error
        self._raw.clear()
        if self.transport is not None and not self.lost:
            self.transport.pause_reading()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _release_drain_waiters(self) -> None:
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()


class DatanodeConnection:
    """One connection to one datanode, carrying operations one after another."""

    def __init__(self, node: DatanodeInfo, transport: asyncio.Transport, protocol: _TransferProtocol) -> None:
        self.node = node
        self.codec = protocol.codec
        self.last_used_s = time.monotonic()
        # True when the pool handed it out again: a failure before any answer may just mean the
        # datanode closed it while idle, which is no fault of the datanode.
        self.reused = False
        self._transport = transport
        self._protocol = protocol
        self._closed = False

    @classmethod
    async def open(
        cls,
        node: DatanodeInfo,
        timeout_s: float,
        *,
        verify_checksums: bool = True,
        packet_buffers: PacketBuffers | None = None,
    ) -> DatanodeConnection:
        host, port = node.transfer_address
        codec = DataTransferClientConnection(
            verify_checksums=verify_checksums,
            take_packet_buffer=bytearray if packet_buffers is None else packet_buffers.take,
        )
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout_s):
                transport, protocol = await loop.create_connection(
                    lambda: _TransferProtocol(codec), host, port
                )
        except (OSError, TimeoutError) as error:
            raise DatanodeUnreachable(
                f"cannot connect to datanode {node.transfer_name}: {error or type(error).__name__}"
            ) from error
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Acks and small ops must not wait for Nagle's timer.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(node, transport, protocol)

    @property
    def is_reusable(self) -> bool:
        """True between operations on a connection that still looks open."""
        protocol = self._protocol
        return (
            not self._closed
            and self.codec.state is TransferState.IDLE
            and not protocol.has_pending
            and protocol.failure is None
            and not protocol.at_eof
            and not protocol.lost
            and not self._transport.is_closing()
        )

    def send(self, frame: bytes | bytearray) -> None:
        """Queue `frame` for the socket (await `drain` to wait until it is taken)."""
        if self._closed or self._transport.is_closing():
            raise ConnectionResetError(f"connection to datanode {self.node.transfer_name} is closed")
        self._transport.write(frame)
        self.last_used_s = time.monotonic()

    async def drain(self, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._protocol.drain()

    async def receive(self, timeout_s: float) -> list[ClientEvent]:
        """The events the datanode's bytes completed since the last call (at least one); at end of
        stream the codec's ConnectionClosed event, or RemoteProtocolError when it ended inside a
        message; a codec error (ChecksumMismatch, RemoteProtocolError) once the events before it
        were taken."""
        async with asyncio.timeout(timeout_s):
            events = await self._protocol.next_events()
        self.last_used_s = time.monotonic()
        return events

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.codec.close()
        self._transport.close()


class DatanodePool:
    """Idle connections per datanode address, handed out again before they grow stale."""

    def __init__(self, settings: StreamSettings) -> None:
        self._settings = settings
        self._idle: dict[tuple[str, int], deque[DatanodeConnection]] = {}
        self.connections_opened = 0
        # Read packets of every connection are assembled in recycled buffers (all on one loop).
        self.packet_buffers = PacketBuffers()

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
        connection = await DatanodeConnection.open(
            node, self._settings.connect_timeout_s, packet_buffers=self.packet_buffers
        )
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
