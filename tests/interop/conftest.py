"""The real cluster the hdfs-native data tests use: a namenode and three datanodes on SQLite, with
hdfs-native acting as the superuser "hdfs"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.data_cluster import DataCluster, DataClusters


@pytest.fixture(name="cluster")
def cluster_fixture(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DataCluster]:
    monkeypatch.setenv("HADOOP_USER_NAME", "hdfs")  # hdfs-native's user
    clusters = DataClusters(tmp_path)
    try:
        yield clusters.start(sqlite_url)
    finally:
        clusters.close()
