"""Fixtures: one real cluster (a namenode and three datanode processes, SQLite metadata) for every
test of the fsspec driver in the session, and a driver instance on it per test, each test in its
own directory.

Starting a cluster takes seconds; the driver's tests only need a namespace they do not share, so the
cluster is session-scoped and each test gets a fresh directory (`fs_path`) under the root. The
cluster's namespace is checked (fsck) when the session stops it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import databases
from support.data_cluster import SUPERUSER, DataCluster, DataClusters

from hopsfs.fsspec import HopsFileSystem


@pytest.fixture(name="fsspec_cluster", scope="session")
def fsspec_cluster_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataCluster]:
    root = tmp_path_factory.mktemp("fsspec-cluster")
    clusters = DataClusters(root)
    try:
        yield clusters.start(databases.sqlite_url(root))
    finally:
        clusters.close()


@pytest.fixture(name="hopsfs_url", scope="session")
def hopsfs_url_fixture(fsspec_cluster: DataCluster) -> str:
    return fsspec_cluster.url


@pytest.fixture(name="session_fs", scope="session")
def session_fs_fixture(hopsfs_url: str) -> Iterator[HopsFileSystem]:
    """The driver as the superuser, outside fsspec's instance cache (closed at the end)."""
    fs = HopsFileSystem(url=hopsfs_url, user=SUPERUSER.user, skip_instance_cache=True)
    yield fs
    fs.close()


@pytest.fixture(name="hopsfs_fs")
def hopsfs_fs_fixture(session_fs: HopsFileSystem) -> HopsFileSystem:
    return session_fs


@pytest.fixture(name="test_dir")
def test_dir_fixture(session_fs: HopsFileSystem) -> Iterator[str]:
    """A fresh directory for one test, removed afterwards."""
    path = f"/tests/{uuid.uuid4().hex[:12]}"
    session_fs.makedirs(path)
    yield path
    if session_fs.exists(path):
        session_fs.rm(path, recursive=True)


@pytest.fixture(name="local_dir")
def local_dir_fixture(tmp_path: Path) -> Path:
    return tmp_path
