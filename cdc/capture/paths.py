"""Paths at commit time: a map of every live directory, id -> (parent id, name), kept in step with
the events capture appends.

Capture resolves each event's path when it appends the event, in commit order, so the path is the
one the inode had when its transaction committed, whatever renames followed. A rename of a directory
changes one entry here, and every descendant resolves through it from then on: a whole subtree moves
in one step. Only directories are kept (a file's path is its parent's path plus the name the event
carries). The map lives in the durable log's key space (cdc/log.py), written in the same batch as
the events; `staged` holds this batch's changes until then. Bounded: an in-memory cache of at most
DIRECTORY_CACHE_ENTRIES_MAX entries over the log; walks stop at PATH_DEPTH_MAX.
"""

from __future__ import annotations

from cdc.log import DurableLog
from cdc.settings import DIRECTORY_CACHE_ENTRIES_MAX, PATH_DEPTH_MAX
from hopsfs.invariants import check
from namenode.schema import ROOT_INODE_ID

UNKNOWN_PATH = ""


class DirectoryMap:
    def __init__(self, log: DurableLog, cache_entries_max: int = DIRECTORY_CACHE_ENTRIES_MAX) -> None:
        check(cache_entries_max > 0, "the directory cache holds something")
        self._log = log
        self._cache: dict[int, tuple[int, str] | None] = {}
        self._cache_entries_max = cache_entries_max
        self.staged: dict[int, tuple[int, str] | None] = {}
        self.unresolved = 0  # walks that met an unknown directory (a bug or a lost event)

    def put(self, inode_id: int, parent_id: int, name: str) -> None:
        check(inode_id != parent_id, "a directory is not its own parent")
        self.staged[inode_id] = (parent_id, name)

    def remove(self, inode_id: int) -> None:
        self.staged[inode_id] = None

    def take_staged(self) -> dict[int, tuple[int, str] | None]:
        """This batch's changes, for the log's write batch; they move into the cache."""
        staged, self.staged = self.staged, {}
        if len(self._cache) + len(staged) > self._cache_entries_max:
            self._cache.clear()
        self._cache.update(staged)
        return staged

    def discard_staged(self) -> None:
        self.staged = {}

    def resolve(self, directory_id: int) -> tuple[str, tuple[int, ...]]:
        """The directory's path and the ids from the root down to it (inclusive); UNKNOWN_PATH and
        the ids found so far when an ancestor is not in the map."""
        names: list[str] = []
        ids: list[int] = []
        current = directory_id
        for _ in range(PATH_DEPTH_MAX + 1):
            if current == ROOT_INODE_ID:
                ids.append(ROOT_INODE_ID)
                ids.reverse()
                names.reverse()
                return "/" + "/".join(names), tuple(ids)
            entry = self._entry(current)
            if entry is None:
                self.unresolved += 1
                ids.reverse()
                return UNKNOWN_PATH, tuple(ids)
            ids.append(current)
            names.append(entry[1])
            current = entry[0]
        check(False, f"directory {directory_id} is more than {PATH_DEPTH_MAX} levels deep: a cycle")
        return UNKNOWN_PATH, ()

    def child_path(self, parent_id: int, name: str) -> tuple[str, tuple[int, ...]]:
        """Path of `name` inside directory `parent_id`, and its ancestors' ids (root to parent)."""
        parent_path, ancestor_ids = self.resolve(parent_id)
        if parent_path == UNKNOWN_PATH:
            return UNKNOWN_PATH, ancestor_ids
        return join_path(parent_path, name), ancestor_ids

    def _entry(self, inode_id: int) -> tuple[int, str] | None:
        if inode_id in self.staged:
            return self.staged[inode_id]
        if inode_id in self._cache:
            return self._cache[inode_id]
        entry = self._log.directory(inode_id)
        if len(self._cache) >= self._cache_entries_max:
            self._cache.clear()
        self._cache[inode_id] = entry
        return entry


def join_path(parent_path: str, name: str) -> str:
    return "/" + name if parent_path == "/" else f"{parent_path}/{name}"
