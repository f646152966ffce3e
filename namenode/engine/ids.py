"""Batch id allocation that can never hand one id to two namenode processes.

Each refill is its own committed transaction that advances the shared counter row by a whole batch
under the database's write lock (SQLite's single writer; InnoDB's row lock taken by the UPDATE), so
two processes always receive disjoint ranges. Ids taken by an operation that then rolled back are
simply skipped; ids never handed out go back to this process's pool.

A refill must not run while the calling thread holds a write transaction on SQLite (it would wait on
itself), so operations take the ids they may need before their transaction begins.
"""

from __future__ import annotations

from threading import Lock

from hopsfs import limits
from hopsfs.invariants import check
from namenode.dal.store import MetadataStore


class IdAllocator:
    def __init__(
        self, store: MetadataStore, counter_name: str, batch_size: int = limits.ID_ALLOCATION_BATCH
    ) -> None:
        check(batch_size > 0, "id batch size must be positive")
        self._store = store
        self._counter_name = counter_name
        self._batch_size = batch_size
        self._free: list[int] = []
        self._lock = Lock()
        self.refills = 0

    def take(self, count: int) -> list[int]:
        """`count` ids unique across every process sharing the store."""
        check(0 <= count <= limits.ID_ALLOCATION_BATCH, "id request larger than a batch")
        with self._lock:
            if len(self._free) < count:
                self._refill(max(self._batch_size, count))
            taken = self._free[-count:][::-1] if count else []
            del self._free[len(self._free) - count :]
            return taken

    def take_many(self, count: int) -> list[int]:
        """`count` ids, any number of them: taken a batch-sized request at a time (a batch of small
        files needs one per file plus its implicit parents)."""
        ids: list[int] = []
        while len(ids) < count:
            ids.extend(self.take(min(count - len(ids), limits.ID_ALLOCATION_BATCH)))
        return ids

    def give_back(self, ids: list[int]) -> None:
        """Return ids that were taken but never written anywhere."""
        with self._lock:
            self._free.extend(ids)

    def _refill(self, count: int) -> None:
        with self._store.session() as session:
            session.begin(write=True)
            end = session.advance_id_counter(self._counter_name, count)
            session.commit()
        start = end - count
        check(start > 0, "id counter went below one")
        # Highest first, so take() pops from the end and hands out ascending ids.
        self._free = list(range(end - 1, start - 1, -1)) + self._free
        self.refills += 1
