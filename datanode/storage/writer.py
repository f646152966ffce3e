"""Appending packets to a replica being written.

A packet arrives as it does on the wire: an offset in the block, data, and one checksum per chunk
counted from the packet's first data byte. `append` verifies those checksums (unless told not to, as
a pipeline member that is not the last may), then writes the data and the meta file's checksums.

Partial chunks: after an hflush the block may end mid-chunk. A later packet may either start at the
block's end (continuing the partial chunk) or resend from the start of that chunk (what HDFS clients
do). Bytes the replica already has are skipped; when the write begins mid-chunk, the checksums of the
on-disk chunks it touches are recomputed over the stored prefix plus the new bytes, after checking the
stored prefix against its old checksum so a corrupt prefix is never given a fresh valid checksum.

Crash safety: data is written before its checksums, both with pwrite straight to the kernel (no
user-space buffer a SIGKILL could lose). A crash between the two leaves data whose last chunks fail
their (old) checksums; restart recovery truncates to the verified prefix. `sync` makes both durable
against power loss.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from datanode.storage.errors import (
    InvalidReplicaOffset,
    MalformedPacket,
    ReplicaChecksumError,
    ReplicaCorrupt,
)
from datanode.storage.fsync import pread_all, pwrite_all
from datanode.storage.meta_file import checksum_position, meta_file_length
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumFunctions, ChecksumSpec

BytesLike = bytes | bytearray | memoryview


class ReplicaWriter:
    """Open descriptors of one replica being written; `lock` serializes its appends."""

    def __init__(
        self,
        block_id: int,
        data_path: Path,
        meta_path: Path,
        spec: ChecksumSpec,
        length: int,
        functions: ChecksumFunctions,
    ) -> None:
        check(length >= 0, "replica lengths are never negative")
        self.block_id = block_id
        self.spec = spec
        self.lock = threading.Lock()
        self._functions = functions
        self._length = length
        self._data_descriptor = os.open(data_path, os.O_RDWR)
        try:
            self._meta_descriptor = os.open(meta_path, os.O_RDWR)
        except OSError:
            os.close(self._data_descriptor)
            raise
        self._closed = False

    @property
    def length(self) -> int:
        return self._length

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, offset: int, data: BytesLike, checksums: BytesLike, verify: bool) -> int:
        """Write one packet at `offset`; return the replica's new length. Caller holds `lock`."""
        check(not self._closed, "appends go to an open writer")
        self._check_packet(offset, data, checksums, verify)
        skip = self._length - offset
        new_data = memoryview(data)[skip:]
        if len(new_data) == 0:
            return self._length  # a resend of bytes already stored
        start = self._length
        bytes_per_checksum = self.spec.bytes_per_checksum
        chunk_start = start - start % bytes_per_checksum
        if skip == 0 and chunk_start == start:
            disk_checksums: BytesLike = checksums  # wire chunks are the disk chunks
        else:
            disk_checksums = self._realigned_checksums(chunk_start, start, new_data)
        # Data before checksums: a crash in between fails verification, it never validates bad bytes.
        pwrite_all(self._data_descriptor, new_data, start)
        pwrite_all(
            self._meta_descriptor, disk_checksums, checksum_position(chunk_start // bytes_per_checksum)
        )
        self._length = start + len(new_data)
        check(self._length == offset + len(data), "after a packet the replica ends where the packet ends")
        return self._length

    def truncate(self, length: int) -> None:
        """Cut the replica to `length` bytes (pipeline and lease recovery); caller holds `lock`.

        A cut inside a chunk gives that chunk a checksum over the bytes kept, after checking the whole
        old chunk against its stored checksum (a corrupt chunk never gets a fresh valid checksum). The new
        checksum is written before the files shrink: a crash in between leaves a data file whose last
        chunk restart recovery verifies at the new length.
        """
        check(not self._closed, "truncate of an open writer")
        if not 0 <= length <= self._length:
            raise InvalidReplicaOffset(f"blk_{self.block_id}: cannot cut {self._length} bytes to {length}")
        if length == self._length:
            return
        bytes_per_checksum = self.spec.bytes_per_checksum
        chunk_start = length - length % bytes_per_checksum
        if chunk_start != length:
            chunk_index = chunk_start // bytes_per_checksum
            old_end = min(self._length, chunk_start + bytes_per_checksum)
            chunk = pread_all(self._data_descriptor, old_end - chunk_start, chunk_start)
            stored = pread_all(self._meta_descriptor, self.spec.checksum_size, checksum_position(chunk_index))
            if len(chunk) != old_end - chunk_start or self._functions.compute(self.spec, chunk) != stored:
                raise ReplicaCorrupt(
                    f"blk_{self.block_id}: chunk at {chunk_start} fails its checksum, cannot cut inside it",
                    chunk_start,
                )
            kept = self._functions.compute(self.spec, chunk[: length - chunk_start])
            pwrite_all(self._meta_descriptor, kept, checksum_position(chunk_index))
        os.ftruncate(self._data_descriptor, length)
        os.ftruncate(self._meta_descriptor, meta_file_length(length, self.spec))
        os.fsync(self._meta_descriptor)
        os.fsync(self._data_descriptor)
        self._length = length
        check(os.fstat(self._data_descriptor).st_size == length, "the data file ends at the cut")

    def sync(self) -> None:
        """fsync data and checksums (hsync, and the first step of finalize)."""
        check(not self._closed, "sync of an open writer")
        os.fsync(self._data_descriptor)
        os.fsync(self._meta_descriptor)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.close(self._data_descriptor)
        os.close(self._meta_descriptor)

    def _check_packet(self, offset: int, data: BytesLike, checksums: BytesLike, verify: bool) -> None:
        where = f"blk_{self.block_id}"
        if offset < 0:
            raise InvalidReplicaOffset(f"{where}: negative write offset {offset}")
        if offset > self._length:
            raise InvalidReplicaOffset(f"{where}: write at {offset} leaves a gap after {self._length} bytes")
        if len(checksums) != self.spec.checksums_length(len(data)):
            raise MalformedPacket(
                f"{where}: {len(checksums)} checksum bytes for {len(data)} data bytes "
                f"at {self.spec.bytes_per_checksum} bytes per checksum"
            )
        if not verify:
            return
        bad_chunk = self._functions.first_mismatch(self.spec, data, checksums)
        if bad_chunk is not None:
            bad_offset = offset + bad_chunk * self.spec.bytes_per_checksum
            raise ReplicaChecksumError(f"{where}: checksum mismatch at block offset {bad_offset}", bad_offset)

    def _realigned_checksums(self, chunk_start: int, start: int, new_data: memoryview) -> bytes:
        """Checksums of the disk chunks from `chunk_start` once `new_data` is written at `start`."""
        prefix = pread_all(self._data_descriptor, start - chunk_start, chunk_start)
        if prefix:
            chunk_index = chunk_start // self.spec.bytes_per_checksum
            stored = pread_all(self._meta_descriptor, self.spec.checksum_size, checksum_position(chunk_index))
            if len(prefix) != start - chunk_start or self._functions.compute(self.spec, prefix) != stored:
                raise ReplicaCorrupt(
                    f"blk_{self.block_id}: stored partial chunk at {chunk_start} fails its checksum",
                    chunk_start,
                )
        return self._functions.compute(self.spec, prefix + new_data.tobytes() if prefix else new_data)
