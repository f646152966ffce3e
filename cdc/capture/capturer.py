"""Turn change-log rows, in commit order, into events appended to the durable log.

For each row: give it the next position, resolve its path (and a rename's previous path) through the
directory map as of that commit, keep the directory map in step, and check the inode's logical time
(ePipe's per-inode clock). The namenode bumps an inode's clock by exactly one per logged change
(namenode/engine/txn.py `log_change`), so each inode's events must carry 1, 2, 3, ...: a smaller or
equal value is a regression (order broken), a jump is a gap (a change missed). Both are counted and
logged, never hidden; the events are delivered as they are (at-least-once, nothing dropped).

READ rows (namenode/engine/read_provenance.py) are not changes: their logical_time column carries
the number of reads aggregated, which becomes the event's read_count; they leave the clock alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cdc.capture.paths import UNKNOWN_PATH, DirectoryMap
from cdc.log import AppendBatch, DurableLog
from cdc.metadata import ChangeRow, InodeEntry
from hopsfs.cdc_events import (
    DELETE_OPERATION,
    READ_OPERATION,
    RENAME_OPERATION,
    SNAPSHOT_OPERATION,
    ChangeRecord,
)
from hopsfs.invariants import check
from hopsfs.types import InodeKind

log = logging.getLogger("hopsfs.cdc.capture")


@dataclass(slots=True)
class CaptureCounters:
    events: int = 0
    batches: int = 0
    logical_time_regressions: int = 0
    logical_time_gaps: int = 0
    last_sequence: int = 0  # the highest change-log sequence captured (lag probes count past it)


class Capturer:
    def __init__(self, durable_log: DurableLog, clock_ms: Callable[[], int] | None = None) -> None:
        self.log = durable_log
        self.directories = DirectoryMap(durable_log)
        self.counters = CaptureCounters()
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._clocks: dict[int, int | None] = {}

    @property
    def unresolved_paths(self) -> int:
        return self.directories.unresolved

    def capture(self, rows: Sequence[ChangeRow], checkpoint: bytes | None) -> list[ChangeRecord]:
        """Append `rows` (commit order) as events, with the checkpoint that follows them, atomically."""
        records = [self._record(row, self.log.last_position + 1 + index) for index, row in enumerate(rows)]
        self._append(records, checkpoint)
        if rows:
            self.counters.last_sequence = max(self.counters.last_sequence, max(row.sequence for row in rows))
        return records

    def capture_snapshot(self, inodes: Sequence[InodeEntry], checkpoint: bytes) -> int:
        """First start without a usable history: one SNAPSHOT event per existing inode but the root."""
        entries = [entry for entry in inodes if entry.inode_id != entry.parent_id and entry.parent_id != 0]
        for entry in entries:
            if entry.kind == InodeKind.DIRECTORY:
                self.directories.put(entry.inode_id, entry.parent_id, entry.name)
        records: list[ChangeRecord] = []
        now_ms = self._clock_ms()
        for entry in entries:
            path, ancestor_ids = self.directories.child_path(entry.parent_id, entry.name)
            self._clocks[entry.inode_id] = entry.logical_time
            position = self.log.last_position + 1 + len(records)
            records.append(
                ChangeRecord(
                    position=position,
                    operation=SNAPSHOT_OPERATION,
                    inode_id=entry.inode_id,
                    logical_time=entry.logical_time,
                    parent_id=entry.parent_id,
                    name=entry.name,
                    kind=entry.kind,
                    user="",
                    time_ms=now_ms,
                    path=path,
                    captured_ms=now_ms,
                    ancestor_ids=ancestor_ids,
                )
            )
        self._append(records, checkpoint)
        return len(records)

    def save_checkpoint(self, checkpoint: bytes) -> None:
        """Move the checkpoint past changes that were not ours (other databases in one binlog)."""
        self._append([], checkpoint)

    # -- internals ------------------------------------------------------------------------------

    def _append(self, records: list[ChangeRecord], checkpoint: bytes | None) -> None:
        batch = AppendBatch(records=records, checkpoint=checkpoint)
        batch.directories = self.directories.take_staged()
        batch.clocks, self._clocks = self._clocks, {}
        self.log.append(batch)
        self.counters.events += len(records)
        self.counters.batches += 1

    def _record(self, row: ChangeRow, position: int) -> ChangeRecord:
        path, ancestor_ids = self.directories.child_path(row.parent_id, row.name)
        previous_path = ""
        if row.operation == RENAME_OPERATION and row.previous_parent_id is not None:
            previous_path, _ = self.directories.child_path(row.previous_parent_id, row.previous_name or "")
        if path == UNKNOWN_PATH:
            log.error("no path for inode %d (%s, sequence %d)", row.inode_id, row.operation, row.sequence)
        self._follow_directories(row)
        is_read = row.operation == READ_OPERATION
        if not is_read:
            self._check_clock(row)
        return ChangeRecord(
            position=position,
            operation=row.operation,
            inode_id=row.inode_id,
            logical_time=0 if is_read else row.logical_time,
            parent_id=row.parent_id,
            name=row.name,
            kind=row.kind,
            user=row.user_name,
            time_ms=row.time_ms,
            path=path,
            sequence=row.sequence,
            app_id=row.app_id or "",
            previous_parent_id=row.previous_parent_id,
            previous_name=row.previous_name,
            previous_path=previous_path,
            read_count=row.logical_time if is_read else 0,
            captured_ms=self._clock_ms(),
            ancestor_ids=ancestor_ids,
        )

    def _follow_directories(self, row: ChangeRow) -> None:
        if row.kind != InodeKind.DIRECTORY or row.operation == READ_OPERATION:
            return
        if row.operation == DELETE_OPERATION:
            self.directories.remove(row.inode_id)
        else:
            # Creation, rename, or any change: the entry is where the row says the inode is now.
            self.directories.put(row.inode_id, row.parent_id, row.name)

    def _check_clock(self, row: ChangeRow) -> None:
        check(row.logical_time >= 0, "logical times are not negative")
        if row.inode_id in self._clocks:
            last = self._clocks[row.inode_id]
        else:
            last = self.log.logical_time(row.inode_id)
        if last is not None and row.logical_time <= last:
            self.counters.logical_time_regressions += 1
            log.error(
                "logical time of inode %d went from %d to %d (%s, sequence %d): order broken",
                row.inode_id,
                last,
                row.logical_time,
                row.operation,
                row.sequence,
            )
        elif last is not None and row.logical_time > last + 1:
            self.counters.logical_time_gaps += 1
            log.error(
                "logical time of inode %d jumped from %d to %d (%s, sequence %d): changes missing",
                row.inode_id,
                last,
                row.logical_time,
                row.operation,
                row.sequence,
            )
        keep = row.operation != DELETE_OPERATION
        self._clocks[row.inode_id] = max(row.logical_time, last or 0) if keep else None
