"""The header of a replica's checksum meta file, which datanodes write and short-circuit readers read.

    offset 0: version          2 bytes, big-endian (1)
    offset 2: checksum type    1 byte (Hadoop's DataChecksum id: CRC32 1, CRC32C 2)
    offset 3: bytesPerChecksum 4 bytes, big-endian
    offset 7: one 4-byte big-endian checksum per chunk of the data file, in chunk order

(Hadoop's BlockMetadataHeader writes the version short and then DataChecksum.writeHeader, a type byte
and an int.) A stored replica always has a real CRC: a NULL type is not a valid header.
"""

from __future__ import annotations

import struct

from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import (
    BYTES_PER_CHECKSUM_MAX,
    CHECKSUM_BYTES,
    ChecksumSpec,
    ChecksumType,
)

META_VERSION = 1
_META_HEADER = struct.Struct(">hbi")
META_HEADER_BYTES = 7

check(_META_HEADER.size == META_HEADER_BYTES, "Hadoop's meta header is 2 + 1 + 4 bytes")


class MetaHeaderInvalid(ValueError):
    """A meta file header that is short, of another version, or names no stored CRC."""


def encode_meta_header(spec: ChecksumSpec) -> bytes:
    """The 7-byte header that starts every meta file written with `spec`."""
    check(spec.checksum_size == CHECKSUM_BYTES, "stored replicas always carry a 4-byte CRC per chunk")
    return _META_HEADER.pack(META_VERSION, int(spec.checksum_type), spec.bytes_per_checksum)


def decode_meta_header(header: bytes) -> ChecksumSpec:
    """The checksum spec a meta file declares; MetaHeaderInvalid when it declares none we read."""
    if len(header) < META_HEADER_BYTES:
        raise MetaHeaderInvalid(f"meta header is {len(header)} bytes, expected {META_HEADER_BYTES}")
    version, type_id, bytes_per_checksum = _META_HEADER.unpack_from(header, 0)
    if version != META_VERSION:
        raise MetaHeaderInvalid(f"meta version {version}, expected {META_VERSION}")
    if type_id not in (ChecksumType.CRC32, ChecksumType.CRC32C):
        raise MetaHeaderInvalid(f"checksum type {type_id} is not a stored CRC")
    if not 0 < bytes_per_checksum <= BYTES_PER_CHECKSUM_MAX:
        raise MetaHeaderInvalid(f"bytesPerChecksum {bytes_per_checksum} out of range")
    return ChecksumSpec(ChecksumType(type_id), bytes_per_checksum)


def checksum_position(chunk_index: int) -> int:
    """Byte offset in the meta file of chunk `chunk_index`'s checksum."""
    check(chunk_index >= 0, "chunk indexes are never negative")
    return META_HEADER_BYTES + chunk_index * CHECKSUM_BYTES
