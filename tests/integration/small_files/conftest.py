"""Fixtures: a real cluster (namenode and datanode processes over real sockets) per test, stopped
and fsck-checked afterwards (support.data_cluster.DataClusters); and the engine alone on a fresh
store with alice's home directory (`namespace`), fsck-checked afterwards too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.data_cluster import DataCluster, DataClusters
from support.fsck import assert_consistent

from hopsfs.types import Caller
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

ROOT = Caller("hdfs")


@pytest.fixture(name="start_data_cluster")
def start_data_cluster_fixture(tmp_path: Path) -> Iterator[Callable[..., DataCluster]]:
    clusters = DataClusters(tmp_path)
    try:
        yield clusters.start
    finally:
        clusters.close()


@pytest.fixture(name="data_cluster")
def data_cluster_fixture(db_url: str, start_data_cluster: Callable[..., DataCluster]) -> DataCluster:
    return start_data_cluster(db_url)


@pytest.fixture(name="namespace")
def namespace_fixture(db_url: str) -> Iterator[Namespace]:
    store = MetadataStore(db_url)
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=1)
    namespace = Namespace(store)
    namespace.mkdirs(ROOT, "/user/alice", 0o755)
    namespace.set_owner(ROOT, "/user/alice", "alice", "users")
    yield namespace
    namespace.close()
    assert_consistent(db_url)
