"""What the data path tells the namenodes about replicas, as an interface the server calls.

The DataTransferProtocol server, the command executor and the block scanner report replica
changes here; `namenode_link.reports.IncrementalReporter` sends them over gRPC in batches, tests
record them. Implementations must be thread-safe and must not block (they queue).
"""

from __future__ import annotations

from typing import Protocol

from datanode.storage import ReplicaRecord


class ReplicaEvents(Protocol):
    def replica_receiving(self, record: ReplicaRecord) -> None:
        """A replica being written was created or reopened (append, recovery)."""

    def replica_received(self, record: ReplicaRecord) -> None:
        """A replica was finalized with its final length."""

    def replica_deleted(self, block_id: int) -> None:
        """A replica was deleted here."""

    def replica_bad(self, block_id: int, genstamp: int, length: int) -> None:
        """A replica's bytes fail their checksums: it is no longer served."""


class DiscardedEvents:
    """Events nobody listens to (a server run without namenodes, as in some tests and benchmarks)."""

    def replica_receiving(self, record: ReplicaRecord) -> None:
        return None

    def replica_received(self, record: ReplicaRecord) -> None:
        return None

    def replica_deleted(self, block_id: int) -> None:
        return None

    def replica_bad(self, block_id: int, genstamp: int, length: int) -> None:
        return None
