"""One TCP connection of the DataTransferProtocol server (or to a mirror): an asyncio Protocol that
queues what it receives and sends with back-pressure, and a codec fed from it.

`Channel` keeps received bytes until `receive` takes them; past `receive_bytes_max` buffered it pauses
reading (TCP pushes back on the peer). `send` returns once the transport's buffer is empty (write
limits 0/0: bytes are in the kernel), so a read can then lend the socket to a pool thread that streams
the replica with sendfile (uvloop has no `loop.sendfile`): `lend_socket` pauses reading and returns
the descriptor; `take_socket_back` resumes. While lent, the loop neither reads nor writes it.

`EventSource` pairs a channel with a sans-I/O codec (server or client side): `next_event(timeout_s)`
returns the codec's next event, receiving more bytes only when none is pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

from hopsfs.invariants import check

_EventT = TypeVar("_EventT")


class Channel(asyncio.Protocol):
    def __init__(self, receive_bytes_max: int, on_connected: Callable[[Channel], None] | None = None) -> None:
        check(receive_bytes_max > 0, "receives are bounded")
        self.receive_bytes_max = receive_bytes_max
        self.peer = "unknown peer"
        self._on_connected = on_connected
        self._transport: asyncio.Transport | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._eof = False
        self._lost = False
        self._reading_paused = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._lent = False
        # True while the handler waits for the peer's next operation: nothing of ours is in flight,
        # so a stopping server may close the connection at once instead of waiting out its grace.
        self.between_operations = False

    # asyncio.Protocol callbacks.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self._transport = cast(asyncio.Transport, transport)
        transport = self._transport
        transport.set_write_buffer_limits(high=0, low=0)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = f"{peer[0]}:{peer[1]}"
        if self._on_connected is not None:
            self._on_connected(self)

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        self._readable.set()
        if self._buffered >= self.receive_bytes_max and not self._reading_paused and self._transport:
            self._transport.pause_reading()
            self._reading_paused = True

    def eof_received(self) -> bool:
        self._eof = True
        self._readable.set()
        # Keep our side open: a writer may half-close once its last packet is out (hdfs-native drops
        # its write half) and still wait for the acks; the handler closes the connection when done.
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._eof = True
        self._readable.set()
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # What connection handlers use.

    @property
    def closed(self) -> bool:
        return self._lost

    async def receive(self, timeout_s: float) -> bytes:
        """What arrived since the last call (b"" at end of stream); TimeoutError after `timeout_s`."""
        check(not self._lent, "the socket is lent to a thread")
        if not self._chunks and not self._eof:
            self._readable.clear()
            await asyncio.wait_for(self._readable.wait(), timeout_s)
        if not self._chunks:
            return b""
        data = self._chunks.popleft() if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        if self._reading_paused and self._transport is not None and not self._lost:
            self._reading_paused = False
            self._transport.resume_reading()
        return data

    async def send(self, data: bytes, timeout_s: float) -> None:
        """Hand `data` to the kernel; ConnectionError when the connection is gone."""
        check(not self._lent, "the socket is lent to a thread")
        if self._lost or self._transport is None or self._transport.is_closing():
            raise ConnectionResetError(f"connection to {self.peer} is closed")
        self._transport.write(data)
        if not self._writable.is_set():
            await asyncio.wait_for(self._writable.wait(), timeout_s)
        if self._lost:
            raise ConnectionResetError(f"connection to {self.peer} was lost while sending")

    def lend_socket(self) -> int:
        """The socket's descriptor for a pool thread to write (the loop keeps off it until returned)."""
        check(self._writable.is_set(), "nothing of ours waits in the transport's buffer")
        transport = self._transport
        if self._lost or transport is None:
            raise ConnectionResetError(f"connection to {self.peer} is closed")
        if not self._reading_paused:
            transport.pause_reading()
            self._reading_paused = True
        self._lent = True
        descriptor: int = transport.get_extra_info("socket").fileno()
        return descriptor

    def take_socket_back(self) -> None:
        self._lent = False
        if self._reading_paused and self._transport is not None and not self._lost:
            self._reading_paused = False
            self._transport.resume_reading()

    def shutdown(self) -> None:
        """Stop both directions now without closing the descriptor: a pool thread writing to the lent
        socket fails at once instead of at its timeout (closing would let the number be reused)."""
        transport = self._transport
        sock: Any = None if transport is None else transport.get_extra_info("socket")
        if sock is None or self._lost:
            return
        with contextlib.suppress(OSError):
            duplicate = socket.socket(fileno=os.dup(sock.fileno()))
            try:
                duplicate.shutdown(socket.SHUT_RDWR)
            finally:
                duplicate.close()

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


class EventSource(Generic[_EventT]):
    """The next event of a codec fed from a channel, in order."""

    def __init__(self, channel: Channel, receive_data: Callable[[bytes], Sequence[_EventT]]) -> None:
        self.channel = channel
        self._receive_data = receive_data
        self._pending: deque[_EventT] = deque()

    async def next_event(self, timeout_s: float) -> _EventT:
        """The next event; receiving when none is pending. Codec errors propagate (RemoteProtocolError)."""
        # Each round receives bytes (b"" ends the stream, which the codec turns into an event or an
        # error), and the timeout bounds one round, so the loop ends.
        while not self._pending:
            data = await self.channel.receive(timeout_s)
            self._pending.extend(self._receive_data(data))
        return self._pending.popleft()
