"""Per-chunk packet checksums: check values, chunking, verification, swapping the implementation, and the
CRC32C bench (a quick run, so the measurement script keeps working)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest

from bench.crc32c import __main__ as crc32c_bench
from hopsfs.protocol import dtp_checksum
from hopsfs.protocol.dtp_checksum import (
    ChecksumFunctions,
    ChecksumMismatch,
    ChecksumSpec,
    ChecksumType,
    chunk_count,
    compute_checksums,
    first_mismatch,
    verify_packet,
)
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.proto import datatransfer_pb2

CRC32C = ChecksumSpec(ChecksumType.CRC32C, 512)
CRC32 = ChecksumSpec(ChecksumType.CRC32, 512)
NULL = ChecksumSpec(ChecksumType.NULL, 512)


def test_check_values() -> None:
    # CRC-32C and CRC-32 catalogue check values of "123456789", big-endian on the wire.
    assert compute_checksums(CRC32C, b"123456789") == bytes.fromhex("e3069283")
    assert compute_checksums(CRC32, b"123456789") == bytes.fromhex("cbf43926")
    assert compute_checksums(NULL, b"123456789") == b""


def test_chunks_are_counted_from_the_packet_start() -> None:
    data = bytes(range(256)) * 5  # 1280 bytes: two full chunks and a 256-byte tail
    checksums = compute_checksums(CRC32, data)
    expected = b"".join(
        zlib.crc32(data[start : start + 512]).to_bytes(4, "big") for start in range(0, len(data), 512)
    )
    assert checksums == expected
    assert len(checksums) == 12 == CRC32.checksums_length(len(data))
    assert compute_checksums(CRC32C, b"") == b""
    assert compute_checksums(CRC32C, memoryview(data)) == compute_checksums(CRC32C, bytearray(data))


@pytest.mark.parametrize(("length", "chunks"), [(0, 0), (1, 1), (512, 1), (513, 2), (65536, 128)])
def test_chunk_count(length: int, chunks: int) -> None:
    assert chunk_count(length, 512) == chunks


def test_first_mismatch_names_the_bad_chunk() -> None:
    data = bytearray(b"x" * 2000)
    checksums = compute_checksums(CRC32C, bytes(data))
    assert first_mismatch(CRC32C, bytes(data), checksums) is None
    data[1500] ^= 0x01  # chunk 2 (bytes 1024..1535)
    assert first_mismatch(CRC32C, bytes(data), checksums) == 2
    with pytest.raises(ChecksumMismatch) as caught:
        verify_packet(CRC32C, 7, 4096, bytes(data), checksums)
    assert (caught.value.seqno, caught.value.chunk_index, caught.value.offset_in_block) == (7, 2, 4096 + 1024)
    assert isinstance(caught.value, RemoteProtocolError)


def test_spec_validation() -> None:
    with pytest.raises(LocalProtocolError):
        ChecksumSpec(ChecksumType.CRC32C, 0)
    with pytest.raises(LocalProtocolError):
        ChecksumSpec(3, 512)  # type: ignore[arg-type]
    proto = datatransfer_pb2.ChecksumProto(type=2, bytesPerChecksum=512)
    assert ChecksumSpec.from_proto(proto, "test") == CRC32C
    assert CRC32C.to_proto() == proto
    with pytest.raises(RemoteProtocolError, match="bytesPerChecksum 0"):
        ChecksumSpec.from_proto(datatransfer_pb2.ChecksumProto(type=2, bytesPerChecksum=0), "test")


def test_a_faster_implementation_can_be_swapped_in() -> None:
    calls: list[int] = []

    def one_call_crc32c(data: bytes | bytearray | memoryview, bytes_per_checksum: int) -> bytes:
        calls.append(len(data))
        return dtp_checksum.chunked_crc32c(data, bytes_per_checksum)

    functions = ChecksumFunctions(crc32c=one_call_crc32c)
    assert compute_checksums(CRC32C, b"a" * 1000, functions) == compute_checksums(CRC32C, b"a" * 1000)
    assert calls == [1000]
    broken = ChecksumFunctions(crc32c=lambda data, size: b"")
    with pytest.raises(Exception, match="one checksum per chunk"):
        compute_checksums(CRC32C, b"a", broken)


@pytest.fixture(name="crc32c_module_missing")
def crc32c_module_missing_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    dtp_checksum.crc32c_function.cache_clear()
    monkeypatch.setattr(dtp_checksum, "_CRC32C_MODULE", "hopsfs_no_such_crc32c_module")
    yield
    dtp_checksum.crc32c_function.cache_clear()


@pytest.mark.usefixtures("crc32c_module_missing")
def test_missing_package_names_itself() -> None:
    with pytest.raises(ImportError, match=r"'crc32c-rs' package.*pip install 'crc32c-rs>="):
        compute_checksums(CRC32C, b"data")
    # CRC32 and NULL need no package.
    assert compute_checksums(CRC32, b"123456789") == bytes.fromhex("cbf43926")


def test_bench_quick_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert crc32c_bench.main(["--quick", "--repeats", "1", "--seconds", "0.001"]) == 0
    table = capsys.readouterr().out
    assert "| zlib.crc32 (baseline, CRC32) | stdlib |" in table
    assert "hopsfs dtp_checksum" in table
    assert "WRONG CHECK VALUE" not in table
