"""One volume: a directory tree that holds replicas of one block pool, and its capacity accounting.

Opening a volume creates its layout (see layout.py) and its id file on first use; the id ("DS-<uuid>",
Hadoop's storage id form) names the volume in the replica index and in block reports, so moving the
directory keeps its replicas.

Capacity: `total` and free space come from the file system; `used` counts the bytes of this volume's
replica files (data + meta); `reserved` is the configured reserve (space left for other users of the
disk) plus what replicas being written may still grow to. New replicas go only where `available`,
free space minus both reserves, holds them.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from datanode.storage.errors import VolumeError
from datanode.storage.fsync import write_file_atomically
from datanode.storage.layout import VOLUME_ID_FILE, BlockPoolDirectories, validate_block_pool_id
from hopsfs.invariants import check

VOLUME_ID_PREFIX = "DS-"


@dataclass(frozen=True, slots=True)
class VolumeCapacity:
    volume_id: str
    total_bytes: int
    used_bytes: int  # by this volume's replica files
    reserved_bytes: int  # configured reserve + room promised to replicas being written
    available_bytes: int  # what a new replica may use


class Volume:
    """A volume directory; thread-safe accounting, no replica logic."""

    def __init__(self, root: Path, volume_id: str, block_pool_id: str, reserve_bytes: int) -> None:
        check(reserve_bytes >= 0, "a reserve is never negative")
        check(volume_id.startswith(VOLUME_ID_PREFIX), "volume ids have Hadoop's storage id form")
        self.root = root
        self.volume_id = volume_id
        self.directories = BlockPoolDirectories(root, block_pool_id)
        self.reserve_bytes = reserve_bytes
        self._lock = threading.Lock()
        self._used_bytes = 0
        self._promised_bytes = 0

    @classmethod
    def open(cls, root: Path, block_pool_id: str, reserve_bytes: int) -> Volume:
        """Open (creating on first use) the volume at `root`; tmp/ is emptied: nothing there is live."""
        validate_block_pool_id(block_pool_id)
        root.mkdir(parents=True, exist_ok=True)
        volume_id = _read_or_create_volume_id(root)
        volume = cls(root, volume_id, block_pool_id, reserve_bytes)
        for directory in volume.directories.all_directories():
            directory.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(volume.directories.tmp)
        volume.directories.tmp.mkdir()
        return volume

    def add_used(self, delta_bytes: int) -> None:
        with self._lock:
            self._used_bytes += delta_bytes
            check(self._used_bytes >= 0, "used bytes never go negative")

    def promise(self, delta_bytes: int) -> None:
        """Reserve (positive) or release (negative) room for a replica being written."""
        with self._lock:
            self._promised_bytes += delta_bytes
            check(self._promised_bytes >= 0, "promised bytes never go negative")

    def capacity(self) -> VolumeCapacity:
        stats = os.statvfs(self.root)
        total_bytes = stats.f_blocks * stats.f_frsize
        free_bytes = stats.f_bavail * stats.f_frsize
        with self._lock:
            used_bytes = self._used_bytes
            reserved_bytes = self.reserve_bytes + self._promised_bytes
        available_bytes = max(0, free_bytes - reserved_bytes)
        return VolumeCapacity(self.volume_id, total_bytes, used_bytes, reserved_bytes, available_bytes)


def _read_or_create_volume_id(root: Path) -> str:
    path = root / VOLUME_ID_FILE
    try:
        volume_id = path.read_text().strip()
    except FileNotFoundError:
        volume_id = f"{VOLUME_ID_PREFIX}{uuid.uuid4()}"
        write_file_atomically(path, (volume_id + "\n").encode())
        return volume_id
    if not volume_id.startswith(VOLUME_ID_PREFIX) or len(volume_id) > 64:
        raise VolumeError(f"{path}: {volume_id[:80]!r} is not a volume id")
    return volume_id
