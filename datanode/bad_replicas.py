"""Replicas this datanode found corrupt: never served again, whatever the reader asks.

Filled by the block scanner and by readers that report ERROR_CHECKSUM (after a local check); an
entry goes when the replica is deleted or replaced. Memory only: after a restart the scanner finds
them again. Thread-safe (the scanner's checks run in pool threads).
"""

from __future__ import annotations

import threading

from hopsfs.invariants import check

# Far more than a healthy datanode ever holds; past it the oldest entries are kept (new ones refused
# from the set are still reported and deleted by the namenode).
BAD_REPLICAS_MAX = 1_000_000


class BadReplicas:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._genstamps: dict[int, int] = {}

    def mark(self, block_id: int, genstamp: int) -> bool:
        """Record a bad replica; False when it was already known."""
        check(genstamp >= 0, "generation stamps are non-negative")
        with self._lock:
            if self._genstamps.get(block_id) == genstamp:
                return False
            if len(self._genstamps) < BAD_REPLICAS_MAX or block_id in self._genstamps:
                self._genstamps[block_id] = genstamp
            return True

    def is_bad(self, block_id: int) -> bool:
        """Whether this datanode's replica of `block_id` is known bad (a new stamp does not heal it)."""
        with self._lock:
            return block_id in self._genstamps

    def forget(self, block_id: int) -> None:
        with self._lock:
            self._genstamps.pop(block_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._genstamps)
