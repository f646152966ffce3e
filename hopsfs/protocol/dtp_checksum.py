"""Per-chunk checksums of DataTransferProtocol packets: compute and verify a packet's checksum array.

A packet's data is cut into chunks of `bytes_per_checksum` bytes counted from the packet's first data
byte (the last chunk may be shorter); each chunk has one 4-byte big-endian checksum, and the packet
carries them in chunk order before its data. `CHECKSUM_NULL` carries none. CRC32 is zlib's (Java's
`java.util.zip.CRC32`); CRC32C (Castagnoli, what HDFS clients write) comes from the `crc32c-rs` package,
imported on first use so that code which never checksums does not need it.

Replaceable: the codec calls a `ChunkedChecksumFunction` per algorithm, `(data, bytes_per_checksum) ->
checksum array`, through a `ChecksumFunctions` value that connections take as an argument. From Python
each chunk costs one call into C (about 150 ns, 18x the cost of the bytes themselves at 512-byte
chunks: see `python -m bench.crc32c`), so computing an array stays per chunk; verifying one with the
default CRC32C does not: `crc32c_combine` checks all of a packet's chunk CRCs against one CRC of the
whole payload (about 15 GB/s against 3.4), and only a mismatch walks the chunks to name the bad one.

Bounds: `bytes_per_checksum` is between 1 and `BYTES_PER_CHECKSUM_MAX`; checks on a spec received from
a peer raise RemoteProtocolError, on one we build LocalProtocolError.
"""

from __future__ import annotations

import functools
import importlib
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from hopsfs.errors import InvariantViolation
from hopsfs.invariants import check
from hopsfs.protocol.crc32c_combine import Crc32cCombiner
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.proto.datatransfer_pb2 import ChecksumProto
from hopsfs.protocol.proto.hdfs_pb2 import CHECKSUM_CRC32, CHECKSUM_CRC32C, CHECKSUM_NULL

# The package and import name of the CRC32C implementation (the fastest measured by bench.crc32c).
CRC32C_DISTRIBUTION = "crc32c-rs"
CRC32C_REQUIREMENT = "crc32c-rs>=0.0.7"
_CRC32C_MODULE = "crc32c_rs"

CHECKSUM_BYTES = 4
BYTES_PER_CHECKSUM_DEFAULT = 512  # dfs.bytes-per-checksum
# Hadoop accepts any positive chunk size; one chunk larger than a maximal packet could never be sent.
BYTES_PER_CHECKSUM_MAX = 16 * 1024 * 1024

BytesLike = bytes | bytearray | memoryview
ChunkedChecksumFunction = Callable[[BytesLike, int], bytes]


class ChecksumMismatch(RemoteProtocolError):
    """A packet's data does not match its checksums: corrupt on the wire or on the sender's disk.

    A datanode answers it with an ERROR_CHECKSUM ack for `seqno` (writes); a reader reports the replica
    and reads another one.
    """

    def __init__(self, seqno: int, offset_in_block: int, chunk_index: int) -> None:
        super().__init__(
            f"checksum mismatch in packet {seqno}: chunk {chunk_index} at block offset {offset_in_block}"
        )
        self.seqno = seqno
        self.offset_in_block = offset_in_block
        self.chunk_index = chunk_index


class ChecksumType(IntEnum):
    """ChecksumTypeProto values (Hadoop's DataChecksum type ids)."""

    NULL = CHECKSUM_NULL
    CRC32 = CHECKSUM_CRC32
    CRC32C = CHECKSUM_CRC32C


check(
    [member.value for member in ChecksumType] == [0, 1, 2],
    "ChecksumType must keep Hadoop's ids: NULL 0, CRC32 1, CRC32C 2",
)


@dataclass(frozen=True, slots=True)
class ChecksumSpec:
    """An algorithm and the chunk size it covers (ChecksumProto)."""

    checksum_type: ChecksumType
    bytes_per_checksum: int = BYTES_PER_CHECKSUM_DEFAULT

    def __post_init__(self) -> None:
        if not isinstance(self.checksum_type, ChecksumType):
            raise LocalProtocolError(f"unknown checksum type {self.checksum_type!r}")
        if not 0 < self.bytes_per_checksum <= BYTES_PER_CHECKSUM_MAX:
            raise LocalProtocolError(f"bytes_per_checksum {self.bytes_per_checksum} out of range")

    @property
    def checksum_size(self) -> int:
        """Bytes of checksum per chunk: 0 for NULL, 4 for the CRCs."""
        return 0 if self.checksum_type is ChecksumType.NULL else CHECKSUM_BYTES

    def checksums_length(self, data_length: int) -> int:
        """Bytes of checksums that cover `data_length` bytes of packet data."""
        return chunk_count(data_length, self.bytes_per_checksum) * self.checksum_size

    def to_proto(self) -> ChecksumProto:
        return ChecksumProto(
            type=int(self.checksum_type),  # type: ignore[arg-type]
            bytesPerChecksum=self.bytes_per_checksum,
        )

    @classmethod
    def from_proto(cls, proto: ChecksumProto, what: str) -> ChecksumSpec:
        """The spec a peer asked for; RemoteProtocolError when it names no known algorithm or size."""
        try:
            checksum_type = ChecksumType(proto.type)
        except ValueError as error:
            raise RemoteProtocolError(f"{what}: unknown checksum type {proto.type}") from error
        if not 0 < proto.bytesPerChecksum <= BYTES_PER_CHECKSUM_MAX:
            raise RemoteProtocolError(f"{what}: bytesPerChecksum {proto.bytesPerChecksum} out of range")
        return cls(checksum_type, proto.bytesPerChecksum)


