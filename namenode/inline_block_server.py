"""The namenode's DataTransferProtocol server: READ_BLOCK of small files stored inline, for HDFS
clients that know no other way to read a file (ops/inline_blocks.py says how such a file appears to
them: one block, on this server).

It speaks the datanode's read protocol (Hadoop's BlockSender): validate, answer SUCCESS with the
checksum (CRC32C per 512 bytes, computed here: the bytes come from the metadata store, which keeps
none), stream chunk-aligned packets and an empty last one, then take the reader's status. A
connection may carry several reads. Every other operation gets ERROR_UNSUPPORTED: a client writes
small files through create/addBlock, to datanodes.

Refusals are what a datanode that lost a replica answers (ERROR, or ERROR_INVALID for a bad range),
so a reader holding stale locations asks the namenode again, as HDFS clients do after replica loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque

from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType
from hopsfs.protocol.dtp_codec import DataTransferServerConnection
from hopsfs.protocol.dtp_events import (
    ConnectionClosed,
    ReadBlockRequested,
    ReadStatusReceived,
    ServerEvent,
    WriteBlockRequested,
)
from hopsfs.protocol.dtp_wire import (
    ERROR,
    ERROR_CHECKSUM,
    ERROR_INVALID,
    ERROR_UNSUPPORTED,
    error_response,
    read_response,
)
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.hdfs_values import from_uint64
from hopsfs.protocol.proto.datatransfer_pb2 import OpReadBlockProto
from namenode.block_entities import DatanodeInfo
from namenode.engine.namespace import Namespace

LOGGER = logging.getLogger("hopsfs.namenode.inline_blocks")

BYTES_PER_CHECKSUM = 512  # HDFS's default (dfs.bytes-per-checksum)
PACKET_BYTES = 64 * 1024  # HDFS's default read packet; an inline file is at most one such packet or so
RECEIVE_BYTES = 64 * 1024
IDLE_TIMEOUT_S = 60.0  # between operations on one connection
IO_TIMEOUT_S = 60.0  # a peer that stops reading or answering
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class InlineBlockServer:
    def __init__(self, namespace: Namespace) -> None:
        self._namespace = namespace
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.reads = 0
        self.bytes_sent = 0
        self.refusals = 0

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> int:
        """Listen; returns the port (the one chosen when `port` is 0). Namenodes sharing one address
        (reuse_port) may share this port too: any of them serves any inline block."""
        self._server = await asyncio.start_server(self._accept, host, port, reuse_port=reuse_port or None)
        return int(self._server.sockets[0].getsockname()[1])

    def location(self, host: str, port: int) -> DatanodeInfo:
        """This server as the one location of every inline block this namenode hands out."""
        advertised = _advertised_host(host)
        return DatanodeInfo(
            uuid=f"namenode-{self._namespace.context.namenode_id}",
            storage_id=f"namenode-inline-{self._namespace.context.namenode_id}",
            host_name=advertised,
            transfer_port=port,
            info_port=0,
            capacity=0,
            used=0,
            remaining=0,
            last_heartbeat_ms=0,
            active_transfers=0,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(self._connections)
        if self._server is not None:
            await self._server.wait_closed()

    def render_metrics(self) -> str:
        families = (
            ("reads", self.reads, "READ_BLOCKs of inline files served."),
            ("bytes", self.bytes_sent, "Data bytes sent for READ_BLOCKs of inline files."),
            ("refusals", self.refusals, "Operations refused by the inline block server."),
        )
        lines: list[str] = []
        for suffix, value, help_text in families:
            name = f"hopsfs_namenode_inline_block_{suffix}_total"
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
        return "\n".join(lines) + "\n"

    @property
    def namespace(self) -> Namespace:
        return self._namespace

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Tracked so that stop() can end connections that idle between reads.
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await _Connection(self, reader, writer).serve()
        finally:
            self._connections.discard(task)  # type: ignore[arg-type]


class _Connection:
    def __init__(self, server: InlineBlockServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._server = server
        self._reader = reader
        self._writer = writer
        self._codec = DataTransferServerConnection(verify_checksums=False)
        self._events: deque[ServerEvent] = deque()
        self._peer = str(writer.get_extra_info("peername"))

    async def serve(self) -> None:
        try:
            while await self._serve_next():
                pass
        except RemoteProtocolError as error:
            LOGGER.warning("connection from %s broke the protocol: %s", self._peer, error)
            await self._refuse(ERROR_INVALID, f"protocol error: {error}")
        except (OSError, TimeoutError, LocalProtocolError) as error:
            LOGGER.info("connection from %s ended: %r", self._peer, error)
        finally:
            self._writer.close()

    async def _serve_next(self) -> bool:
        """One operation; True when the connection stays open for another."""
        try:
            event = await self._next_event(IDLE_TIMEOUT_S)
        except TimeoutError:
            return False
        if isinstance(event, ConnectionClosed):
            return False
        if isinstance(event, ReadBlockRequested):
            return await self._serve_read(event.request)
        if isinstance(event, WriteBlockRequested) and not event.expects_response:
            self._server.refusals += 1
            return False  # a replication stream expects no answer: hanging up is the refusal
        await self._refuse(ERROR_UNSUPPORTED, "the namenode serves READ_BLOCK of small files only")
        return False

    async def _serve_read(self, request: OpReadBlockProto) -> bool:
        block = request.header.baseHeader.block
        namespace = self._server.namespace
        if block.poolId != namespace.block_pool_id:
            await self._refuse(ERROR, f"block pool {block.poolId} is not served here")
            return False
        offset, length = from_uint64(request.offset), from_uint64(request.len)
        loop = asyncio.get_running_loop()
        try:
            found = await loop.run_in_executor(None, namespace.read_inline_block, block.blockId)
        except HopsFSError as error:
            LOGGER.info("READ_BLOCK blk_%d from %s refused: %s", block.blockId, self._peer, error)
            await self._refuse(ERROR, str(error))
            return False
        data = found.data
        if offset < 0 or length < 0 or offset + length > len(data):
            await self._refuse(
                ERROR_INVALID,
                f"blk_{block.blockId}: range [{offset}, {offset + length}) is past the end of "
                f"{len(data)} bytes",
            )
            return False
        checksum_type = ChecksumType.CRC32C if request.sendChecksums else ChecksumType.NULL
        spec = ChecksumSpec(checksum_type, BYTES_PER_CHECKSUM)
        chunk_offset = offset - offset % BYTES_PER_CHECKSUM
        end = min(len(data), -(-(offset + length) // BYTES_PER_CHECKSUM) * BYTES_PER_CHECKSUM)
        await self._send(self._codec.send_response(read_response(spec, chunk_offset)))
        view = memoryview(data)
        position = chunk_offset
        while position < end:
            count = min(PACKET_BYTES, end - position)
            await self._send(self._codec.send_packet(position, view[position : position + count]))
            position += count
        await self._send(self._codec.send_last_packet())
        self._server.reads += 1
        self._server.bytes_sent += end - chunk_offset
        return await self._take_read_status(block.blockId)

    async def _take_read_status(self, block_id: int) -> bool:
        try:
            event = await self._next_event(IO_TIMEOUT_S)
        except TimeoutError:
            return False
        if not isinstance(event, ReadStatusReceived):
            return False  # the reader hung up after the data: allowed
        if event.status == ERROR_CHECKSUM:
            # The bytes came from the store and were checksummed here: the damage was on the way.
            LOGGER.warning("%s reports a checksum error reading inline blk_%d", self._peer, block_id)
        return True

    async def _next_event(self, timeout_s: float) -> ServerEvent:
        while not self._events:
            data = await asyncio.wait_for(self._reader.read(RECEIVE_BYTES), timeout_s)
            self._events.extend(self._codec.receive_data(data))
        return self._events.popleft()

    async def _send(self, frame: bytes) -> None:
        self._writer.write(frame)
        await asyncio.wait_for(self._writer.drain(), IO_TIMEOUT_S)

    async def _refuse(self, status: int, message: str) -> None:
        """Answer an error (when the protocol still allows one) and let the connection end."""
        self._server.refusals += 1
        # The protocol may allow no answer any more (mid-stream), or the peer may be gone already.
        with contextlib.suppress(LocalProtocolError, OSError, TimeoutError):
            await self._send(self._codec.send_response(error_response(status, message)))


def _advertised_host(host: str) -> str:
    """The address clients dial: the listening one, or this host's own for a wildcard listen."""
    if host not in _WILDCARD_HOSTS:
        return host
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
