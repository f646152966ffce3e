"""Reading a replica: chunk-aligned data ranges with their stored checksums.

A DataTransferProtocol read starts at the chunk that holds the requested offset (the reply's
chunkOffset) so the client can check every byte it gets; `read` returns that aligned range with its
checksums, and `data_region` gives the same range as (descriptor, offset, count) for socket.sendfile,
with `checksums` for the packet headers. Verification is on request: a server usually leaves it to
the client, the block scanner always does it.

The reader keeps its own descriptors, so a delete or finalize (rename) while it is open does not
disturb it; it reads at most the length the replica had when it was opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from datanode.storage.errors import InvalidReplicaOffset, ReplicaCorrupt
from datanode.storage.fsync import pread_all
from datanode.storage.meta_file import checksum_position
from datanode.storage.replica import ReplicaRecord
from datanode.storage.verification import first_bad_chunk
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumFunctions, ChecksumSpec, chunk_count

# One read call returns at most this much (a server reads a packet, 64 KiB, at a time).
READ_RANGE_BYTES_MAX = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReadRange:
    chunk_offset: int  # block offset of data[0], a multiple of bytes_per_checksum
    data: bytes
    checksums: bytes  # one per chunk of data, as stored


@dataclass(frozen=True, slots=True)
class DataRegion:
    """A chunk-aligned byte range of the data file, for sendfile."""

    descriptor: int
    chunk_offset: int
    count: int


class ReplicaReader:
    """An open replica for reading; use as a context manager."""

    def __init__(
        self,
        record: ReplicaRecord,
        data_path: Path,
        meta_path: Path,
        spec: ChecksumSpec,
        functions: ChecksumFunctions,
    ) -> None:
        self.record = record
        self.length = record.length
        self.spec = spec
        self._functions = functions
        self._data_descriptor = os.open(data_path, os.O_RDONLY)
        try:
            self._meta_descriptor = os.open(meta_path, os.O_RDONLY)
        except OSError:
            os.close(self._data_descriptor)
            raise

    def __enter__(self) -> ReplicaReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def descriptors(self) -> tuple[int, int]:
        """The open data and meta files (short-circuit reads pass them to a local client)."""
        check(self._data_descriptor >= 0, "the reader is open")
        return self._data_descriptor, self._meta_descriptor

    def limit_to(self, visible_length: int) -> None:
        """Serve at most `visible_length` bytes: a replica being written shows only what it acknowledged."""
        check(visible_length >= 0, "a visible length is never negative")
        self.length = min(self.length, visible_length)

    def read(self, offset: int, length: int, verify: bool = False) -> ReadRange:
        """Bytes [offset, offset + length) widened to whole chunks, with their checksums."""
        chunk_offset, end = self._aligned_range(offset, length)
        data = pread_all(self._data_descriptor, end - chunk_offset, chunk_offset)
        checksums = self.checksums(chunk_offset, end)
        if len(data) != end - chunk_offset:
            raise ReplicaCorrupt(f"blk_{self.record.block_id}: data file shorter than {end}", len(data))
        if verify:
            bad = self._functions.first_mismatch(self.spec, data, checksums)
            if bad is not None:
                bad_offset = chunk_offset + bad * self.spec.bytes_per_checksum
                raise ReplicaCorrupt(f"blk_{self.record.block_id}: bad chunk at {bad_offset}", bad_offset)
        return ReadRange(chunk_offset, data, checksums)

    def data_region(self, offset: int, length: int) -> DataRegion:
        """The aligned range `read` would return, as a region of the data file (for sendfile)."""
        chunk_offset, end = self._aligned_range(offset, length)
        return DataRegion(self._data_descriptor, chunk_offset, end - chunk_offset)

    def read_ahead(self, offset: int, end: int) -> None:
        """Ask the kernel to start reading [offset, end) of the data and its checksums into the page
        cache now, without waiting (posix_fadvise WILLNEED, as Hadoop's ReadaheadPool does)."""
        end = min(end, self.length)
        if end <= offset or not hasattr(os, "posix_fadvise"):
            return
        os.posix_fadvise(self._data_descriptor, offset, end - offset, os.POSIX_FADV_WILLNEED)
        bytes_per_checksum = self.spec.bytes_per_checksum
        first, last = offset // bytes_per_checksum, chunk_count(end, bytes_per_checksum)
        meta_start = checksum_position(first)
        meta_end = checksum_position(last)
        os.posix_fadvise(self._meta_descriptor, meta_start, meta_end - meta_start, os.POSIX_FADV_WILLNEED)

    def checksums(self, chunk_offset: int, end: int) -> bytes:
        """Stored checksums of the chunks of [chunk_offset, end); chunk_offset must be aligned."""
        check(chunk_offset % self.spec.bytes_per_checksum == 0, "checksums start at a chunk boundary")
        check(chunk_offset <= end <= self.length, "checksummed range inside the replica")
        first_chunk = chunk_offset // self.spec.bytes_per_checksum
        chunks = chunk_count(end - chunk_offset, self.spec.bytes_per_checksum)
        size = chunks * self.spec.checksum_size
        checksums = pread_all(self._meta_descriptor, size, checksum_position(first_chunk))
        if len(checksums) != size:
            raise ReplicaCorrupt(f"blk_{self.record.block_id}: meta file too short", chunk_offset)
        return checksums

    def first_bad_chunk(self) -> int | None:
        """Verify the whole replica: index of its first bad chunk, or None when all verify."""
        return first_bad_chunk(
            self._data_descriptor, self._meta_descriptor, self.spec, self.length, self._functions
        )

    def close(self) -> None:
        if self._data_descriptor >= 0:
            os.close(self._data_descriptor)
            os.close(self._meta_descriptor)
            self._data_descriptor = self._meta_descriptor = -1

    def _aligned_range(self, offset: int, length: int) -> tuple[int, int]:
        where = f"blk_{self.record.block_id}"
        if offset < 0 or length < 0:
            raise InvalidReplicaOffset(f"{where}: negative offset {offset} or length {length}")
        if offset + length > self.length:
            raise InvalidReplicaOffset(
                f"{where}: range [{offset}, {offset + length}) past the end of {self.length} bytes"
            )
        if length > READ_RANGE_BYTES_MAX:
            raise InvalidReplicaOffset(f"{where}: read of {length} bytes over {READ_RANGE_BYTES_MAX}")
        bytes_per_checksum = self.spec.bytes_per_checksum
        chunk_offset = offset - offset % bytes_per_checksum
        # Widen the end to a chunk boundary, but never past the replica (its last chunk may be partial).
        end = min(self.length, -(-(offset + length) // bytes_per_checksum) * bytes_per_checksum)
        if length == 0:
            end = chunk_offset
        return chunk_offset, end
