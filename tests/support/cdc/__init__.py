"""CDC test helpers: a real `hopsfs cdc` process, collecting a subscription, checking a stream.

`check_stream(events, url)` is the oracle of the capture tests: every committed change is in the
stream exactly once (each inode's logical times are 1, 2, 3, ... without a repeat or a hole, and the
last one is the inode's logical time in the store), in per-inode order, with positions dense; and
replaying it gives exactly the live inodes (tests/support/changelog_replay.py's replay).
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import create_engine, text

import hopsfs.cdc
from hopsfs.announce import CDC_METRICS, CDC_READY, last_match
from hopsfs.cdc_events import READ_OPERATION, SNAPSHOT_OPERATION, ChangeRecord
from hopsfs.cli.cluster import ManagedProcess
from support.changelog_replay import LoggedChange, live_inodes, replay
from support.worker_launcher import worker_environment

START_TIMEOUT_S = 60.0
OUTPUT_LINES_MAX = 100_000


class CdcProcess:
    """`python -m hopsfs.cli.main cdc` on 127.0.0.1, port 0 (or a given port), with /metrics."""

    def __init__(self, managed: ManagedProcess, host: str, port: int) -> None:
        self.managed = managed
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"grpc://{self.host}:{self.port}"

    @property
    def metrics_url(self) -> str:
        match = last_match(CDC_METRICS, self.managed.output_lines)
        assert match is not None, "the service announced no /metrics URL"
        return match.group(1)

    @classmethod
    def start(
        cls, metadata_url: str, state_dir: Path, *, port: int = 0, extra_arguments: tuple[str, ...] = ()
    ) -> CdcProcess:
        command = [sys.executable, "-m", "hopsfs.cli.main", "cdc", "--metadata-url", metadata_url]
        command += ["--state-dir", str(state_dir), "--port", str(port), "--metrics-port", "0"]
        command += list(extra_arguments)
        managed = ManagedProcess(
            "cdc", command, environment=worker_environment(), output_lines_max=OUTPUT_LINES_MAX
        )
        match = managed.start(CDC_READY, START_TIMEOUT_S)
        return cls(managed, match.group(1), int(match.group(2)))

    def stop(self) -> int | None:
        return self.managed.stop()

    def kill(self) -> None:
        self.managed.kill()

    def output(self) -> str:
        return "\n".join(self.managed.output_lines)


def wait_for_log(url: str, position: int, timeout_s: float = 30.0) -> hopsfs.cdc.CdcStatus:
    """Poll the service until its log and both sinks reach `position`."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = hopsfs.cdc.status(url)
        caught_up = status.last_position >= position and all(
            sink >= position for sink in status.sink_positions.values()
        )
        if caught_up or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def collect_until(
    subscription: Iterable[ChangeRecord], last: Callable[[ChangeRecord], bool], timeout_s: float = 60.0
) -> list[ChangeRecord]:
    """Events up to and including the first one `last` accepts. A test commits a sentinel change
    after its writers are done: in commit order, every earlier change comes before it."""
    found: list[ChangeRecord] = []
    deadline = time.monotonic() + timeout_s
    for event in subscription:
        found.append(event)
        if last(event):
            return found
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"the sentinel did not arrive within {timeout_s} s ({len(found)} events)")


def collect(subscription: Iterable[ChangeRecord], count: int, timeout_s: float = 30.0) -> list[ChangeRecord]:
    """The first `count` events of a subscription (fewer if it stalls past `timeout_s`)."""
    found: list[ChangeRecord] = []
    deadline = time.monotonic() + timeout_s
    for event in subscription:
        found.append(event)
        if len(found) >= count or time.monotonic() > deadline:
            break
    return found


def live_logical_times(metadata_url: str) -> dict[int, int]:
    engine = create_engine(metadata_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT id, logical_time FROM inodes WHERE id <> 1")).all()
    finally:
        engine.dispose()
    return {int(row.id): int(row.logical_time) for row in rows}


def check_stream(events: list[ChangeRecord], metadata_url: str) -> list[str]:
    """Problems with `events` (a whole log from position 1) against the store; empty when it is exact."""
    problems: list[str] = []
    for index, event in enumerate(events):
        if event.position != index + 1:
            problems.append(f"event {index + 1} has position {event.position}: positions not dense")
            break
    times: dict[int, list[int]] = defaultdict(list)
    for event in events:
        if event.operation not in (READ_OPERATION, SNAPSHOT_OPERATION):
            times[event.inode_id].append(event.logical_time)
    for inode_id, seen in times.items():
        if seen != list(range(1, len(seen) + 1)):
            problems.append(
                f"inode {inode_id}: logical times {seen[:20]} are not 1, 2, 3, ... in stream order"
            )
    for inode_id, logical_time in live_logical_times(metadata_url).items():
        if (times[inode_id] or [0])[-1] != logical_time:
            problems.append(
                f"inode {inode_id}: store at logical time {logical_time}, stream {times[inode_id][-3:]}"
            )
    alive, replay_problems = replay(
        [
            LoggedChange(
                event.position,
                event.operation,
                event.inode_id,
                event.logical_time,
                event.parent_id,
                event.name,
                event.previous_parent_id,
                event.previous_name,
            )
            for event in events
            if event.operation != READ_OPERATION
        ]
    )
    problems.extend(replay_problems)
    if alive != live_inodes(metadata_url):
        problems.append("replaying the stream does not give the live inodes")
    return problems
