"""Reading a range of one replica: OP_READ_BLOCK over one datanode connection.

The datanode answers with the checksum it uses and the chunk boundary it starts at, then streams
packets; the codec checks their framing and verifies every packet's CRC32C in one call
(`verify_checksums`), so data reaches the caller only once verified. After the empty last packet the
reader sends CHECKSUM_OK and returns the connection to the pool for the next operation; a reader
abandoned before the end closes its connection instead (the datanode is still sending).

Any failure is a `ReplicaReadFailed` naming the datanode and whether the replica is corrupt (a
checksum mismatch) or merely unreachable, silent or refusing (connection error, timeout, error
response, protocol violation); the input stream decides whether to report it and where to go next.
"""

from __future__ import annotations

from collections import deque

from hopsfs.client.datanode_connection import DatanodeConnection, DatanodePool, DatanodeUnreachable
from hopsfs.client.stream_settings import StreamSettings
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumMismatch
from hopsfs.protocol.dtp_events import ClientEvent, ConnectionClosed, OperationResponse, PacketReceived
from hopsfs.protocol.dtp_wire import CHECKSUM_OK, status_name
from hopsfs.protocol.errors import ProtocolError
from hopsfs.protocol.located_blocks import DatanodeInfo, ExtendedBlock
from hopsfs.protocol.proto.datatransfer_pb2 import (
    BaseHeaderProto,
    ClientOperationHeaderProto,
    OpReadBlockProto,
)


class ReplicaReadFailed(Exception):
    """Reading a replica failed; `corrupt` when its data did not match its checksums."""

    def __init__(self, node: DatanodeInfo, reason: str, *, corrupt: bool = False) -> None:
        super().__init__(f"datanode {node.transfer_name}: {reason}")
        self.node = node
        self.reason = reason
        self.corrupt = corrupt


class BlockReader:
    """Bytes [offset, offset + length) of one replica, packet by packet."""

    def __init__(
        self,
        pool: DatanodePool,
        connection: DatanodeConnection,
        offset: int,
        length: int,
        settings: StreamSettings,
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._settings = settings
        # The next block offset the caller gets, and the end of the range asked for.
        self.position = offset
        self._end = offset + length
        self._events: deque[ClientEvent] = deque()
        self._finished = False
        # Whether the datanode answered the operation (a reused connection that fails before that
        # was most likely closed by the datanode while it sat in the pool).
        self._answered = False

    @classmethod
    async def open(
        cls,
        pool: DatanodePool,
        node: DatanodeInfo,
        block: ExtendedBlock,
        offset: int,
        length: int,
        *,
        client_name: str,
        settings: StreamSettings,
    ) -> BlockReader:
        """Send OP_READ_BLOCK and wait for the datanode's consent. A pooled connection that the
        datanode closed while it idled is replaced once by a fresh one, without blaming the replica."""
        check(offset >= 0 and length > 0, "a read asks for a non-empty range from a valid offset")
        for attempt in range(2):
            connection = await _connect(pool, node)
            reader = cls(pool, connection, offset, length, settings)
            try:
                await reader._start(block, client_name)
            except ReplicaReadFailed:
                reader.abort()
                if connection.reused and attempt == 0 and not reader._answered:
                    continue
                raise
            return reader
        raise ReplicaReadFailed(node, "no connection survived to answer")  # unreachable: loop returns

    @property
    def node(self) -> DatanodeInfo:
        return self._connection.node

    async def read(self) -> memoryview | None:
        """The next verified bytes of the range (never empty), or None once the range is done."""
        while not self._finished:
            event = await self._next_event()
            if not isinstance(event, PacketReceived):
                raise ReplicaReadFailed(self.node, f"unexpected {type(event).__name__} during a read")
            if event.header.last_packet_in_block:
                self._finish()
                return None
            data = self._trimmed(event)
            if data is not None:
                return data
        return None

    def abort(self) -> None:
        """Stop early: the datanode may still be sending, so the connection cannot be reused."""
        if not self._finished:
            self._finished = True
            self._connection.close()

    # -- internals -------------------------------------------------------------------------------

    async def _start(self, block: ExtendedBlock, client_name: str) -> None:
        request = OpReadBlockProto(
            header=ClientOperationHeaderProto(
                baseHeader=BaseHeaderProto(block=block.to_proto()), clientName=client_name
            ),
            offset=self.position,
            len=self._end - self.position,
            sendChecksums=True,
        )
        try:
            self._connection.send(self._connection.codec.send_read_block(request))
        except OSError as error:
            raise ReplicaReadFailed(self.node, f"sending OP_READ_BLOCK failed: {error}") from error
        event = await self._next_event()
        if not isinstance(event, OperationResponse):
            raise ReplicaReadFailed(self.node, f"expected a response, got {type(event).__name__}")
        self._answered = True
        if not event.ok:
            response = event.response
            raise ReplicaReadFailed(
                self.node, f"read of {block.name} refused: {status_name(response.status)} {response.message}"
            )

    async def _next_event(self) -> ClientEvent:
        while not self._events:
            try:
                events = await self._connection.receive(self._settings.read_timeout_s)
            except ChecksumMismatch as mismatch:
                raise ReplicaReadFailed(self.node, str(mismatch), corrupt=True) from mismatch
            except ProtocolError as error:
                raise ReplicaReadFailed(self.node, f"protocol error: {error}") from error
            except TimeoutError as error:
                timeout_s = self._settings.read_timeout_s
                raise ReplicaReadFailed(self.node, f"no data for {timeout_s:.0f} s") from error
            except OSError as error:
                raise ReplicaReadFailed(self.node, f"connection failed: {error}") from error
            for event in events:
                if isinstance(event, ConnectionClosed):
                    raise ReplicaReadFailed(self.node, "the datanode closed the connection mid-read")
            self._events.extend(events)
        return self._events.popleft()

    def _trimmed(self, packet: PacketReceived) -> memoryview | None:
        """The part of a packet inside [position, end): the first packet starts at the chunk boundary
        before the offset asked for, the last may run on to the end of its chunk."""
        start = packet.header.offset_in_block
        data = packet.data
        skip = self.position - start
        check(skip >= 0, "the codec keeps packets contiguous from the chunk offset")
        keep = min(len(data) - skip, self._end - self.position)
        if keep <= 0:
            return None
        self.position += keep
        return data[skip : skip + keep]

    def _finish(self) -> None:
        check(self.position == self._end, "the codec ends a read only once its range is covered")
        self._finished = True
        try:
            self._connection.send(self._connection.codec.send_read_status(CHECKSUM_OK))
        except OSError:
            self._connection.close()
            return
        self._pool.release(self._connection)


async def _connect(pool: DatanodePool, node: DatanodeInfo) -> DatanodeConnection:
    try:
        return await pool.connect(node)
    except DatanodeUnreachable as error:
        raise ReplicaReadFailed(node, str(error)) from error
