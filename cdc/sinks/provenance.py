"""Provenance sink: who (user, application) created, changed, read and deleted which file, and which
files were derived from which.

Stored in the CDC service's own SQLite file (not the metadata store; it is this service's state, and
its queries are relational). Every statement is idempotent, so replaying a batch after a crash
changes nothing (events are keyed by position; aggregates only take a min or max):

- `file_events`: one row per event (position), with the path at commit time.
- `app_reads` (app, inode) -> first read time; `app_writes` (app, inode) -> last write time.
- `lineage` (source, target, app): the application read `source` before it last wrote `target`
  ("derived from"). Reads arrive aggregated, seconds after they happened (READ rows carry the time of
  the first read in the namenode's window), so a write may be captured before the read it follows:
  each side joins with the other when it arrives, by time, not by position.

Reads and writes without an application id count for provenance but never for lineage (one user's
unrelated jobs are not one process).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cdc.settings import LINEAGE_EDGES_MAX
from hopsfs.cdc_events import READ_OPERATION, ChangeRecord
from hopsfs.invariants import check
from hopsfs.types import InodeKind

# Operations that write a file's data: its content after them may derive from what the app read.
WRITE_OPERATIONS = frozenset({"CREATE", "CLOSE", "APPEND", "TRUNCATE", "CONCAT"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_events (
    position INTEGER PRIMARY KEY,
    inode_id INTEGER NOT NULL,
    operation TEXT NOT NULL,
    path TEXT NOT NULL,
    previous_path TEXT NOT NULL,
    user_name TEXT NOT NULL,
    app_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    read_count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_file_events_inode ON file_events (inode_id, position);
CREATE INDEX IF NOT EXISTS ix_file_events_path ON file_events (path, position);
CREATE TABLE IF NOT EXISTS app_reads (
    app_id TEXT NOT NULL, inode_id INTEGER NOT NULL, first_ms INTEGER NOT NULL,
    PRIMARY KEY (app_id, inode_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS app_writes (
    app_id TEXT NOT NULL, inode_id INTEGER NOT NULL, last_ms INTEGER NOT NULL,
    PRIMARY KEY (app_id, inode_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lineage (
    source_id INTEGER NOT NULL, target_id INTEGER NOT NULL, app_id TEXT NOT NULL, time_ms INTEGER NOT NULL,
    PRIMARY KEY (source_id, target_id, app_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_lineage_target ON lineage (target_id, source_id);
"""

_INSERT_EVENT = (
    "INSERT OR IGNORE INTO file_events (position, inode_id, operation, path, previous_path, user_name, "
    "app_id, time_ms, read_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_READ = (
    "INSERT INTO app_reads (app_id, inode_id, first_ms) VALUES (?, ?, ?) "
    "ON CONFLICT (app_id, inode_id) DO UPDATE SET first_ms = min(first_ms, excluded.first_ms)"
)
_UPSERT_WRITE = (
    "INSERT INTO app_writes (app_id, inode_id, last_ms) VALUES (?, ?, ?) "
    "ON CONFLICT (app_id, inode_id) DO UPDATE SET last_ms = max(last_ms, excluded.last_ms)"
)
# A write of `target` at time t by app: every file the app first read at or before t is a source.
_LINK_AFTER_WRITE = (
    "INSERT OR IGNORE INTO lineage (source_id, target_id, app_id, time_ms) "
    "SELECT inode_id, :target, :app, :time FROM app_reads "
    "WHERE app_id = :app AND first_ms <= :time AND inode_id != :target"
)
# A read of `source` first at time t by app: every file the app last wrote at or after t is a target.
_LINK_AFTER_READ = (
    "INSERT OR IGNORE INTO lineage (source_id, target_id, app_id, time_ms) "
    "SELECT :source, inode_id, :app, last_ms FROM app_writes "
    "WHERE app_id = :app AND last_ms >= :time AND inode_id != :source"
)


@dataclass(frozen=True, slots=True)
class ProvenanceRecord:
    position: int
    inode_id: int
    operation: str
    path: str
    user: str
    app_id: str
    time_ms: int
    read_count: int


@dataclass(frozen=True, slots=True)
class LineageEdge:
    source_id: int
    target_id: int
    app_id: str
    time_ms: int
    depth: int


