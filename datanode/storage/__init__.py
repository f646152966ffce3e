"""The datanode's local replica storage: volumes, replica files with checksums, the replica index.

No network code: the DataTransferProtocol server (datanode.server) calls `ReplicaStore` from its pool
threads. Layout on disk: layout.py; meta file format: meta_file.py; restart: reconcile.py.
"""

from __future__ import annotations

from datanode.storage.reader import DataRegion, ReadRange, ReplicaReader
from datanode.storage.replica import ReplicaRecord, ReplicaState
from datanode.storage.store import DEFAULT_REPLICA_SPEC, ReplicaStore, StoreConfig

__all__ = [
    "DEFAULT_REPLICA_SPEC",
    "DataRegion",
    "ReadRange",
    "ReplicaReader",
    "ReplicaRecord",
    "ReplicaState",
    "ReplicaStore",
    "StoreConfig",
]
