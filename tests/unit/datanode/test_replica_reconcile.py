"""Restart: the index is reconciled with what the volumes hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.replicas import BLOCK_POOL_ID, checksums_of

from datanode.storage import ReplicaState, ReplicaStore, StoreConfig
from datanode.storage.index import MemoryReplicaIndex
from datanode.storage.layout import fanout_subdir

DATA = bytes(range(251)) * 12  # 3012 bytes: 5 whole chunks and a partial one


def _config(tmp_path: Path, full_scan: bool = False) -> StoreConfig:
    return StoreConfig(
        (tmp_path / "volume0",), BLOCK_POOL_ID, replica_bytes_expected=1 << 20, full_scan=full_scan
    )


def _pool(tmp_path: Path) -> Path:
    return tmp_path / "volume0" / "current" / BLOCK_POOL_ID


def _rbw_replica(tmp_path: Path, block_id: int = 11, data: bytes = DATA) -> None:
    store = ReplicaStore.open(_config(tmp_path))
    store.create_rbw(block_id, 2)
    store.append(block_id, 2, 0, data, checksums_of(data))
    store.close()


def test_missing_finalized_file_drops_the_entry(tmp_path: Path) -> None:
    store = ReplicaStore.open(_config(tmp_path))
    store.create_rbw(11, 2)
    store.append(11, 2, 0, DATA, checksums_of(DATA))
    store.finalize(11, 2)
    store.close()
    leaf = _pool(tmp_path) / "finalized" / fanout_subdir(11)
    (leaf / "blk_11").unlink()
    reopened = ReplicaStore.open(_config(tmp_path))
    assert reopened.block_report() == []
    assert reopened.reconcile_report.dropped == 1
    assert not (leaf / "blk_11_2.meta").exists()
    reopened.close()
    assert ReplicaStore.open(_config(tmp_path)).reconcile_report.dropped == 0


def test_indexed_rbw_is_truncated_to_its_verified_prefix(tmp_path: Path) -> None:
    _rbw_replica(tmp_path)
    rbw = _pool(tmp_path) / "rbw"
    with (rbw / "blk_11").open("r+b") as stream:  # damage chunk 3, and leave unchecksummed bytes at the end
        stream.seek(3 * 512 + 5)
        stream.write(b"\xff")
        stream.seek(0, os.SEEK_END)
        stream.write(b"tail without checksums")
    store = ReplicaStore.open(_config(tmp_path))
    assert store.get(11).length == 3 * 512
    assert store.get(11).state is ReplicaState.RBW
    assert store.verify(11) is None
    assert (rbw / "blk_11_2.meta").stat().st_size == 7 + 3 * 4


def test_unindexed_rbw_replica_is_found_by_the_scan(tmp_path: Path) -> None:
    _rbw_replica(tmp_path)
    with (_pool(tmp_path) / "rbw" / "blk_11").open("ab") as stream:
        stream.write(b"x" * 100)  # a packet whose checksums never reached the meta file
    store = ReplicaStore.open(_config(tmp_path), index=MemoryReplicaIndex())  # an empty index
    assert (store.get(11).genstamp, store.get(11).length) == (2, len(DATA))
    assert store.reconcile_report.recovered == 1
    with store.open_for_read(11, 2) as reader:
        assert reader.read(0, len(DATA), verify=True).data == DATA


def test_finalize_cut_between_renames_rolls_forward(tmp_path: Path) -> None:
    _rbw_replica(tmp_path)
    leaf = _pool(tmp_path) / "finalized" / fanout_subdir(11)
    leaf.mkdir(parents=True)
    os.rename(_pool(tmp_path) / "rbw" / "blk_11_2.meta", leaf / "blk_11_2.meta")
    store = ReplicaStore.open(_config(tmp_path))
    record = store.get(11)
    assert (record.state, record.length) == (ReplicaState.FINALIZED, len(DATA))
    assert store.reconcile_report.rolled_forward == 1
    assert store.verify(11) is None
    assert list((_pool(tmp_path) / "rbw").iterdir()) == []


def test_genstamp_renamed_on_disk_wins_over_the_index(tmp_path: Path) -> None:
    _rbw_replica(tmp_path)
    rbw = _pool(tmp_path) / "rbw"
    os.rename(rbw / "blk_11_2.meta", rbw / "blk_11_9.meta")  # update_genstamp cut before the index write
    store = ReplicaStore.open(_config(tmp_path))
    assert store.get(11).genstamp == 9


def test_inconsistent_finalized_replica_is_quarantined(tmp_path: Path) -> None:
    store = ReplicaStore.open(_config(tmp_path))
    store.create_rbw(11, 2)
    store.append(11, 2, 0, DATA, checksums_of(DATA))
    store.finalize(11, 2)
    store.close()
    leaf = _pool(tmp_path) / "finalized" / fanout_subdir(11)
    with (leaf / "blk_11").open("ab") as stream:
        stream.write(b"grown behind our back")
    reopened = ReplicaStore.open(_config(tmp_path))
    assert reopened.block_report() == []
    assert reopened.reconcile_report.quarantined == 1
    assert (_pool(tmp_path) / "trash" / fanout_subdir(11) / "blk_11").exists()


def test_lone_files_are_removed(tmp_path: Path) -> None:
    rbw = _pool(tmp_path) / "rbw"
    ReplicaStore.open(_config(tmp_path)).close()
    (rbw / "blk_5_1.meta").write_bytes(b"\x00\x01\x02\x00\x00\x02\x00")  # create cut before the data file
    (rbw / "blk_6").write_bytes(b"data without meta")
    (rbw / "blk_7_1.meta").write_bytes(b"")  # create cut before the header
    (rbw / "blk_7").write_bytes(b"")
    store = ReplicaStore.open(_config(tmp_path))
    assert store.block_report() == []
    assert sorted(path.name for path in rbw.iterdir()) == []


@pytest.mark.parametrize("full_scan", [False, True])
def test_full_scan_rebuilds_a_lost_index(tmp_path: Path, full_scan: bool) -> None:
    store = ReplicaStore.open(_config(tmp_path))
    for block_id in (1, 70_000, -4):
        store.create_rbw(block_id, 3)
        store.append(block_id, 3, 0, DATA, checksums_of(DATA))
        store.finalize(block_id, 3)
    store.close()
    rebuilt = ReplicaStore.open(_config(tmp_path, full_scan=full_scan), index=MemoryReplicaIndex())
    found = sorted((record.block_id, record.length) for record in rebuilt.block_report())
    assert found == ([(-4, len(DATA)), (1, len(DATA)), (70_000, len(DATA))] if full_scan else [])


def test_entries_of_an_absent_volume_are_kept_for_its_return(tmp_path: Path) -> None:
    both = StoreConfig((tmp_path / "volume0", tmp_path / "volume1"), BLOCK_POOL_ID, choice="round-robin")
    store = ReplicaStore.open(both)
    for block_id in (1, 2):
        store.create_rbw(block_id, 1)
        store.append(block_id, 1, 0, DATA, checksums_of(DATA))
        store.finalize(block_id, 1)
    store.close()
    one = ReplicaStore.open(
        StoreConfig(
            (tmp_path / "volume0",),
            BLOCK_POOL_ID,
            index_path=tmp_path / "volume0" / "current" / BLOCK_POOL_ID / "replica-index",
        )
    )
    assert [record.block_id for record in one.block_report()] == [1]
    assert one.reconcile_report.on_absent_volumes == 1
    one.close()
    again = ReplicaStore.open(both)
    assert [record.block_id for record in again.block_report()] == [1, 2]
    again.close()
