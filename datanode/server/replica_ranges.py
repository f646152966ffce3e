"""Packets of a stored replica: chunk-aligned ranges and the checksums that go with them on the wire.

Stored checksums go out as they are, except one case: a replica being written shows only its
acknowledged bytes, and when that visible end falls inside a chunk the stored checksum of that chunk
may already cover more bytes; its checksum is then computed over the visible bytes (Hadoop keeps
that last checksum in memory for the same reason). Blocking (runs in pool threads).
"""

from __future__ import annotations

from datanode.storage import ReadRange, ReplicaReader, ReplicaState
from datanode.storage.errors import ReplicaCorrupt
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumFunctions


def packet_checksums(reader: ReplicaReader, functions: ChecksumFunctions, start: int, end: int) -> bytes:
    """Checksums of the chunks of [start, end) (start aligned, end aligned or the visible end)."""
    stored = reader.checksums(start, end)
    if not _cut_chunk(reader, end):
        return stored
    spec = reader.spec
    chunk_start = end - end % spec.bytes_per_checksum
    chunk = reader.read(chunk_start, end - chunk_start).data
    return stored[: -spec.checksum_size] + functions.compute(spec, chunk)


def read_packet(
    reader: ReplicaReader, functions: ChecksumFunctions, start: int, count: int, verify: bool
) -> ReadRange:
    """Data and checksums of [start, start + count); ReplicaCorrupt when `verify` finds a bad chunk."""
    whole = reader.read(start, count)
    check(whole.chunk_offset == start, "packets start at chunk boundaries")
    spec = reader.spec
    end = start + len(whole.data)
    checksums = whole.checksums
    checked_length = len(whole.data)
    if _cut_chunk(reader, end):
        # The cut chunk's stored checksum may cover unacknowledged bytes: verify the whole chunks only.
        checked_length -= end % spec.bytes_per_checksum
        chunk = whole.data[checked_length:]
        checksums = checksums[: -spec.checksum_size] + functions.compute(spec, chunk)
    if verify:
        checked_checksums = whole.checksums[: spec.checksums_length(checked_length)]
        bad = functions.first_mismatch(spec, whole.data[:checked_length], checked_checksums)
        if bad is not None:
            bad_offset = start + bad * spec.bytes_per_checksum
            raise ReplicaCorrupt(f"blk_{reader.record.block_id}: bad chunk at {bad_offset}", bad_offset)
    return ReadRange(start, whole.data, checksums)


def _cut_chunk(reader: ReplicaReader, end: int) -> bool:
    return reader.record.state is ReplicaState.RBW and end % reader.spec.bytes_per_checksum != 0
