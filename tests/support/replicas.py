"""Shared values for the replica storage tests (tests/unit/datanode and the property test)."""

from __future__ import annotations

from collections.abc import Callable

from datanode.storage import DEFAULT_REPLICA_SPEC, ReplicaStore
from hopsfs.protocol.dtp_checksum import compute_checksums

BLOCK_POOL_ID = "BP-1-127.0.0.1-1700000000000"
StoreFactory = Callable[[], ReplicaStore]


def checksums_of(data: bytes) -> bytes:
    """The checksum array a client would send for `data` with the default replica spec."""
    return compute_checksums(DEFAULT_REPLICA_SPEC, data)
