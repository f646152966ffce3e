"""The inode hint cache (HopsFS): (parent id, name) -> inode id, so a path's primary keys are known
without reading it level by level.

Entries are hints, never truths: the resolver checks every hinted id against the row it reads and
repairs a stale entry. Bounded to `capacity` entries; the least recently written is evicted first.
Reads take no lock (a dict lookup is atomic under the GIL) because they sit on every operation's
path; a hint read often but never rewritten may be evicted and is then simply read again.
"""

from __future__ import annotations

from threading import Lock

from hopsfs.invariants import check


class HintCache:
    def __init__(self, capacity: int) -> None:
        check(capacity > 0, "hint cache capacity must be positive")
        self._capacity = capacity
        self._entries: dict[tuple[int, str], int] = {}
        self._lock = Lock()
        self.repairs = 0

    def get(self, parent_id: int, name: str) -> int | None:
        return self._entries.get((parent_id, name))

    def chain(self, root_id: int, components: tuple[str, ...]) -> list[int]:
        """Hinted ids of the longest prefix of `components` the cache knows, walking down from the root."""
        entries = self._entries
        found: list[int] = []
        parent_id = root_id
        for name in components:
            hint = entries.get((parent_id, name))
            if hint is None:
                break
            found.append(hint)
            parent_id = hint
        return found

    def put(self, parent_id: int, name: str, inode_id: int) -> None:
        key = (parent_id, name)
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = inode_id
            if len(self._entries) > self._capacity:
                del self._entries[next(iter(self._entries))]

    def forget(self, parent_id: int, name: str) -> None:
        with self._lock:
            self._entries.pop((parent_id, name), None)

    def repaired(self, parent_id: int, name: str, inode_id: int | None) -> None:
        """Record that a hint was stale and what the store holds now (None: nothing)."""
        with self._lock:
            self.repairs += 1
        if inode_id is None:
            self.forget(parent_id, name)
        else:
            self.put(parent_id, name, inode_id)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
