"""Checking stored chunks against their stored checksums, a bounded batch at a time.

Used by full verification (the future block scanner), by restart recovery of replicas being written
(the longest verified prefix), and by reads that ask for verification. Memory per call is bounded by
`VERIFY_BATCH_BYTES` of data whatever the replica size.
"""

from __future__ import annotations

from datanode.storage.fsync import pread_all
from datanode.storage.meta_file import checksum_position
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import (
    DEFAULT_CHECKSUM_FUNCTIONS,
    ChecksumFunctions,
    ChecksumSpec,
    chunk_count,
)

VERIFY_BATCH_BYTES = 1024 * 1024


def first_bad_chunk(
    data_descriptor: int,
    meta_descriptor: int,
    spec: ChecksumSpec,
    data_length: int,
    functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS,
) -> int | None:
    """Index of the first chunk of the first `data_length` bytes that fails its checksum, or None.

    A chunk whose data or checksum is missing (short file) counts as failing.
    """
    check(data_length >= 0, "lengths are never negative")
    bytes_per_checksum = spec.bytes_per_checksum
    # Batches hold whole chunks so each batch's checksum array lines up with the meta file.
    batch_chunks = max(1, VERIFY_BATCH_BYTES // bytes_per_checksum)
    total_chunks = chunk_count(data_length, bytes_per_checksum)
    for first_chunk in range(0, total_chunks, batch_chunks):
        chunks = min(batch_chunks, total_chunks - first_chunk)
        start = first_chunk * bytes_per_checksum
        end = min(data_length, start + chunks * bytes_per_checksum)
        data = pread_all(data_descriptor, end - start, start)
        stored = pread_all(meta_descriptor, chunks * spec.checksum_size, checksum_position(first_chunk))
        bad = _first_bad_in_batch(spec, data, stored, end - start, functions)
        if bad is not None:
            return first_chunk + bad
    return None


def _first_bad_in_batch(
    spec: ChecksumSpec, data: bytes, stored: bytes, expected_length: int, functions: ChecksumFunctions
) -> int | None:
    computed = functions.compute(spec, data)
    if computed == stored and len(data) == expected_length:
        return None
    size = spec.checksum_size
    # A short read leaves the chunks past it without data: they fail after the ones that compare.
    for index in range(len(computed) // size):
        if stored[index * size : (index + 1) * size] != computed[index * size : (index + 1) * size]:
            return index
    return len(computed) // size


def verified_prefix_length(
    data_descriptor: int,
    meta_descriptor: int,
    spec: ChecksumSpec,
    data_length: int,
    covered_chunks: int,
    functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS,
) -> int:
    """The longest prefix of a replica being written that its stored checksums vouch for.

    Whole chunks verify in order; the first failing chunk ends the prefix, except that when it is the
    last chunk with a checksum, shorter lengths of it are tried: a crash between writing a packet's data
    and rewriting that partial chunk's checksum leaves the old checksum, which still covers the bytes
    that were there (and were acknowledged) before. At most `bytes_per_checksum` small CRCs.
    """
    bytes_per_checksum = spec.bytes_per_checksum
    candidate = min(data_length, covered_chunks * bytes_per_checksum)
    bad = first_bad_chunk(data_descriptor, meta_descriptor, spec, candidate, functions)
    if bad is None:
        return candidate
    chunk_start = bad * bytes_per_checksum
    if bad != covered_chunks - 1:
        return chunk_start
    chunk = pread_all(
        data_descriptor, min(data_length, chunk_start + bytes_per_checksum) - chunk_start, chunk_start
    )
    stored = pread_all(meta_descriptor, spec.checksum_size, checksum_position(bad))
    for length in range(len(chunk) - 1, 0, -1):
        if functions.compute(spec, chunk[:length]) == stored:
            return chunk_start + length
    return chunk_start
