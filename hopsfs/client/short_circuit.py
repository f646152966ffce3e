"""Short-circuit reads: a replica on this host read straight from its files, as HDFS's local reads are.

When the client knows the datanodes' domain socket (`StreamSettings.domain_socket_path`, a pattern in
which `_PORT` stands for the datanode's transfer port) and a replica's datanode is on this host, it
asks that datanode for the replica's open data and meta files (REQUEST_SHORT_CIRCUIT_FDS) and reads
them itself with pread: no TCP, no copy through the datanode, the datanode's CPU left alone. Every
piece is checked against the replica's stored CRCs before it is delivered, as over TCP.

Descriptors are kept per (datanode, block, generation stamp) in a small LRU (HDFS's short-circuit
stream cache: 256 entries, 5 minutes), so a block is asked for once, not once per read.

Anything short of verified bytes makes the caller read over TCP instead, from the first byte not yet
delivered (`ShortCircuitUnavailable`):
- the socket is missing or refuses: short-circuit reads from that datanode pause for
  `short_circuit_disable_s` (HDFS: 10 minutes), so a misconfigured client does not pay for it per read;
- the datanode refuses the block (being written, unknown stamp, known bad) or its file is shorter
  than the namenode says: that one read goes over TCP;
- a checksum mismatch: the descriptors are dropped and the range is reread over TCP, where a real
  corruption is found and reported. A finalized replica may be reopened for append, which rewrites its
  last partial chunk's checksum in place; a reader holding old descriptors must not call that corrupt.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import cache

from hopsfs.client.stream_settings import StreamSettings
from hopsfs.invariants import check
from hopsfs.protocol.block_meta import (
    META_HEADER_BYTES,
    MetaHeaderInvalid,
    checksum_position,
    decode_meta_header,
)
from hopsfs.protocol.dtp_checksum import ChecksumSpec, chunk_count, first_mismatch
from hopsfs.protocol.dtp_wire import SUCCESS, decode_status_message, status_name
from hopsfs.protocol.errors import ProtocolError
from hopsfs.protocol.located_blocks import DatanodeInfo, LocatedBlock
from hopsfs.protocol.packet_buffers import PacketBuffers
from hopsfs.protocol.proto.datatransfer_pb2 import BlockOpResponseProto
from hopsfs.protocol.short_circuit import (
    encode_request,
    recv_descriptors,
    recv_response,
    socket_path,
)

log = logging.getLogger(__name__)

REPLICAS_CACHED_MAX = 256  # dfs.client.read.shortcircuit.streams.cache.size
REPLICA_CACHE_S = 300.0  # dfs.client.read.shortcircuit.streams.cache.expiry.ms
PIECES_IN_FLIGHT = 2
# How far past each piece the kernel is asked to read ahead (posix_fadvise WILLNEED).
READAHEAD_BYTES = 4 * 1024 * 1024


class ShortCircuitUnavailable(Exception):
    """This replica cannot be read locally now; read it over TCP."""


@dataclass(slots=True)
class _Replica:
    data: int
    meta: int
    spec: ChecksumSpec
    length: int
    opened_s: float
    # Reads using the descriptors now, and whether the cache let go of them (closed once unused).
    users: int = 0
    retired: bool = False

    def retire(self) -> None:
        """The cache no longer holds this replica: close it now, or when its last read ends."""
        self.retired = True
        if self.users == 0:
            self._close()

    def release(self) -> None:
        self.users -= 1
        if self.retired and self.users == 0:
            self._close()

    def _close(self) -> None:
        _close_all(self.data, self.meta)


class ShortCircuitReads:
    """Local replicas, read from the descriptors their datanodes hand out."""

    def __init__(self, settings: StreamSettings, buffers: PacketBuffers) -> None:
        self._settings = settings
        self._buffers = buffers
        self._replicas: OrderedDict[tuple[str, int, int], _Replica] = OrderedDict()
        self._disabled_until: dict[str, float] = {}
        self.replicas_opened = 0
        self.bytes_read = 0

    def usable(self, node: DatanodeInfo) -> bool:
        """True when `node` may serve this client short-circuit reads."""
        if self._settings.domain_socket_path is None or not _is_local(node.ip_address):
            return False
        return self._disabled_until.get(node.uuid, 0.0) <= time.monotonic()

    async def pieces(
        self, node: DatanodeInfo, located: LocatedBlock, start: int, end: int
    ) -> AsyncIterator[memoryview]:
        """Verified bytes [start, end) of the replica on `node`, in order, a piece at a time."""
        check(0 <= start < end <= located.block.num_bytes, "a range inside the block")
        replica = await self._replica(node, located)
        replica.users += 1
        spec = replica.spec
        piece_bytes = max(spec.bytes_per_checksum, self._settings.short_circuit_read_bytes)
        piece_bytes -= piece_bytes % spec.bytes_per_checksum
        # Pieces are read in worker threads, PIECES_IN_FLIGHT at a time, while earlier ones are
        # delivered: the disk sees several requests at once, as a kernel readahead would issue them.
        ranges = _piece_ranges(start, end, located.block.num_bytes, spec.bytes_per_checksum, piece_bytes)
        pending: deque[tuple[int, memoryview, asyncio.Future[None]]] = deque()
        try:
            for piece in ranges:
                pending.append(self._read_piece(replica, piece))
                if len(pending) < PIECES_IN_FLIGHT:
                    continue
                yield await self._deliver(node, located, pending.popleft(), start, end)
            while pending:
                yield await self._deliver(node, located, pending.popleft(), start, end)
        finally:
            # A read still running must not outlive the descriptors it reads.
            for _, _, future in pending:
                with contextlib.suppress(ShortCircuitUnavailable):
                    await future
            replica.release()

    async def _deliver(
        self,
        node: DatanodeInfo,
        located: LocatedBlock,
        read: tuple[int, memoryview, asyncio.Future[None]],
        start: int,
        end: int,
    ) -> memoryview:
        """The part of a piece inside [start, end), once its read and verification are done."""
        chunk_start, buffer, future = read
        try:
            await future
        except ShortCircuitUnavailable:
            self._forget(node, located)
            raise
        first = max(start, chunk_start)
        last = min(end, chunk_start + len(buffer))
        self.bytes_read += last - first
        return buffer[first - chunk_start : last - chunk_start].toreadonly()

    def _read_piece(
        self, replica: _Replica, piece: tuple[int, int]
    ) -> tuple[int, memoryview, asyncio.Future[None]]:
        chunk_start, chunk_end = piece
        buffer = self._buffers.take(chunk_end - chunk_start)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, _read_verified, replica, buffer, chunk_start)
        return chunk_start, buffer, future

    def close(self) -> None:
        for replica in self._replicas.values():
            replica.retire()
        self._replicas.clear()

    # -- internals -------------------------------------------------------------------------------

    async def _replica(self, node: DatanodeInfo, located: LocatedBlock) -> _Replica:
        key = _cache_key(node, located)
        now = time.monotonic()
        replica = self._replicas.get(key)
        if replica is not None and now - replica.opened_s < REPLICA_CACHE_S:
            self._replicas.move_to_end(key)
            return replica
        if replica is not None:
            self._replicas.pop(key).retire()
        pattern = self._settings.domain_socket_path
        check(pattern is not None, "usable() was asked first")
        assert pattern is not None
        path = socket_path(pattern, node.transfer_port)
        loop = asyncio.get_running_loop()
        try:
            replica = await loop.run_in_executor(
                None, _request_replica, path, located, self._settings.connect_timeout_s
            )
        except OSError as error:
            # No socket, refused, or gone silent: this datanode serves no local reads for a while.
            self._disabled_until[node.uuid] = now + self._settings.short_circuit_disable_s
            log.info("short-circuit reads from %s paused: %s", node.transfer_name, error)
            raise ShortCircuitUnavailable(f"domain socket {path}: {error}") from error
        self.replicas_opened += 1
        self._replicas[key] = replica
        while len(self._replicas) > REPLICAS_CACHED_MAX:
            _, evicted = self._replicas.popitem(last=False)
            evicted.retire()
        return replica

    def _forget(self, node: DatanodeInfo, located: LocatedBlock) -> None:
        replica = self._replicas.pop(_cache_key(node, located), None)
        if replica is not None:
            replica.retire()


def _cache_key(node: DatanodeInfo, located: LocatedBlock) -> tuple[str, int, int]:
    return node.uuid, located.block.block_id, located.block.generation_stamp


def _request_replica(path: str, located: LocatedBlock, timeout_s: float) -> _Replica:
    """Ask the datanode at `path` for the replica's descriptors (blocking; a worker thread)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(path)
        sock.sendall(encode_request(located.block.to_proto()))
        try:
            response = decode_status_message(
                BlockOpResponseProto, recv_response(sock), "short-circuit response"
            )
            if response.status != SUCCESS:
                raise ShortCircuitUnavailable(
                    f"{located.block.name} refused: {status_name(response.status)} {response.message}"
                )
            data, meta = recv_descriptors(sock)
        except ProtocolError as error:
            raise ShortCircuitUnavailable(
                f"short-circuit request for {located.block.name}: {error}"
            ) from error
    try:
        spec = decode_meta_header(os.pread(meta, META_HEADER_BYTES, 0))
        length = os.fstat(data).st_size
    except (MetaHeaderInvalid, OSError) as error:
        _close_all(data, meta)
        raise ShortCircuitUnavailable(f"{located.block.name}: {error}") from error
    if length < located.block.num_bytes:
        _close_all(data, meta)
        raise ShortCircuitUnavailable(
            f"{located.block.name}: the local replica holds {length} bytes, "
            f"the namenode says {located.block.num_bytes}"
        )
    return _Replica(data, meta, spec, length, time.monotonic())


