"""A small in-memory datanode that speaks real DataTransferProtocol, for client tests.

Built on the codec's server side (`hopsfs.protocol.dtp_codec`) and, towards the next datanode of a
pipeline, its client side (`forward_packet`), on real sockets on 127.0.0.1. It stores replicas in
memory and follows HDFS's datanode where a client can tell:
- OP_WRITE_BLOCK: PIPELINE_SETUP_CREATE, _APPEND (a finalized replica of exactly minBytesRcvd bytes
  reopened under latestGenerationStamp), _STREAMING_RECOVERY / _APPEND_RECOVERY (an existing replica
  cut back to minBytesRcvd, new stamp), PIPELINE_CLOSE_RECOVERY (finalized at once, no packets).
  The op is forwarded to `targets[0]`; a target that cannot be reached or refuses makes the answer
  ERROR with firstBadLink. Packets are stored, forwarded and acked in order, each ack carrying this
  node's status followed by the downstream ones ([SUCCESS, ERROR] once the mirror broke, as HDFS).
  The empty last packet finalizes the replica.
- OP_READ_BLOCK: stamp and range checked (ERROR / ERROR_INVALID), packets from the chunk boundary,
  the empty last packet, then the reader's status; several operations per connection.

`Faults` makes it misbehave on purpose: die after N write packets or at the end of a block (every
connection dropped, new ones refused), report ERROR for its downstream node once, corrupt the data
it sends to readers, drop a read after N packets, hang on reads. `BackgroundLoop` runs datanodes on
their own event loop thread, like separate processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType
from hopsfs.protocol.dtp_client import DataTransferClientConnection
from hopsfs.protocol.dtp_codec import DataTransferServerConnection
from hopsfs.protocol.dtp_events import (
    AckReceived,
    ConnectionClosed,
    OperationResponse,
    PacketReceived,
    ReadBlockRequested,
    ReadStatusReceived,
    WriteBlockRequested,
)
from hopsfs.protocol.dtp_wire import ERROR, ERROR_INVALID, SUCCESS, error_response, read_response
from hopsfs.protocol.errors import ProtocolError
from hopsfs.protocol.located_blocks import DatanodeInfo
from hopsfs.protocol.proto.datatransfer_pb2 import BlockOpResponseProto, OpWriteBlockProto

_T = TypeVar("_T")
Stage = OpWriteBlockProto.BlockConstructionStage
READ_PACKET_BYTES = 64 * 1024
RECEIVE_BYTES = 256 * 1024
CHUNK_BYTES = 512
CRC32C = ChecksumSpec(ChecksumType.CRC32C)


@dataclass
class Replica:
    block_id: int
    generation_stamp: int
    data: bytearray
    finalized: bool = False


@dataclass
class Faults:
    # Drop every connection and refuse new ones once this many data packets of writes arrived.
    die_after_packets: int | None = None
    # Die when the empty end-of-block packet of a write arrives.
    die_on_end_of_block: bool = False
    # Reset the connection right after acking the end-of-block packet.
    reset_after_end_of_block: bool = False
    # Once, report ERROR for the next datanode in acks when this many data packets of one write
    # arrived (the next datanode stays up).
    error_downstream_after_packets: int | None = None
    # Flip a bit in the data of every read packet (the checksums stay the true ones).
    corrupt_reads: bool = False
    # Close a read's connection after sending this many data packets.
    drop_read_after_packets: int | None = None
    # Accept a read and never answer it (a hung datanode).
    stall_reads: bool = False
    # Once: close the connection on the next operation instead of answering it (the race of a
    # datanode closing an idle connection just as the client reuses it).
    drop_next_op: bool = False
    # Refuse connections (a datanode that is down).
    down: bool = False


@dataclass
class Stats:
    connections: int = 0
    reads: int = 0
    writes: int = 0
    write_packets: int = 0
    stages: list[int] = field(default_factory=list)


class FakeDatanode:
    def __init__(self, index: int) -> None:
        self.index = index
        self.uuid = f"fake-datanode-{index}"
        self.storage_id = f"DS-fake-{index}"
        self.faults = Faults()
        self.stats = Stats()
        self.port = 0
        self._replicas: dict[int, Replica] = {}
        self._lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def info(self) -> DatanodeInfo:
        return DatanodeInfo(
            uuid=self.uuid,
            ip_address="127.0.0.1",
            host_name=f"fake-dn{self.index}",
            transfer_port=self.port,
            storage_id=self.storage_id,
        )

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.kill()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def kill(self) -> None:
        """Die: every connection dropped at once, new ones refused."""
        self.faults.down = True
        self.drop_connections()

    def drop_connections(self) -> None:
        """Close every connection (as a datanode does with idle ones) and keep serving new ones.
        Callable from any thread: the transports are closed on the datanode's own loop."""
        loop = self._loop
        if loop is not None and not _running_in(loop):
            loop.call_soon_threadsafe(self.drop_connections)
            return
        for writer in list(self._writers):
            writer.transport.abort()

    # -- what tests and the in-memory namenode read ---------------------------------------------

    def replica(self, block_id: int) -> Replica | None:
        with self._lock:
            replica = self._replicas.get(block_id)
            if replica is None:
                return None
            return Replica(
                replica.block_id, replica.generation_stamp, bytearray(replica.data), replica.finalized
            )

    def block_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._replicas)

    def put_replica(self, replica: Replica) -> None:
        with self._lock:
            self._replicas[replica.block_id] = replica

    def delete_replica(self, block_id: int) -> None:
        """What a datanode does on the namenode's INVALIDATE command."""
        with self._lock:
            self._replicas.pop(block_id, None)

    # -- serving --------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.faults.down:
            writer.transport.abort()
            return
        self.stats.connections += 1
        self._writers.add(writer)
        codec = DataTransferServerConnection()
        session = _Session(self, codec, reader, writer)
        try:
            await session.run()
        except (OSError, ProtocolError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            await session.close()
            writer.close()  # flushes an error response or ack still buffered

    def _replica_for_write(self, request: OpWriteBlockProto) -> str | None:
        """Prepare the replica an OP_WRITE_BLOCK stage asks for; why not, or None."""
        block = request.header.baseHeader.block
        stage = request.stage
        self.stats.stages.append(stage)
        with self._lock:
            replica = self._replicas.get(block.blockId)
            if stage == Stage.PIPELINE_SETUP_CREATE:
                self._replicas[block.blockId] = Replica(
                    block.blockId, request.latestGenerationStamp, bytearray()
                )
                return None
            if replica is None:
                return f"no replica of block {block.blockId}"
            if not block.generationStamp <= replica.generation_stamp <= request.latestGenerationStamp:
                return (
                    f"replica stamp {replica.generation_stamp} is not between {block.generationStamp} "
                    f"and {request.latestGenerationStamp}"
                )
            if stage == Stage.PIPELINE_SETUP_APPEND:
                if not replica.finalized or len(replica.data) != request.minBytesRcvd:
                    state = f"{len(replica.data)} bytes, finalized {replica.finalized}"
                    return f"cannot append to {block.blockId}: {state}"
            elif len(replica.data) < request.minBytesRcvd:
                return f"replica {block.blockId} has {len(replica.data)} < {request.minBytesRcvd} bytes"
            replica.generation_stamp = request.latestGenerationStamp
            del replica.data[request.minBytesRcvd :]
            replica.finalized = stage == Stage.PIPELINE_CLOSE_RECOVERY
            return None

    def _store_packet(self, block_id: int, offset: int, data: memoryview, last: bool) -> None:
        with self._lock:
            replica = self._replicas[block_id]
            if data:
                del replica.data[offset:]
                replica.data += data
            if last:
                replica.finalized = True


class _Session:
    """One connection to a FakeDatanode: operations one after another."""

    def __init__(
        self,
        node: FakeDatanode,
        codec: DataTransferServerConnection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.node = node
        self.codec = codec
        self.reader = reader
        self.writer = writer
        self.write: _WriteOp | None = None

    async def run(self) -> None:
        while True:
            data = await self.reader.read(RECEIVE_BYTES)
            for event in self.codec.receive_data(data):
                if isinstance(event, ConnectionClosed):
                    return
                await self._handle(event)

    async def close(self) -> None:
        if self.write is not None:
            await self.write.close()

    async def _handle(self, event: object) -> None:
        if isinstance(event, ReadBlockRequested | WriteBlockRequested) and self.node.faults.drop_next_op:
            self.node.faults.drop_next_op = False
            self.writer.transport.abort()
            raise ConnectionResetError("dropped an operation on purpose")
        if isinstance(event, ReadBlockRequested):
            await self._read(event)
        elif isinstance(event, WriteBlockRequested):
            self.write = await _WriteOp.start(self, event)
        elif isinstance(event, PacketReceived) and self.write is not None:
            await self.write.packet(event)
        elif isinstance(event, ReadStatusReceived):
            pass  # the read is over; the next op may follow

    async def _read(self, event: ReadBlockRequested) -> None:
        request = event.request
        node = self.node
        node.stats.reads += 1
        if node.faults.stall_reads:
            await asyncio.sleep(3600)
        replica = node.replica(request.header.baseHeader.block.blockId)
        problem = _read_problem(
            replica, request.header.baseHeader.block.generationStamp, request.offset, request.len
        )
        if problem is not None or replica is None:
            status = ERROR_INVALID if replica is not None else ERROR
            self.writer.write(self.codec.send_response(error_response(status, problem or "no replica")))
            raise ConnectionResetError(problem)
        chunk_offset = request.offset - request.offset % CHUNK_BYTES
        self.writer.write(self.codec.send_response(read_response(CRC32C, chunk_offset)))
        end = min(len(replica.data), -(-(request.offset + request.len) // CHUNK_BYTES) * CHUNK_BYTES)
        for sent, start in enumerate(range(chunk_offset, end, READ_PACKET_BYTES)):
            if (
                node.faults.drop_read_after_packets is not None
                and sent >= node.faults.drop_read_after_packets
            ):
                raise ConnectionResetError("read dropped on purpose")
            piece = bytes(replica.data[start : min(end, start + READ_PACKET_BYTES)])
            frame = self.codec.send_packet(start, piece)
            if node.faults.corrupt_reads:
                frame = frame[:-1] + bytes([frame[-1] ^ 0x01])
            self.writer.write(frame)
            await self.writer.drain()
        self.writer.write(self.codec.send_last_packet())
        await self.writer.drain()


def _read_problem(replica: Replica | None, generation_stamp: int, offset: int, length: int) -> str | None:
    if replica is None:
        return "no such replica"
    if replica.generation_stamp < generation_stamp:
        return f"replica stamp {replica.generation_stamp} is older than {generation_stamp}"
    if offset + length > len(replica.data):
        return f"range {offset}+{length} past the replica's {len(replica.data)} bytes"
    return None


class _WriteOp:
    """One OP_WRITE_BLOCK: the replica, the mirror connection, and the ack pairing task."""

    def __init__(self, session: _Session, request: OpWriteBlockProto) -> None:
        self.session = session
        self.request = request
        self.block_id = request.header.baseHeader.block.blockId
        self.mirror: _Mirror | None = None
        # (seqno, own status) in arrival order, paired with the mirror's acks by the acker task.
        self.pending: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()
        self.acker: asyncio.Task[None] | None = None
        self.packets = 0

    @classmethod
    async def start(cls, session: _Session, event: WriteBlockRequested) -> _WriteOp | None:
        op = cls(session, event.request)
        node = session.node
        node.stats.writes += 1
        problem = node._replica_for_write(event.request)
        if problem is not None:
            session.writer.write(session.codec.send_response(error_response(ERROR, problem)))
            raise ConnectionResetError(problem)
        targets = list(event.request.targets)
        if targets and event.request.stage != Stage.PIPELINE_CLOSE_RECOVERY:
            mirror, bad_link = await _Mirror.open(event.request, targets)
            if mirror is None:
                response = error_response(ERROR, f"mirror {bad_link} failed", first_bad_link=bad_link)
                session.writer.write(session.codec.send_response(response))
                raise ConnectionResetError(f"mirror {bad_link} failed")
            op.mirror = mirror
        session.writer.write(session.codec.send_response(BlockOpResponseProto(status=SUCCESS)))
        op.acker = asyncio.get_running_loop().create_task(op._ack_loop())
        return op

    async def packet(self, event: PacketReceived) -> None:
        node = self.session.node
        header = event.header
        if not header.is_heartbeat and header.data_length > 0:
            node.stats.write_packets += 1
            self.packets += 1
            if (
                node.faults.die_after_packets is not None
                and node.stats.write_packets > node.faults.die_after_packets
            ):
                node.kill()
                raise ConnectionResetError("died on purpose")
        if header.last_packet_in_block and node.faults.die_on_end_of_block:
            node.kill()
            raise ConnectionResetError("died on purpose at the end of the block")
        if not header.is_heartbeat:
            node._store_packet(self.block_id, header.offset_in_block, event.data, header.last_packet_in_block)
        if self.mirror is not None:
            self.mirror.forward(event)
        own = SUCCESS
        await self.pending.put((header.seqno, own))
        if header.last_packet_in_block:
            await self.pending.put(None)
            if self.acker is not None:
                await self.acker
            self.session.write = None
            if node.faults.reset_after_end_of_block:
                await asyncio.sleep(0.01)  # the last ack reaches the client first
                self.session.writer.transport.abort()
                raise ConnectionResetError("reset after the block on purpose")

    async def close(self) -> None:
        if self.acker is not None:
            self.acker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.acker
        if self.mirror is not None:
            self.mirror.close()

    async def _ack_loop(self) -> None:
        node = self.session.node
        downstream = max(len(self.request.targets), 0)
        while (item := await self.pending.get()) is not None:
            seqno, own = item
            statuses = [own]
            if self.mirror is not None:
                statuses += await self.mirror.ack_for(seqno, downstream)
            threshold = node.faults.error_downstream_after_packets
            if threshold is not None and self.packets > threshold and len(statuses) > 1:
                node.faults.error_downstream_after_packets = None
                statuses = [own, ERROR]
            self.session.writer.write(self.session.codec.send_ack(seqno, statuses))
            await self.session.writer.drain()
            if any(status != SUCCESS for status in statuses):
                return  # the codec closed the write: the client rebuilds the pipeline without us


class _Mirror:
    """The connection to the next datanode of the pipeline."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str) -> None:
        self.reader = reader
        self.writer = writer
        self.name = name
        self.codec = DataTransferClientConnection(verify_checksums=False)
        self.broken = False
        self._acks: list[AckReceived] = []

    @classmethod
    async def open(cls, request: OpWriteBlockProto, targets: list[Any]) -> tuple[_Mirror | None, str]:
        target = targets[0].id
        name = f"{target.ipAddr}:{target.xferPort}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.ipAddr, target.xferPort), 5
            )
        except (OSError, TimeoutError):
            return None, name
        mirror = cls(reader, writer, name)
        forwarded = OpWriteBlockProto()
        forwarded.CopyFrom(request)
        del forwarded.targets[:]
        forwarded.targets.extend(targets[1:])
        try:
            writer.write(mirror.codec.send_write_block(forwarded))
            response = await mirror._response()
        except (OSError, ProtocolError, TimeoutError):
            mirror.close()
            return None, name
        if response.status != SUCCESS:
            mirror.close()
            return None, response.firstBadLink or name
        return mirror, name

    def forward(self, event: PacketReceived) -> None:
        if self.broken:
            return
        try:
            self.writer.write(self.codec.forward_packet(event.header, event.wire))
        except (OSError, ProtocolError):
            self.broken = True

    async def ack_for(self, seqno: int, downstream: int) -> list[int]:
        """The mirror's statuses for `seqno`; [ERROR] once the mirror is gone (HDFS's mirror error)."""
        while not self.broken:
            for index, event in enumerate(self._acks):
                if event.ack.seqno == seqno:
                    del self._acks[: index + 1]
                    return list(event.ack.statuses)
            try:
                data = await asyncio.wait_for(self.reader.read(RECEIVE_BYTES), 10)
                if not data:
                    self.broken = True
                    break
                self._acks += [
                    event for event in self.codec.receive_data(data) if isinstance(event, AckReceived)
                ]
            except (OSError, ProtocolError, TimeoutError):
                self.broken = True
        return [ERROR]

    async def _response(self) -> BlockOpResponseProto:
        while True:
            data = await asyncio.wait_for(self.reader.read(RECEIVE_BYTES), 5)
            if not data:
                raise ConnectionResetError("mirror closed")
            for event in self.codec.receive_data(data):
                if isinstance(event, OperationResponse):
                    return event.response

    def close(self) -> None:
        self.broken = True
        self.writer.transport.abort()


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class BackgroundLoop:
    """An event loop on its own thread, for servers that must outlive one test coroutine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-cluster", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, _T], timeout_s: float = 30.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def start_datanodes(loop: BackgroundLoop, count: int) -> list[FakeDatanode]:
    datanodes = [FakeDatanode(index) for index in range(count)]
    for datanode in datanodes:
        loop.run(datanode.start())
    return datanodes
