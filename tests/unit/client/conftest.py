"""Fixtures for the client's data-path tests (the shared pieces live in client_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from client_support import DATANODES, FakeCluster
from memory_namenode import MemoryNamespace
from support.fake_datanode import BackgroundLoop, start_datanodes


@pytest.fixture(name="cluster")
def cluster_fixture() -> Iterator[FakeCluster]:
    loop = BackgroundLoop()
    datanodes = start_datanodes(loop, DATANODES)
    try:
        yield FakeCluster(loop, datanodes, MemoryNamespace(datanodes))
    finally:
        for datanode in datanodes:
            loop.run(datanode.stop())
        loop.close()
