"""Aggregated read provenance: which user and application read which file, without a write per read.

Reads are 69% of the Spotify mix; a change-log row per read would turn every read into a write
transaction. Instead the namenode counts reads in memory per (inode, user, application) and every
READ_FLUSH_INTERVAL_MS writes one change-log row per key in one transaction (`flush`), with:

- operation "READ", the inode, its parent and name at the last read, the user, the app id;
- time_ms: the first read in the window (lineage asks "read before it wrote", so the earliest);
- logical_time: the number of reads aggregated. Reads are not changes: they do not bump the inode's
  logical clock (that would write the inode row), so the column is free, and the CDC service turns
  it into the event's read_count (cdc/capture/capturer.py).

Bounded: at most READ_TALLY_KEYS_MAX distinct keys wait for a flush; reads of further keys are
counted in `dropped` (and a flush is due). A flush that fails puts its tallies back (within the
bound) and raises, so the caller's next flush retries them. Thread-safe (handler threads record,
one housekeeping thread flushes). The front end calls `record` on getBlockLocations/open; the
namenode process runs `flush` every READ_FLUSH_INTERVAL_MS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from hopsfs.invariants import check
from hopsfs.types import InodeKind
from namenode.dal.store import MetadataStore

READ_OPERATION = "READ"
READ_FLUSH_INTERVAL_MS = 2000
READ_TALLY_KEYS_MAX = 100_000


@dataclass(slots=True)
class _Tally:
    parent_id: int
    name: str
    first_ms: int
    count: int


class ReadRecorder:
    def __init__(
        self, clock_ms: Callable[[], int] | None = None, keys_max: int = READ_TALLY_KEYS_MAX
    ) -> None:
        check(keys_max > 0, "the recorder keeps at least one key")
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._keys_max = keys_max
        self._lock = threading.Lock()
        self._tallies: dict[tuple[int, str, str], _Tally] = {}
        self.dropped = 0  # reads not recorded because the table was full
        self.flushed_rows = 0

    def record(self, inode_id: int, parent_id: int, name: str, user: str, app_id: str | None) -> None:
        """One read of file `inode_id` (at parent_id/name) by `user` for application `app_id`."""
        key = (inode_id, user, app_id or "")
        with self._lock:
            tally = self._tallies.get(key)
            if tally is not None:
                tally.count += 1
                tally.parent_id, tally.name = parent_id, name
                return
            if len(self._tallies) >= self._keys_max:
                self.dropped += 1
                return
            self._tallies[key] = _Tally(parent_id, name, self._clock_ms(), 1)

    @property
    def pending_keys(self) -> int:
        with self._lock:
            return len(self._tallies)

    def flush(self, store: MetadataStore) -> int:
        """Write one READ change-log row per pending key in one transaction; returns rows written."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
        if not tallies:
            return 0
        rows = [_change_row(key, tally) for key, tally in tallies.items()]
        try:
            with store.session() as session:
                session.begin(write=True)
                session.insert_changes(rows)
                session.commit()
        except BaseException:
            self._put_back(tallies)
            raise
        self.flushed_rows += len(rows)
        return len(rows)

    def _put_back(self, tallies: dict[tuple[int, str, str], _Tally]) -> None:
        with self._lock:
            for key, tally in tallies.items():
                current = self._tallies.get(key)
                if current is not None:
                    current.count += tally.count
                    current.first_ms = min(current.first_ms, tally.first_ms)
                elif len(self._tallies) < self._keys_max:
                    self._tallies[key] = tally
                else:
                    self.dropped += tally.count


def _change_row(key: tuple[int, str, str], tally: _Tally) -> dict[str, object]:
    inode_id, user, app_id = key
    check(tally.count > 0, "a tally counts at least one read")
    return {
        "operation": READ_OPERATION,
        "inode_id": inode_id,
        "logical_time": tally.count,
        "parent_id": tally.parent_id,
        "name": tally.name,
        "previous_parent_id": None,
        "previous_name": None,
        "kind": int(InodeKind.FILE),
        "user_name": user,
        "time_ms": tally.first_ms,
        "app_id": app_id or None,
    }