def chunk_count(data_length: int, bytes_per_checksum: int) -> int:
    """Chunks covering `data_length` bytes; the last one may be partial."""
    check(data_length >= 0, "a data length is never negative")
    check(bytes_per_checksum > 0, "chunk size is positive")
    return -(-data_length // bytes_per_checksum)


def chunked_crc32(data: BytesLike, bytes_per_checksum: int) -> bytes:
    """The CRC32 checksum array of `data` (zlib, as Java's CRC32)."""
    return _chunked(zlib.crc32, data, bytes_per_checksum)


def chunked_crc32c(data: BytesLike, bytes_per_checksum: int) -> bytes:
    """The CRC32C checksum array of `data`."""
    return _chunked(crc32c_function(), data, bytes_per_checksum)


@functools.cache
def crc32c_function() -> Callable[[BytesLike], int]:
    """The CRC32C of one buffer, from the `crc32c-rs` package (imported once, on first use)."""
    try:
        module = importlib.import_module(_CRC32C_MODULE)
    except ImportError as error:
        raise ImportError(
            f"CRC32C checksums need the '{CRC32C_DISTRIBUTION}' package, which is not installed: "
            f"pip install '{CRC32C_REQUIREMENT}'"
        ) from error
    function: Callable[[BytesLike], int] = module.crc32c
    # 0xE3069283 is CRC-32C's catalogued check value for "123456789".
    check(function(b"123456789") == 0xE3069283, f"{CRC32C_DISTRIBUTION} does not compute CRC32C")
    return function


@functools.lru_cache(maxsize=8)
def crc32c_combiner(bytes_per_checksum: int) -> Crc32cCombiner:
    """The whole-packet verifier for one chunk size (its tables are built once and shared)."""
    return Crc32cCombiner(crc32c_function(), bytes_per_checksum)


@dataclass(frozen=True, slots=True)
class ChecksumFunctions:
    """The chunked implementation used for each algorithm; pass another to swap one in."""

    crc32: ChunkedChecksumFunction = chunked_crc32
    crc32c: ChunkedChecksumFunction = chunked_crc32c

    def compute(self, spec: ChecksumSpec, data: BytesLike) -> bytes:
        """The checksum array of `data` under `spec` (empty for NULL)."""
        if spec.checksum_type is ChecksumType.NULL:
            return b""
        function = self.crc32c if spec.checksum_type is ChecksumType.CRC32C else self.crc32
        checksums = function(data, spec.bytes_per_checksum)
        check(len(checksums) == spec.checksums_length(len(data)), "one checksum per chunk")
        return checksums

    def first_mismatch(self, spec: ChecksumSpec, data: BytesLike, checksums: BytesLike) -> int | None:
        """Index of the first chunk whose checksum differs from `checksums`, or None when all match.

        `checksums` must already have the length `spec` gives for `data` (framing checks that).
        """
        check(len(checksums) == spec.checksums_length(len(data)), "checksum length was checked first")
        if (
            spec.checksum_type is ChecksumType.CRC32C
            and self.crc32c is chunked_crc32c
            and spec.bytes_per_checksum % 4 == 0
            and crc32c_combiner(spec.bytes_per_checksum).matches(data, checksums)
        ):
            return None
        expected = self.compute(spec, data)
        if expected == checksums:
            return None
        size = spec.checksum_size
        for index in range(len(expected) // size):
            start = index * size
            if expected[start : start + size] != checksums[start : start + size]:
                return index
        raise InvariantViolation("unequal checksum arrays of equal length must differ in some chunk")


DEFAULT_CHECKSUM_FUNCTIONS = ChecksumFunctions()


def compute_checksums(
    spec: ChecksumSpec, data: BytesLike, functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS
) -> bytes:
    """The checksum array of `data` under `spec`, with the default implementations unless told."""
    return functions.compute(spec, data)


def first_mismatch(
    spec: ChecksumSpec,
    data: BytesLike,
    checksums: BytesLike,
    functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS,
) -> int | None:
    """Index of the first chunk of `data` whose checksum in `checksums` is wrong, or None."""
    return functions.first_mismatch(spec, data, checksums)


def verify_packet(
    spec: ChecksumSpec,
    seqno: int,
    offset_in_block: int,
    data: BytesLike,
    checksums: BytesLike,
    functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS,
) -> None:
    """Raise ChecksumMismatch (naming the first bad chunk) unless `checksums` match `data`."""
    bad_chunk = functions.first_mismatch(spec, data, checksums)
    if bad_chunk is not None:
        bad_offset = offset_in_block + bad_chunk * spec.bytes_per_checksum
        raise ChecksumMismatch(seqno, bad_offset, bad_chunk)


@functools.lru_cache(maxsize=64)
def _array_format(count: int) -> struct.Struct:
    return struct.Struct(f">{count}I")


def _chunked(crc: Callable[[BytesLike], int], data: BytesLike, bytes_per_checksum: int) -> bytes:
    view = data if isinstance(data, memoryview) else memoryview(data)
    check(view.itemsize == 1, "checksums cover bytes")
    count = chunk_count(len(view), bytes_per_checksum)
    if count == 0:
        return b""
    starts = range(0, len(view), bytes_per_checksum)
    checksums = _array_format(count).pack(
        *[crc(view[start : start + bytes_per_checksum]) for start in starts]
    )
    check(len(checksums) == count * CHECKSUM_BYTES, "one 4-byte checksum per chunk")
    return checksums
