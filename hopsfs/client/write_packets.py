"""Cutting written bytes into DataTransferProtocol write packets, as HDFS's DFSOutputStream does.

Pure logic, no I/O: bytes in, `WritePacket`s out, each with its CRC32C checksums computed in one call.
Rules:
- a packet holds whole 512-byte chunks (`chunks_per_packet` of them, ~63 KiB) and never crosses a
  block boundary; when a block is full an empty end-of-block packet follows;
- appending to a block that ends mid-chunk, the first packet only fills that chunk up to its boundary,
  so every later packet is chunk-aligned again (the datanode recomputes the partial chunk's checksum);
- `flush` (hflush) sends what is buffered, even a partial chunk, and then keeps that partial chunk
  buffered: the next packet starts again at the chunk's start and resends it with the new bytes, so
  every chunk's checksum on the datanode ends up covering the whole chunk;
- `finish` sends the rest and the end-of-block packet of a block that holds data.
Seqnos run on across blocks for the life of the stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hopsfs.client.stream_settings import StreamSettings
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumSpec, compute_checksums


@dataclass(frozen=True, slots=True)
class WritePacket:
    seqno: int
    offset_in_block: int
    data: bytes
    checksums: bytes
    last_in_block: bool = False
    sync_block: bool = False

    @property
    def end(self) -> int:
        """The block offset just after the packet's data."""
        return self.offset_in_block + len(self.data)


class Packetizer:
    def __init__(
        self,
        settings: StreamSettings,
        checksum: ChecksumSpec,
        block_size: int,
        *,
        bytes_in_block: int = 0,
        first_seqno: int = 0,
    ) -> None:
        if block_size <= 0 or block_size % checksum.bytes_per_checksum:
            raise ValueError(
                f"block size {block_size} must be a positive multiple of {checksum.bytes_per_checksum}"
            )
        check(0 <= bytes_in_block < block_size, "an appended block has room left")
        self._checksum = checksum
        self._chunk = checksum.bytes_per_checksum
        self._packet_data_max = settings.chunks_per_packet * self._chunk
        self._block_size = block_size
        # The block offset where the buffered bytes start, the bytes, and how far data was sent.
        self._packet_offset = bytes_in_block
        self._buffer = bytearray()
        self._sent_end = bytes_in_block
        self._next_seqno = first_seqno

    @property
    def bytes_in_block(self) -> int:
        """Bytes of the current block written so far (sent or buffered)."""
        return self._packet_offset + len(self._buffer)

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer)

    def write(self, data: bytes | bytearray | memoryview) -> Iterator[WritePacket]:
        """Buffer `data`, yielding the packets it completes (full packets, end-of-block packets) one
        by one, so a large write never holds more than the packets its consumer keeps. Consume it
        to the end: the data is taken as it is iterated."""
        view = memoryview(data).cast("B")
        taken = 0
        while taken < len(view):
            room = self._packet_limit() - len(self._buffer)
            check(room > 0, "a full packet is always sent before more data is buffered")
            piece = view[taken : taken + room]
            self._buffer += piece
            taken += len(piece)
            if len(self._buffer) == self._packet_limit():
                yield from self._emit_full()

    def flush(self, *, sync: bool = False) -> list[WritePacket]:
        """hflush/hsync: a packet with everything not yet sent (an empty one when only `sync` asks
        for it), keeping a trailing partial chunk buffered to be resent with what follows."""
        end = self.bytes_in_block
        if end == self._sent_end:
            if sync and end > 0:
                return [self._packet(end, b"", sync_block=True)]
            return []
        packet = self._packet(self._packet_offset, bytes(self._buffer), sync_block=sync)
        self._sent_end = end
        partial = end % self._chunk
        self._buffer = self._buffer[len(self._buffer) - partial :] if partial else bytearray()
        self._packet_offset = end - partial
        check(self._packet_offset % self._chunk == 0, "after a flush the next packet starts on a chunk")
        return [packet]

    def finish(self) -> list[WritePacket]:
        """close: the rest of the data and the end-of-block packet of a block that holds data."""
        packets: list[WritePacket] = []
        end = self.bytes_in_block
        if end > self._sent_end:
            packets.append(self._packet(self._packet_offset, bytes(self._buffer)))
        if end > 0:
            packets.append(self._packet(end, b"", last_in_block=True))
        self._buffer = bytearray()
        self._packet_offset = self._sent_end = 0
        return packets

    # -- internals --------------------------------------------------------------------------------

    def _packet_limit(self) -> int:
        """How many bytes the current packet may hold, counted from `_packet_offset`."""
        misalignment = self._packet_offset % self._chunk
        limit = self._chunk - misalignment if misalignment else self._packet_data_max
        return min(limit, self._block_size - self._packet_offset)

    def _emit_full(self) -> list[WritePacket]:
        packets = [self._packet(self._packet_offset, bytes(self._buffer))]
        self._packet_offset += len(self._buffer)
        self._sent_end = self._packet_offset
        self._buffer = bytearray()
        if self._packet_offset == self._block_size:
            packets.append(self._packet(self._block_size, b"", last_in_block=True))
            self._packet_offset = self._sent_end = 0
        return packets

    def _packet(
        self, offset: int, data: bytes, *, last_in_block: bool = False, sync_block: bool = False
    ) -> WritePacket:
        check(offset + len(data) <= self._block_size, "a packet never crosses a block boundary")
        checksums = compute_checksums(self._checksum, data) if data else b""
        packet = WritePacket(self._next_seqno, offset, data, checksums, last_in_block, sync_block)
        self._next_seqno += 1
        return packet
