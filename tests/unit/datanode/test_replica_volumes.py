"""Volumes: layout creation, a stable id, tmp cleanup, capacity accounting and choice policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from datanode.storage.errors import InsufficientSpace, VolumeError
from datanode.storage.volume import Volume
from datanode.storage.volume_choice import MostAvailableChoice, RoundRobinChoice

BLOCK_POOL_ID = "BP-7"


def test_open_creates_layout_and_keeps_its_id(tmp_path: Path) -> None:
    volume = Volume.open(tmp_path / "v", BLOCK_POOL_ID, 0)
    for name in ("rbw", "finalized", "tmp", "trash"):
        assert (tmp_path / "v" / "current" / BLOCK_POOL_ID / name).is_dir()
    assert volume.volume_id.startswith("DS-")
    (volume.directories.tmp / "junk").write_bytes(b"x")
    again = Volume.open(tmp_path / "v", BLOCK_POOL_ID, 0)
    assert again.volume_id == volume.volume_id
    assert list(again.directories.tmp.iterdir()) == []


def test_a_damaged_id_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "volume-id").write_text("garbage")
    with pytest.raises(VolumeError):
        Volume.open(tmp_path / "v", BLOCK_POOL_ID, 0)


def test_capacity_counts_used_reserve_and_promises(tmp_path: Path) -> None:
    volume = Volume.open(tmp_path / "v", BLOCK_POOL_ID, 1000)
    before = volume.capacity()
    volume.add_used(300)
    volume.promise(5000)
    after = volume.capacity()
    assert after.used_bytes == 300
    assert after.reserved_bytes == 6000
    assert before.total_bytes == after.total_bytes > 0
    # The file system's free space moves with other writers; the reserve change is what must show.
    assert after.available_bytes <= before.available_bytes - 5000 + (1 << 20)


def test_round_robin_skips_full_volumes(tmp_path: Path) -> None:
    volumes = [Volume.open(tmp_path / f"v{index}", BLOCK_POOL_ID, 0) for index in range(3)]
    choice = RoundRobinChoice()
    assert [choice.choose(volumes, 1).volume_id for _ in range(4)] == [
        volumes[0].volume_id,
        volumes[1].volume_id,
        volumes[2].volume_id,
        volumes[0].volume_id,
    ]
    volumes[1].reserve_bytes = volumes[1].capacity().available_bytes + (1 << 40)
    picked = {choice.choose(volumes, 1).volume_id for _ in range(4)}
    assert volumes[1].volume_id not in picked


def test_most_available_and_insufficient_space(tmp_path: Path) -> None:
    volumes = [Volume.open(tmp_path / f"v{index}", BLOCK_POOL_ID, 0) for index in range(2)]
    volumes[0].promise(1 << 30)
    assert MostAvailableChoice().choose(volumes, 1) is volumes[1]
    huge = 1 << 62
    with pytest.raises(InsufficientSpace):
        MostAvailableChoice().choose(volumes, huge)
    with pytest.raises(InsufficientSpace):
        RoundRobinChoice().choose(volumes, huge)
