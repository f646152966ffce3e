"""Fixtures of the block-manager tests: a BlockCluster on each backend, checked by fsck at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from block_cluster import BlockCluster, open_cluster
from support.fsck import assert_consistent


@pytest.fixture(name="cluster")
def cluster_fixture(db_url: str) -> Iterator[BlockCluster]:
    cluster = open_cluster(db_url)
    yield cluster
    cluster.namespace.close()
    assert_consistent(db_url)


@pytest.fixture(name="three")
def three_fixture(cluster: BlockCluster) -> list[str]:
    """Three live datanodes on three hosts."""
    return [cluster.add_datanode(name) for name in ("dn-a", "dn-b", "dn-c")]
