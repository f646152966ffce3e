"""The checksum meta file of a replica: Hadoop's layout, byte for byte.

    offset 0: version          2 bytes, big-endian (1)
    offset 2: checksum type    1 byte (Hadoop's DataChecksum id: CRC32 1, CRC32C 2)
    offset 3: bytesPerChecksum 4 bytes, big-endian
    offset 7: one 4-byte big-endian checksum per chunk of the data file, in chunk order

(Hadoop's BlockMetadataHeader writes the version short and then DataChecksum.writeHeader, a type byte
and an int.) Chunk i covers data bytes [i * bytesPerChecksum, (i + 1) * bytesPerChecksum); the last
chunk may be partial and its checksum covers only the bytes present.

A replica is stored with a real CRC: a NULL checksum type is refused, because the checksums are what
lets restart recovery and the block scanner tell good bytes from bad.
"""

from __future__ import annotations

import struct

from datanode.storage.errors import ReplicaCorrupt
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import (
    BYTES_PER_CHECKSUM_MAX,
    CHECKSUM_BYTES,
    ChecksumSpec,
    ChecksumType,
    chunk_count,
)

META_VERSION = 1
_META_HEADER = struct.Struct(">hbi")
META_HEADER_BYTES = 7

check(_META_HEADER.size == META_HEADER_BYTES, "Hadoop's meta header is 2 + 1 + 4 bytes")


def encode_meta_header(spec: ChecksumSpec) -> bytes:
    """The 7-byte header that starts every meta file written with `spec`."""
    check(spec.checksum_size == CHECKSUM_BYTES, "stored replicas always carry a 4-byte CRC per chunk")
    header = _META_HEADER.pack(META_VERSION, int(spec.checksum_type), spec.bytes_per_checksum)
    check(len(header) == META_HEADER_BYTES, "meta header length")
    return header


def decode_meta_header(header: bytes, where: str) -> ChecksumSpec:
    """The checksum spec a meta file declares; ReplicaCorrupt when the header is short or unknown."""
    if len(header) < META_HEADER_BYTES:
        raise ReplicaCorrupt(f"{where}: meta header is {len(header)} bytes, expected {META_HEADER_BYTES}", 0)
    version, type_id, bytes_per_checksum = _META_HEADER.unpack_from(header, 0)
    if version != META_VERSION:
        raise ReplicaCorrupt(f"{where}: meta version {version}, expected {META_VERSION}", 0)
    if type_id not in (ChecksumType.CRC32, ChecksumType.CRC32C):
        raise ReplicaCorrupt(f"{where}: checksum type {type_id} is not a stored CRC", 0)
    if not 0 < bytes_per_checksum <= BYTES_PER_CHECKSUM_MAX:
        raise ReplicaCorrupt(f"{where}: bytesPerChecksum {bytes_per_checksum} out of range", 0)
    return ChecksumSpec(ChecksumType(type_id), bytes_per_checksum)


def checksum_position(chunk_index: int) -> int:
    """Byte offset in the meta file of chunk `chunk_index`'s checksum."""
    check(chunk_index >= 0, "chunk indexes are never negative")
    return META_HEADER_BYTES + chunk_index * CHECKSUM_BYTES


def meta_file_length(data_length: int, spec: ChecksumSpec) -> int:
    """The meta file length that exactly covers `data_length` bytes of data."""
    return checksum_position(chunk_count(data_length, spec.bytes_per_checksum))


def chunks_covered(meta_length: int) -> int:
    """Whole checksums present in a meta file of `meta_length` bytes (a torn last one is not counted)."""
    check(meta_length >= 0, "file lengths are never negative")
    return max(0, meta_length - META_HEADER_BYTES) // CHECKSUM_BYTES
