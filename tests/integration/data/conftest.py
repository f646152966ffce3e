"""Fixtures: a real cluster (a namenode and datanode processes over real sockets) per test, always
stopped, and a blocking hopsfs client on it.

`data_cluster` runs on each backend (`db_url`: SQLite and MariaDB) for the cases where the metadata
store takes part in what is tested (block reports, deletion, concurrent allocation);
`sqlite_data_cluster` on the embedded store alone where a second backend adds nothing but time.
`start_data_cluster(url, **options)` starts one with other options (more datanodes, datanode
arguments); every cluster a test started is stopped and its namespace checked (fsck) afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.data_cluster import DataCluster, StartDataCluster, start_data_cluster_fixture

from hopsfs.client import Client

# The blocking DataTransferProtocol test client (`datanode_harness.DtpClient`) lives with the datanode
# tests; pytest puts that directory on the import path only when it collects a module there, which
# may come after this directory's modules, so it is put there now.
DATANODE_TESTS = str(Path(__file__).resolve().parents[1] / "datanode")
if DATANODE_TESTS not in sys.path:
    sys.path.insert(0, DATANODE_TESTS)

__all__ = ["StartDataCluster", "start_data_cluster_fixture"]  # the fixture is registered by import


@pytest.fixture(name="data_cluster")
def data_cluster_fixture(db_url: str, start_data_cluster: StartDataCluster) -> DataCluster:
    return start_data_cluster(db_url)


@pytest.fixture(name="sqlite_data_cluster")
def sqlite_data_cluster_fixture(sqlite_url: str, start_data_cluster: StartDataCluster) -> DataCluster:
    return start_data_cluster(sqlite_url)


@pytest.fixture(name="client")
def client_fixture(data_cluster: DataCluster) -> Iterator[Client]:
    with data_cluster.connect() as client:
        yield client
