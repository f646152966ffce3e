"""hdfs-native (the Rust HDFS client) pointed at a test cluster, for the interop tests."""

from __future__ import annotations

from hdfs_native import Client

from support.data_cluster import DataCluster


def native_client(cluster: DataCluster) -> Client:
    """An hdfs-native client of `cluster` (its user: HADOOP_USER_NAME, set by the fixture)."""
    return Client(cluster.url.replace("hopsfs://", "hdfs://"))
