"""What the store knows about one replica, and its encoding in the replica index.

A record names its files by volume id and the data file's path relative to the volume root; the
meta file sits beside it as blk_<id>_<genstamp>.meta. For a replica being written the recorded
length is only what was known when the record was last persisted: the live length is the writer's,
and restart recovers it from the files (the index is never written per packet).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from pathlib import PurePosixPath

from datanode.storage.errors import StorageError
from datanode.storage.layout import BLOCK_ID_MAX, BLOCK_ID_MIN, GENSTAMP_MAX
from hopsfs.invariants import check

_RECORD_FORMAT_VERSION = 1
# format version, state, generation stamp, length, volume id length; then volume id and path (UTF-8).
_RECORD_HEAD = struct.Struct(">BBqqH")
_BLOCK_KEY = struct.Struct(">q")
VOLUME_ID_BYTES_MAX = 255


class ReplicaState(IntEnum):
    """Hadoop's replica states that this layer stores (RUR and temporary ones come with recovery)."""

    RBW = 1  # being written: lives in rbw/, may grow
    FINALIZED = 2  # complete: lives in finalized/, immutable


@dataclass(frozen=True, slots=True)
class ReplicaRecord:
    block_id: int
    state: ReplicaState
    genstamp: int
    length: int
    volume_id: str
    relative_path: PurePosixPath  # of the data file, relative to the volume root

    def __post_init__(self) -> None:
        check(BLOCK_ID_MIN <= self.block_id <= BLOCK_ID_MAX, "block ids are signed 64-bit")
        check(0 <= self.genstamp <= GENSTAMP_MAX, "generation stamps are non-negative")
        check(self.length >= 0, "replica lengths are never negative")
        check(not self.relative_path.is_absolute(), "replica paths are relative to their volume")


def encode_block_key(block_id: int) -> bytes:
    """Index key: the signed block id, big-endian, so keys sort by id within each sign."""
    return _BLOCK_KEY.pack(block_id)


def decode_block_key(key: bytes) -> int:
    if len(key) != _BLOCK_KEY.size:
        raise StorageError(f"replica index key of {len(key)} bytes, expected {_BLOCK_KEY.size}")
    block_id: int = _BLOCK_KEY.unpack(key)[0]
    return block_id


def encode_record(record: ReplicaRecord) -> bytes:
    volume_id = record.volume_id.encode()
    check(len(volume_id) <= VOLUME_ID_BYTES_MAX, "volume ids are short")
    head = _RECORD_HEAD.pack(
        _RECORD_FORMAT_VERSION, int(record.state), record.genstamp, record.length, len(volume_id)
    )
    return head + volume_id + str(record.relative_path).encode()


def decode_record(block_id: int, value: bytes) -> ReplicaRecord:
    """The record stored for `block_id`; StorageError when the bytes are not one (a damaged index)."""
    if len(value) < _RECORD_HEAD.size:
        raise StorageError(f"replica index entry of blk_{block_id} is truncated")
    version, state, genstamp, length, volume_id_length = _RECORD_HEAD.unpack_from(value, 0)
    if version != _RECORD_FORMAT_VERSION or state not in (ReplicaState.RBW, ReplicaState.FINALIZED):
        raise StorageError(f"replica index entry of blk_{block_id}: unknown version or state")
    volume_end = _RECORD_HEAD.size + volume_id_length
    if volume_end > len(value) or genstamp < 0 or length < 0:
        raise StorageError(f"replica index entry of blk_{block_id} is malformed")
    volume_id = value[_RECORD_HEAD.size : volume_end].decode()
    path = PurePosixPath(value[volume_end:].decode())
    return ReplicaRecord(block_id, ReplicaState(state), genstamp, length, volume_id, path)
