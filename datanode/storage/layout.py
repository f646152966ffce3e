"""Where replicas live on a volume: directory and file names, and parsing them back.

    <volume>/volume-id                         "DS-<uuid>", written once, atomically
    <volume>/current/<block-pool-id>/rbw/      replicas being written: blk_<id>, blk_<id>_<gs>.meta
    <volume>/current/<block-pool-id>/finalized/subdir<a>/subdir<b>/   finalized replicas
    <volume>/current/<block-pool-id>/tmp/      scratch space, emptied at startup
    <volume>/current/<block-pool-id>/trash/subdir<a>/subdir<b>/       deleted replicas, when kept

Finalized replicas fan out over 32 x 32 leaf directories by bits 16..20 and 8..15 of the block id
(Hadoop's scheme), so 256 consecutive block ids share a leaf and a leaf holds about 1/1024 of the
replicas: ~2,000 files per leaf at a million replicas instead of two million in one directory.
Block ids are signed 64-bit (Hadoop prints negative legacy ids as blk_-123); generation stamps are
non-negative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from datanode.storage.errors import VolumeError
from hopsfs.invariants import check

BLOCK_ID_MIN = -(2**63)
BLOCK_ID_MAX = 2**63 - 1
GENSTAMP_MAX = 2**63 - 1
SUBDIR_FANOUT = 32
VOLUME_ID_FILE = "volume-id"

_BLOCK_FILE = re.compile(r"blk_(-?[0-9]+)")
_META_FILE = re.compile(r"blk_(-?[0-9]+)_([0-9]+)\.meta")
_BLOCK_POOL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")

check(SUBDIR_FANOUT == 0x1F + 1, "the fan-out masks five bits per level")


def block_file_name(block_id: int) -> str:
    check(BLOCK_ID_MIN <= block_id <= BLOCK_ID_MAX, "block ids are signed 64-bit")
    return f"blk_{block_id}"


def meta_file_name(block_id: int, genstamp: int) -> str:
    check(0 <= genstamp <= GENSTAMP_MAX, "generation stamps are non-negative 64-bit")
    return f"{block_file_name(block_id)}_{genstamp}.meta"


def parse_block_file_name(name: str) -> int | None:
    """The block id of a data file name, or None for any other name."""
    match = _BLOCK_FILE.fullmatch(name)
    if match is None:
        return None
    block_id = int(match.group(1))
    return block_id if BLOCK_ID_MIN <= block_id <= BLOCK_ID_MAX else None


def parse_meta_file_name(name: str) -> tuple[int, int] | None:
    """(block id, generation stamp) of a meta file name, or None for any other name."""
    match = _META_FILE.fullmatch(name)
    if match is None:
        return None
    block_id, genstamp = int(match.group(1)), int(match.group(2))
    if not BLOCK_ID_MIN <= block_id <= BLOCK_ID_MAX or genstamp > GENSTAMP_MAX:
        return None
    return block_id, genstamp


def fanout_subdir(block_id: int) -> PurePosixPath:
    """The two-level leaf directory of a block id, relative to finalized/ or trash/."""
    unsigned = block_id & 0xFFFF_FFFF_FFFF_FFFF  # two's complement bits, as Java's shifts see them
    first = (unsigned >> 16) & 0x1F
    second = (unsigned >> 8) & 0x1F
    return PurePosixPath(f"subdir{first}", f"subdir{second}")


def validate_block_pool_id(block_pool_id: str) -> str:
    """`block_pool_id` if it is one safe path component; VolumeError otherwise."""
    if _BLOCK_POOL_ID.fullmatch(block_pool_id) is None or block_pool_id in (".", ".."):
        raise VolumeError(f"block pool id {block_pool_id!r} is not a safe directory name")
    return block_pool_id


@dataclass(frozen=True, slots=True)
class BlockPoolDirectories:
    """The directories of one block pool on one volume."""

    volume_root: Path
    block_pool_id: str

    @property
    def root(self) -> Path:
        return self.volume_root / "current" / self.block_pool_id

    @property
    def rbw(self) -> Path:
        return self.root / "rbw"

    @property
    def finalized(self) -> Path:
        return self.root / "finalized"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def trash(self) -> Path:
        return self.root / "trash"

    def finalized_leaf(self, block_id: int) -> Path:
        return self.finalized / fanout_subdir(block_id)

    def trash_leaf(self, block_id: int) -> Path:
        return self.trash / fanout_subdir(block_id)

    def all_directories(self) -> tuple[Path, ...]:
        return (self.rbw, self.finalized, self.tmp, self.trash)