class ProvenanceSink:
    name = "provenance"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, used by the sink thread and by queries under a lock (queries are short).
        self._connection = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.executescript(_SCHEMA)
        self._in_transaction = False

    # -- the sink -------------------------------------------------------------------------------

    def apply(self, records: Sequence[ChangeRecord]) -> None:
        with self._lock:
            if not self._in_transaction:
                self._connection.execute("BEGIN")
                self._in_transaction = True
            cursor = self._connection.cursor()
            cursor.executemany(_INSERT_EVENT, [_event_row(record) for record in records])
            for record in records:
                if record.app_id:
                    self._link(cursor, record)

    def commit(self) -> None:
        with self._lock:
            if self._in_transaction:
                self._connection.execute("COMMIT")
                self._in_transaction = False

    def rollback(self) -> None:
        with self._lock:
            if self._in_transaction:
                self._connection.execute("ROLLBACK")
                self._in_transaction = False

    def close(self) -> None:
        self.rollback()
        self._connection.close()

    # -- queries --------------------------------------------------------------------------------

    def history(self, inode_id: int, limit: int) -> list[ProvenanceRecord]:
        """The inode's events, newest first."""
        check(limit > 0, "a history asks for at least one record")
        statement = (
            "SELECT position, inode_id, operation, path, user_name, app_id, time_ms, read_count "
            "FROM file_events WHERE inode_id = ? ORDER BY position DESC LIMIT ?"
        )
        with self._lock:
            rows = self._connection.execute(statement, (inode_id, limit)).fetchall()
        return [ProvenanceRecord(*row) for row in rows]

    def last_inode_at(self, path: str) -> int | None:
        """The inode that most recently had `path` in an event (finds deleted files too)."""
        statement = "SELECT inode_id FROM file_events WHERE path = ? ORDER BY position DESC LIMIT 1"
        with self._lock:
            row = self._connection.execute(statement, (path,)).fetchone()
        return None if row is None else int(row[0])

    def last_path_of(self, inode_id: int) -> str | None:
        statement = "SELECT path FROM file_events WHERE inode_id = ? ORDER BY position DESC LIMIT 1"
        with self._lock:
            row = self._connection.execute(statement, (inode_id,)).fetchone()
        return None if row is None else str(row[0])

    def lineage(self, inode_id: int, upstream: bool, depth_max: int) -> list[LineageEdge]:
        """Edges reachable from the inode (upstream: what it derives from), breadth first, bounded."""
        check(depth_max > 0, "lineage follows at least one hop")
        statement = (
            "SELECT source_id, target_id, app_id, time_ms FROM lineage WHERE target_id = ?"
            if upstream
            else "SELECT source_id, target_id, app_id, time_ms FROM lineage WHERE source_id = ?"
        )
        edges: list[LineageEdge] = []
        seen = {inode_id}
        frontier = [inode_id]
        with self._lock:
            for depth in range(1, depth_max + 1):
                next_frontier: list[int] = []
                for current in frontier:
                    for source_id, target_id, app_id, time_ms in self._connection.execute(
                        statement, (current,)
                    ):
                        edges.append(LineageEdge(source_id, target_id, app_id, time_ms, depth))
                        other = source_id if upstream else target_id
                        if other not in seen:
                            seen.add(other)
                            next_frontier.append(other)
                        if len(edges) >= LINEAGE_EDGES_MAX:
                            return edges
                frontier = next_frontier
                if not frontier:
                    break
        return edges

    # -- internals ------------------------------------------------------------------------------

    def _link(self, cursor: sqlite3.Cursor, record: ChangeRecord) -> None:
        if record.operation == READ_OPERATION:
            cursor.execute(_UPSERT_READ, (record.app_id, record.inode_id, record.time_ms))
            parameters = {"source": record.inode_id, "app": record.app_id, "time": record.time_ms}
            cursor.execute(_LINK_AFTER_READ, parameters)
        elif record.operation in WRITE_OPERATIONS and record.kind == InodeKind.FILE:
            cursor.execute(_UPSERT_WRITE, (record.app_id, record.inode_id, record.time_ms))
            parameters = {"target": record.inode_id, "app": record.app_id, "time": record.time_ms}
            cursor.execute(_LINK_AFTER_WRITE, parameters)


def _event_row(record: ChangeRecord) -> tuple[object, ...]:
    return (
        record.position,
        record.inode_id,
        record.operation,
        record.path,
        record.previous_path,
        record.user,
        record.app_id,
        record.time_ms,
        record.read_count,
    )
