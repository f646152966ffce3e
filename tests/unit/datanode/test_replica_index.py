"""Both index implementations keep records; rocksdict keeps them across reopen."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from datanode.storage.index import MemoryReplicaIndex, ReplicaIndex, RocksReplicaIndex, rocksdict_available
from datanode.storage.replica import ReplicaRecord, ReplicaState


def _record(block_id: int, length: int = 0) -> ReplicaRecord:
    return ReplicaRecord(
        block_id, ReplicaState.FINALIZED, 3, length, "DS-a", PurePosixPath(f"x/blk_{block_id}")
    )


def test_rocksdict_is_installed_for_the_default_index() -> None:
    assert rocksdict_available()


@pytest.mark.parametrize("kind", ["rocksdict", "memory"])
def test_put_get_delete_records(tmp_path: Path, kind: str) -> None:
    index: ReplicaIndex = RocksReplicaIndex(tmp_path / "i") if kind == "rocksdict" else MemoryReplicaIndex()
    for block_id in (-3, 0, 5):
        index.put(_record(block_id), durable=block_id == 0)
    index.put(_record(5, 99), durable=False)
    assert index.get(5) == _record(5, 99)
    index.delete(0, durable=True)
    index.delete(12345, durable=True)  # absent: no error
    assert index.get(0) is None
    assert sorted(record.block_id for record in index.records()) == [-3, 5]
    index.close()


def test_rocksdict_index_persists(tmp_path: Path) -> None:
    index = RocksReplicaIndex(tmp_path / "i")
    index.put(_record(1, 10), durable=True)
    index.close()
    reopened = RocksReplicaIndex(tmp_path / "i")
    assert reopened.get(1) == _record(1, 10)
    reopened.close()
