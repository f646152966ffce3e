"""Fixtures: a real cluster (namenode and datanode processes over real sockets) per test, stopped
and fsck-checked afterwards (support.data_cluster.DataClusters)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.data_cluster import DataCluster, DataClusters


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
