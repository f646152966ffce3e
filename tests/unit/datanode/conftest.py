"""Fixtures for the replica storage tests: a store on temporary volumes, over either index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.replicas import BLOCK_POOL_ID, StoreFactory

from datanode.storage import ReplicaStore, StoreConfig
from datanode.storage.index import MemoryReplicaIndex, ReplicaIndex, RocksReplicaIndex


@pytest.fixture(params=["rocksdict", "memory"])
def index_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(tmp_path: Path, index_kind: str) -> Iterator[StoreFactory]:
    """Opens the same store again on each call (the memory index object is kept across reopens)."""
    config = StoreConfig(
        (tmp_path / "volume0", tmp_path / "volume1"), BLOCK_POOL_ID, replica_bytes_expected=1 << 20
    )
    memory_index = MemoryReplicaIndex()
    opened: list[ReplicaStore] = []

    def open_store() -> ReplicaStore:
        for store in opened:
            store.close()  # first: a RocksDB database has one opener at a time
        opened.clear()
        index: ReplicaIndex = (
            RocksReplicaIndex(tmp_path / "index") if index_kind == "rocksdict" else memory_index
        )
        store = ReplicaStore.open(config, index=index)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()
