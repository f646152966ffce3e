"""Names, fan-out directories, the meta header and index record encoding."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from datanode.storage.errors import ReplicaCorrupt, StorageError, VolumeError
from datanode.storage.layout import (
    fanout_subdir,
    meta_file_name,
    parse_block_file_name,
    parse_meta_file_name,
    validate_block_pool_id,
)
from datanode.storage.meta_file import (
    META_HEADER_BYTES,
    chunks_covered,
    decode_meta_header,
    encode_meta_header,
    meta_file_length,
)
from datanode.storage.replica import ReplicaRecord, ReplicaState, decode_record, encode_record
from hopsfs.errors import HopsFSError
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType


@pytest.mark.parametrize("block_id", [0, 1, 1 << 30, -5, 2**63 - 1, -(2**63)])
def test_names_round_trip(block_id: int) -> None:
    assert parse_block_file_name(f"blk_{block_id}") == block_id
    assert parse_meta_file_name(meta_file_name(block_id, 1001)) == (block_id, 1001)


@pytest.mark.parametrize(
    "name", ["blk_", "blk_1.meta", "blk_x", "blk_1_2", "blk_1_-2.meta", "foo", "blk_99999999999999999999"]
)
def test_other_names_are_not_replicas(name: str) -> None:
    assert parse_block_file_name(name) is None
    assert parse_meta_file_name(name) is None


def test_fanout_uses_hadoop_bits_and_bounds_leaves() -> None:
    assert fanout_subdir(0) == PurePosixPath("subdir0", "subdir0")
    assert fanout_subdir((3 << 16) | (7 << 8) | 0xFF) == PurePosixPath("subdir3", "subdir7")
    leaves = {fanout_subdir(block_id) for block_id in range(0, 1 << 22, 97)}
    assert len(leaves) == 32 * 32
    assert fanout_subdir(-1) == PurePosixPath("subdir31", "subdir31")


def test_meta_header_is_hadoops_seven_bytes() -> None:
    header = encode_meta_header(ChecksumSpec(ChecksumType.CRC32C, 512))
    assert header == b"\x00\x01\x02\x00\x00\x02\x00"
    assert META_HEADER_BYTES == 7
    assert decode_meta_header(header, "x") == ChecksumSpec(ChecksumType.CRC32C, 512)
    assert meta_file_length(1025, ChecksumSpec(ChecksumType.CRC32, 512)) == 7 + 3 * 4
    assert chunks_covered(7 + 9) == 2


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"\x00\x01\x02",
        b"\x00\x02\x02\x00\x00\x02\x00",
        b"\x00\x01\x00\x00\x00\x02\x00",
        b"\x00\x01\x02\x00\x00\x00\x00",
    ],
)
def test_bad_meta_headers_are_corrupt(header: bytes) -> None:
    with pytest.raises(ReplicaCorrupt):
        decode_meta_header(header, "x")


def test_record_round_trips_and_rejects_garbage() -> None:
    record = ReplicaRecord(-7, ReplicaState.RBW, 5, 100, "DS-x", PurePosixPath("current/BP/rbw/blk_-7"))
    assert decode_record(-7, encode_record(record)) == record
    with pytest.raises(StorageError):
        decode_record(1, b"\x09" * 30)
    with pytest.raises(StorageError):
        decode_record(1, b"\x01")


@pytest.mark.parametrize("block_pool_id", ["", "..", "a/b", "../x", "-x"])
def test_unsafe_block_pool_ids_are_refused(block_pool_id: str) -> None:
    with pytest.raises(VolumeError):
        validate_block_pool_id(block_pool_id)


def test_storage_errors_are_hopsfs_errors() -> None:
    assert issubclass(StorageError, HopsFSError)
