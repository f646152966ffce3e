"""Crash safety: kill -9 a process in the middle of a stream of operations, then reopen the store.

The worker (support/crash_stream.py) is the only writer and announces each operation before running
it (BEGIN, with the change-log rows it must write) and after it returned (DONE). After the kill the
store must be a consistent tree whose change log replays to the live inodes; the log must hold, in
order, exactly the rows of every finished operation, then at most the rows of the one in flight (all
of them, none, or, for a subtree delete, a prefix of its DELETEs with the subtree flag still set).
A new Namespace must then work: it takes over an interrupted subtree delete once the dead worker's
lease expires, and ordinary operations run with fresh inode ids.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.changelog_replay import LoggedChange, assert_change_log_matches, live_inodes, read_changes
from support.crash_stream import BEGIN_PREFIX, DONE_PREFIX
from support.fsck import check_namespace
from support.namespace_harness import (
    SUPERUSER,
    assert_store_healthy,
    format_store,
    open_namespace,
    subtree_flags,
    subtree_operation_rows,
)
from support.worker_launcher import WorkerProcess

from namenode import schema
from namenode.engine.namespace import Namespace

WORKER_NAMENODE_ID = "crash-worker"
SUBTREE_BUDGET = 6
LEASE_MS = 500
BATCH_DELAY_MS = 3
OPERATIONS_MAX = 5000
KILL_AFTER_DONE = (40, 160)
STREAM_TIMEOUT_S = 60
OPERATION_TIMEOUT_S = 10


@dataclass(slots=True)
class StreamLog:
    """What the worker announced before it died."""

    begun: dict[int, dict[str, Any]] = field(default_factory=dict)
    done: dict[int, int | None] = field(default_factory=dict)
    stalled: bool = False  # killed because one operation ran for OPERATION_TIMEOUT_S

    def take(self, line: str) -> None:
        if line.startswith(BEGIN_PREFIX):
            planned = json.loads(line[len(BEGIN_PREFIX) :])
            self.begun[planned["index"]] = planned
        elif line.startswith(DONE_PREFIX):
            finished = json.loads(line[len(DONE_PREFIX) :])
            self.done[finished["index"]] = finished["inode"]

    def in_flight(self) -> dict[str, Any] | None:
        pending = [index for index in self.begun if index not in self.done]
        assert len(pending) <= 1, f"more than one operation in flight: {pending}"
        return self.begun[pending[0]] if pending else None


@pytest.mark.parametrize(
    ("seed", "trigger"),
    [(1, "random"), (2, "random"), (3, "subtree_delete"), (4, "subtree_delete")],
)
def test_kill_minus_nine_mid_stream(db_url: str, seed: int, trigger: str) -> None:
    format_store(db_url)
    log = run_and_kill(db_url, seed, trigger)
    assert log.stalled or len(log.done) >= KILL_AFTER_DONE[0], "the worker was killed before it got going"

    assert check_namespace(db_url, allow_subtree_flags=True) == []
    assert_change_log_matches(db_url)
    changes = read_changes(db_url)
    tail = check_finished_operations(log, changes)
    in_flight = log.in_flight()
    check_in_flight(db_url, in_flight, tail)
    # The store survived the kill; recovering would run into the same stall.
    assert not log.stalled, (
        f"the stream stalled {OPERATION_TIMEOUT_S}s in one operation: {json.dumps(in_flight)}"
    )

    namespace = open_namespace(db_url, namenode_id="recovery")
    try:
        if recover_interrupted_delete(db_url, namespace, in_flight, tail):
            assert_store_healthy(db_url)
        check_new_operations_work(db_url, namespace, {c.inode_id for c in changes})
    finally:
        namespace.close()
    # Last, so a leaked record does not hide the checks above: the taken-over delete's record must go.
    assert subtree_operation_rows(db_url) == [], "a finished subtree delete left its record behind"


def run_and_kill(url: str, seed: int, trigger: str) -> StreamLog:
    """Start the stream, kill -9 it at a seeded point, return everything it printed."""
    rng = random.Random(seed)
    kill_after_done = rng.randint(*KILL_AFTER_DONE)
    worker = WorkerProcess(
        "crash_stream",
        {
            "url": url,
            "namenode_id": WORKER_NAMENODE_ID,
            "seed": seed,
            "operations_max": OPERATIONS_MAX,
            "subtree_budget": SUBTREE_BUDGET,
            "lease_ms": LEASE_MS,
            "batch_delay_ms": BATCH_DELAY_MS,
        },
    )
    log = StreamLog()
    try:
        worker.wait_ready()
        worker.release()
        deadline = time.monotonic() + STREAM_TIMEOUT_S
        while time.monotonic() < deadline:
            if worker.lines.empty() and not wait_for_line(worker, OPERATION_TIMEOUT_S):
                log.stalled = True  # kill it anyway: the store must survive that too
                break
            line = worker.next_line()
            assert line is not None, f"the stream ended before the kill; {worker.describe()}"
            log.take(line)
            if len(log.done) >= kill_after_done and should_kill(trigger, line):
                time.sleep(rng.uniform(0, 0.01))
                break
        else:
            raise AssertionError("the kill point never came")
        worker.kill()
        while (line := worker.next_line()) is not None:
            log.take(line)
    finally:
        worker.close()
    return log


def wait_for_line(worker: WorkerProcess, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while worker.lines.empty():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def should_kill(trigger: str, line: str) -> bool:
    if trigger == "random":
        return True
    if not line.startswith(BEGIN_PREFIX):
        return False
    planned = json.loads(line[len(BEGIN_PREFIX) :])
    return planned["operation"] == "delete" and planned["expect"]["DELETE"] > SUBTREE_BUDGET * 3


def check_finished_operations(log: StreamLog, changes: list[LoggedChange]) -> list[LoggedChange]:
    """Each finished operation owns the next slice of the log; returns the rows after the last one."""
    position = 0
    for index in sorted(log.done):
        planned = log.begun[index]
        size = sum(planned["expect"].values())
        piece = changes[position : position + size]
        assert Counter(c.operation for c in piece) == Counter(planned["expect"]), (
            f"operation {index} {planned['operation']}{tuple(planned['arguments'])} logged"
            f" {Counter(c.operation for c in piece)}, expected {planned['expect']}"
        )
        acted_on = planned["inode"] if planned["inode"] is not None else log.done[index]
        assert acted_on in {c.inode_id for c in piece}, f"operation {index} did not log its inode {acted_on}"
        position += size
    return changes[position:]


def check_in_flight(url: str, in_flight: dict[str, Any] | None, tail: list[LoggedChange]) -> None:
    if in_flight is None:
        assert tail == [], f"rows logged by no announced operation: {tail[:5]}"
        return
    logged = Counter(c.operation for c in tail)
    expected = Counter(in_flight["expect"])
    if in_flight["operation"] != "delete":
        assert logged in (Counter(), expected), f"half an operation committed: {logged} of {expected}"
        return
    assert set(logged) <= {"DELETE"} and logged["DELETE"] <= expected["DELETE"], f"{logged} of {expected}"
    if logged["DELETE"] not in (0, expected["DELETE"]):
        assert subtree_flags(url), "a partly done subtree delete left no flag behind"


def recover_interrupted_delete(
    url: str, namespace: Namespace, in_flight: dict[str, Any] | None, tail: list[LoggedChange]
) -> bool:
    """Take over a subtree delete the kill interrupted; False when there was none."""
    flags = subtree_flags(url)
    operations = subtree_operation_rows(url)
    if not flags:
        assert operations == [], f"a subtree operation recorded without its flag: {operations}"
        return False
    assert in_flight is not None and in_flight["operation"] == "delete", (
        f"flags {flags} with no delete in flight"
    )
    [(root_id, owner, expiry_ms)] = flags
    assert (root_id, owner.split("#")[0]) == (in_flight["inode"], WORKER_NAMENODE_ID)
    assert [(inode_id, recorded_owner) for inode_id, _, recorded_owner in operations] == [(root_id, owner)]
    path = current_path(url, root_id)
    logged_before = len(read_changes(url))
    time.sleep(max(expiry_ms - time.time() * 1000, 0) / 1000 + 0.05)
    late = namespace.create(SUPERUSER, f"{path}/late", create_parent=False)  # the dead owner's flag expired
    assert namespace.delete(SUPERUSER, path, recursive=True) is True
    recovery = read_changes(url)[logged_before:]
    assert Counter(c.operation for c in recovery)["CREATE"] == 1
    deleted_before = sum(1 for c in tail if c.operation == "DELETE")
    deleted_now = [c.inode_id for c in recovery if c.operation == "DELETE"]
    # Between them, the dead owner and the recovery deleted the subtree it announced, plus `late`.
    assert deleted_before + len(deleted_now) == in_flight["expect"]["DELETE"] + 1
    assert root_id in deleted_now and late.inode_id in deleted_now
    assert subtree_flags(url) == []
    return True


def current_path(url: str, inode_id: int) -> str:
    live = live_inodes(url)
    names: list[str] = []
    while inode_id != schema.ROOT_INODE_ID:
        parent_id, name = live[inode_id]
        names.append(name)
        inode_id = parent_id
    return "/" + "/".join(reversed(names))


def check_new_operations_work(url: str, namespace: Namespace, logged_ids: set[int]) -> None:
    namespace.mkdirs(SUPERUSER, "/after/a/b")
    created = namespace.create(SUPERUSER, "/after/a/b/f")
    assert created.inode_id not in logged_ids, "an inode id was handed out again after the crash"
    namespace.rename(SUPERUSER, "/after/a", "/after/c")
    namespace.set_xattr(SUPERUSER, "/after/c/b/f", "user.k", b"v")
    for status in namespace.list_all(SUPERUSER, "/"):
        assert namespace.delete(SUPERUSER, status.path, recursive=True) is True
    assert namespace.list_all(SUPERUSER, "/") == []
    assert_store_healthy(url)