def _close_all(*descriptors: int) -> None:
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            os.close(descriptor)


def _read_verified(replica: _Replica, buffer: memoryview, chunk_start: int) -> None:
    """Fill `buffer` with the replica's bytes from `chunk_start` and check them (a worker thread)."""
    spec = replica.spec
    try:
        if hasattr(os, "posix_fadvise"):
            # Two preads in flight at different offsets look random to the kernel's readahead, which
            # then reads small and late: ask for the next window outright, as datanodes do.
            ahead = chunk_start + len(buffer)
            os.posix_fadvise(replica.data, ahead, READAHEAD_BYTES, os.POSIX_FADV_WILLNEED)
        read = os.preadv(replica.data, [buffer], chunk_start)
        first_chunk = chunk_start // spec.bytes_per_checksum
        size = chunk_count(len(buffer), spec.bytes_per_checksum) * spec.checksum_size
        checksums = os.pread(replica.meta, size, checksum_position(first_chunk))
    except OSError as error:
        raise ShortCircuitUnavailable(f"reading the local replica failed: {error}") from error
    if read != len(buffer) or len(checksums) != size:
        raise ShortCircuitUnavailable("the local replica is shorter than the range asked for")
    if first_mismatch(spec, buffer, checksums) is not None:
        raise ShortCircuitUnavailable("checksum mismatch in the local replica: rereading over TCP")


def _piece_ranges(
    start: int, end: int, block_length: int, bytes_per_checksum: int, piece_bytes: int
) -> Iterator[tuple[int, int]]:
    """Chunk-aligned [chunk_start, chunk_end) pieces covering [start, end), none past the block."""
    position = start - start % bytes_per_checksum
    while position < end:
        stop = min(position + piece_bytes, block_length)
        yield position, stop
        position = stop


@cache
def _local_addresses() -> frozenset[str]:
    names = {socket.gethostname(), socket.getfqdn()}
    addresses: set[str] = set()
    for name in names:
        with contextlib.suppress(OSError):
            addresses.update(info[4][0] for info in socket.getaddrinfo(name, None))
    return frozenset(addresses)


def _is_local(address: str) -> bool:
    """True when `address` is this host's (loopback, or one of the addresses its names resolve to)."""
    try:
        if ipaddress.ip_address(address).is_loopback:
            return True
    except ValueError:
        return address == "localhost"
    return address in _local_addresses()
