"""The capture thread: bootstrap once, then tail the change stream into the log, trim what is durably
captured, and measure lag, at its own pace.

Trimming (every TRIM_INTERVAL_S): sync the log (fsync of RocksDB's WAL), then delete the change-log
rows of events up to the synced position, in transactions of TRIM_BATCH_ROWS rows. Nothing is
deleted before the log holds its event on disk, so a crash at any point loses no change: rows not
trimmed are either captured again from the same checkpoint (the log lost the same unsynced suffix)
or already in the log. SQLite trims by range below the checkpoint sequence; the MySQL family deletes
exactly the sequences of captured events (auto-increment order is not commit order there).

Errors: a lost database connection is retried with capped backoff forever (the service outlives a
database restart); a binlog position that no longer exists is fatal (BinlogPositionLost).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from cdc.capture.binlog_source import BinlogChangeSource, BinlogPositionLost
from cdc.capture.bootstrap import bootstrap
from cdc.capture.capturer import Capturer
from cdc.capture.checkpoints import Checkpoint, decode_checkpoint
from cdc.log import DurableLog
from cdc.metadata import BinlogCoordinates, MetadataReader
from cdc.settings import (
    CAPTURE_BATCH_ROWS_MAX,
    CHECKPOINT_ONLY_INTERVAL_S,
    LAG_PROBE_INTERVAL_S,
    SQLITE_POLL_INTERVAL_MS,
    TRIM_BATCH_ROWS,
    TRIM_INTERVAL_S,
)
from hopsfs.errors import HopsFSError, StoreError
from hopsfs.invariants import check
from namenode.dal.connection import Backend

log = logging.getLogger("hopsfs.cdc.capture")

_RETRY_BACKOFF_S_MAX = 5.0


@dataclass(slots=True)
class CaptureLag:
    events: int = 0  # committed changes not captured yet (MySQL family: approximate, see docs)
    seconds: float = 0.0  # age of the oldest of them
    trimmed_rows: int = 0


class CaptureLoop:
    def __init__(self, reader: MetadataReader, durable_log: DurableLog, stop: threading.Event) -> None:
        self.reader = reader
        self.log = durable_log
        self.capturer = Capturer(durable_log)
        self.lag = CaptureLag()
        self.failure: BaseException | None = None
        self._stop = stop
        self._next_trim_s = 0.0
        self._next_probe_s = 0.0
        self.ready = threading.Event()  # set once the first start's bootstrap is done

    def run(self) -> None:
        """Thread body: capture until `stop`; a fatal error is kept in `failure` and stops the service."""
        try:
            checkpoint = self._start()
            self.ready.set()
            if self.reader.backend is Backend.SQLITE:
                self._tail_sqlite(checkpoint)
            else:
                self._tail_binlog(checkpoint)
        except BaseException as error:
            self.failure = error
            log.exception("capture stopped")
            self._stop.set()
        finally:
            self.ready.set()

    # -- start ----------------------------------------------------------------------------------

    def _start(self) -> Checkpoint:
        saved = self.log.checkpoint()
        if saved is None:
            check(self.log.last_position == 0, "a log without a checkpoint was emptied before bootstrap")
            if self.reader.backend is Backend.MYSQL:
                self._require_binlog()
            return bootstrap(self.reader, self.capturer)
        checkpoint = decode_checkpoint(saved)
        expected = "sqlite" if self.reader.backend is Backend.SQLITE else "mysql"
        if checkpoint.backend != expected:
            raise StoreError(
                f"the CDC log was captured from a {checkpoint.backend} store, not this {expected} one"
            )
        if self.reader.backend is Backend.MYSQL:
            self._require_binlog()
        return checkpoint

    def _require_binlog(self) -> None:
        settings = self.reader.binlog_settings()
        wanted = {"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL"}
        wrong = {name: settings.get(name) for name, value in wanted.items() if settings.get(name) != value}
        if wrong:
            raise StoreError(
                f"the CDC service reads the binlog and needs {wanted}; the server has {wrong} "
                "(see docs/operations.md, 'CDC on MariaDB')"
            )

    # -- SQLite ---------------------------------------------------------------------------------

    def _tail_sqlite(self, checkpoint: Checkpoint) -> None:
        sequence = checkpoint.sequence
        self.capturer.counters.last_sequence = sequence
        failures = 0
        while not self._stop.is_set():
            try:
                rows = self.reader.read_changes_after(sequence, CAPTURE_BATCH_ROWS_MAX)
                if rows:
                    sequence = rows[-1].sequence
                    saved = Checkpoint(backend="sqlite", sequence=sequence)
                    self.capturer.capture(rows, saved.encode())
                self._housekeeping()
                failures = 0
            except HopsFSError as error:
                failures += 1
                self._back_off(failures, error)
                continue
            if len(rows) < CAPTURE_BATCH_ROWS_MAX:
                self._stop.wait(SQLITE_POLL_INTERVAL_MS / 1000)

    # -- MySQL family ---------------------------------------------------------------------------

    def _tail_binlog(self, checkpoint: Checkpoint) -> None:
        self.capturer.counters.last_sequence = self._last_captured_sequence()
        failures = 0
        while not self._stop.is_set():
            # Every (re)connection resumes at the saved checkpoint: never past an unsaved commit.
            saved = decode_checkpoint(self.log.checkpoint() or checkpoint.encode())
            coordinates = BinlogCoordinates(saved.binlog_file, saved.binlog_position)
            source = BinlogChangeSource(self.reader.binlog_connection(), coordinates, self._stop)
            try:
                self._follow(source)
                failures = 0
            except BinlogPositionLost:
                raise
            except (HopsFSError, OSError) as error:
                failures += 1
                self._back_off(failures, error)
            except Exception as error:  # the driver's own errors: connection refused, lost, reset
                if type(error).__module__.split(".")[0] not in ("pymysql", "pymysqlreplication"):
                    raise
                failures += 1
                self._back_off(failures, error)

    def _follow(self, source: BinlogChangeSource) -> None:
        """Capture from one binlog connection until `stop` or an error."""
        saved_s = time.monotonic()
        for step in source.steps():
            if step.rows:
                self.capturer.capture(step.rows, _binlog_checkpoint(step.coordinates).encode())
                saved_s = time.monotonic()
            elif step.committed and time.monotonic() - saved_s > CHECKPOINT_ONLY_INTERVAL_S:
                # Others' transactions only: move on, so a restart does not read them again.
                self.capturer.save_checkpoint(_binlog_checkpoint(step.coordinates).encode())
                saved_s = time.monotonic()
            self._housekeeping()
            if self._stop.is_set():
                return

    def _last_captured_sequence(self) -> int:
        records = self.log.read(self.log.last_position, 1) if self.log.last_position else []
        return records[0].sequence if records else 0

    # -- trimming and lag -----------------------------------------------------------------------

    def _housekeeping(self) -> None:
        now_s = time.monotonic()
        if now_s >= self._next_trim_s:
            self._next_trim_s = now_s + TRIM_INTERVAL_S
            self.trim()
        if now_s >= self._next_probe_s:
            self._next_probe_s = now_s + LAG_PROBE_INTERVAL_S
            self._probe_lag()

    def trim(self) -> int:
        """Delete the change-log rows of every durably captured event; returns rows deleted."""
        synced = self.log.sync()
        trimmed = self.log.trimmed_position()
        if synced <= trimmed:
            return 0
        if self.reader.backend is Backend.SQLITE:
            saved = self.log.checkpoint()
            check(saved is not None, "a log with events has a checkpoint")
            assert saved is not None
            removed = self.reader.trim_changes_below(decode_checkpoint(saved).sequence, TRIM_BATCH_ROWS)
        else:
            removed = self._delete_captured_rows(trimmed, synced)
        self.log.set_trimmed_position(synced)
        self.lag.trimmed_rows += removed
        return removed

    def _delete_captured_rows(self, trimmed: int, synced: int) -> int:
        removed = 0
        position = max(trimmed + 1, self.log.first_position)
        while position <= synced:
            records = self.log.read(position, min(TRIM_BATCH_ROWS, synced - position + 1))
            if not records:
                break
            sequences = [record.sequence for record in records if record.sequence > 0]
            removed += self.reader.delete_changes(sequences)
            position = records[-1].position + 1
        return removed

    def _probe_lag(self) -> None:
        count, oldest_ms = self.reader.lag(self.capturer.counters.last_sequence)
        self.lag.events = count
        self.lag.seconds = 0.0 if oldest_ms is None else max(0.0, time.time() - oldest_ms / 1000)

    def _back_off(self, failures: int, error: BaseException) -> None:
        delay_s = min(_RETRY_BACKOFF_S_MAX, 0.05 * 2 ** min(failures, 10))
        log.warning("capture failed (%s: %s); retrying in %.2f s", type(error).__name__, error, delay_s)
        self._stop.wait(delay_s)


def _binlog_checkpoint(coordinates: BinlogCoordinates) -> Checkpoint:
    return Checkpoint(backend="mysql", binlog_file=coordinates.file, binlog_position=coordinates.position)
