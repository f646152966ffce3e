"""Run one sink: read the log from the sink's saved position, apply, commit, save the position."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from cdc.log import DurableLog
from cdc.settings import SINK_BATCH_EVENTS_MAX, SINK_COMMIT_INTERVAL_S, SUBSCRIBE_WAIT_S
from hopsfs.cdc_events import ChangeRecord
from hopsfs.errors import HopsFSError

log = logging.getLogger("hopsfs.cdc.sinks")

_RETRY_BACKOFF_S_MAX = 5.0


class Sink(Protocol):
    name: str

    def apply(self, records: Sequence[ChangeRecord]) -> None:
        """Apply events in order (idempotently: a crash may replay them)."""

    def commit(self) -> None:
        """Make everything applied durable and visible to queries."""

    def rollback(self) -> None:
        """Forget what was applied since the last commit (the runner applies it again)."""

    def close(self) -> None: ...


class SinkBehindRetention(HopsFSError):
    """Retention removed events a sink had not applied (retention must never pass a sink: a bug)."""


class SinkRunner:
    def __init__(self, sink: Sink, durable_log: DurableLog, stop: threading.Event) -> None:
        self.sink = sink
        self.log = durable_log
        self.position = durable_log.sink_position(sink.name)  # every event up to here is committed
        self.failure: BaseException | None = None
        self._stop = stop

    def run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._step()
                failures = 0
            except HopsFSError as error:
                if isinstance(error, SinkBehindRetention):
                    self.failure = error
                    self._stop.set()
                    raise
                self.sink.rollback()
                failures += 1
                delay_s = min(_RETRY_BACKOFF_S_MAX, 0.05 * 2 ** min(failures, 10))
                log.warning("sink %s failed (%s); retrying in %.2f s", self.sink.name, error, delay_s)
                self._stop.wait(delay_s)
            except BaseException as error:
                self.failure = error
                log.exception("sink %s stopped", self.sink.name)
                self._stop.set()
                return

    def _step(self) -> None:
        applied = self.position
        started_s = time.monotonic()
        while time.monotonic() - started_s < SINK_COMMIT_INTERVAL_S:
            records = self.log.read(applied + 1, SINK_BATCH_EVENTS_MAX)
            if not records:
                break
            if records[0].position != applied + 1:
                raise SinkBehindRetention(
                    f"sink {self.sink.name} needs position {applied + 1}; the log starts at "
                    f"{records[0].position}"
                )
            self.sink.apply(records)
            applied = records[-1].position
            if len(records) < SINK_BATCH_EVENTS_MAX:
                break
        if applied > self.position:
            self.sink.commit()
            self.log.set_sink_position(self.sink.name, applied)
            self.position = applied
            return
        self.log.wait_for(self.position + 1, SUBSCRIBE_WAIT_S)
