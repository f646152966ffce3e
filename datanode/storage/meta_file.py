"""The checksum meta file of a replica: Hadoop's layout, byte for byte (the header's format lives in
`hopsfs.protocol.block_meta`, which short-circuit readers share).

Chunk i covers data bytes [i * bytesPerChecksum, (i + 1) * bytesPerChecksum); the last chunk may be
partial and its checksum covers only the bytes present.

A replica is stored with a real CRC: a NULL checksum type is refused, because the checksums are what
lets restart recovery and the block scanner tell good bytes from bad.
"""

from __future__ import annotations

from datanode.storage.errors import ReplicaCorrupt
from hopsfs.invariants import check
from hopsfs.protocol import block_meta
from hopsfs.protocol.block_meta import (
    META_HEADER_BYTES,
    META_VERSION,
    MetaHeaderInvalid,
    checksum_position,
    encode_meta_header,
)
from hopsfs.protocol.dtp_checksum import CHECKSUM_BYTES, ChecksumSpec, chunk_count

__all__ = [
    "META_HEADER_BYTES",
    "META_VERSION",
    "checksum_position",
    "chunks_covered",
    "decode_meta_header",
    "encode_meta_header",
    "meta_file_length",
]


def decode_meta_header(header: bytes, where: str) -> ChecksumSpec:
    """The checksum spec a meta file declares; ReplicaCorrupt when the header is short or unknown."""
    try:
        return block_meta.decode_meta_header(header)
    except MetaHeaderInvalid as error:
        raise ReplicaCorrupt(f"{where}: {error}", 0) from error


def meta_file_length(data_length: int, spec: ChecksumSpec) -> int:
    """The meta file length that exactly covers `data_length` bytes of data."""
    return checksum_position(chunk_count(data_length, spec.bytes_per_checksum))


def chunks_covered(meta_length: int) -> int:
    """Whole checksums present in a meta file of `meta_length` bytes (a torn last one is not counted)."""
    check(meta_length >= 0, "file lengths are never negative")
    return max(0, meta_length - META_HEADER_BYTES) // CHECKSUM_BYTES
