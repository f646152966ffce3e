"""A client process: opens the target, runs its share of a workload phase by phase, reports tallies.

Spawned by `pool.ClientPool`; one task (one configuration) at a time, driven over a pipe:

    coordinator -> client            client -> coordinator
    ("task", ClientTask)             ("ready", None)        after setup and warm-up
    ("phase", (name, start_at_s))    ("outcome", PhaseOutcome)
    ("finish", teardown_shared)      ("done", None)
    ("quit", None)
    any failure of the task          ("error", traceback text), then the client waits for a new task

`start_at_s` is a `time.monotonic()` instant, one clock for every process on Linux: all clients
sleep until it, so they start a phase together. `run_steps` is the timed loop: it times only a
step's `run`, then calls its `done` (checks, model updates) outside the timing.
"""

from __future__ import annotations

import contextlib
import random
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.harness.errors import HarnessError, UnsupportedOperation
from bench.harness.results import OperationTally, PhaseOutcome
from bench.harness.targets import TargetSpec, open_target
from bench.harness.workloads import WORKLOADS, ClientContext, Step, Workload, WorkloadSettings
from hopsfs.invariants import check

TASK = "task"
PHASE = "phase"
FINISH = "finish"
QUIT = "quit"
READY = "ready"
OUTCOME = "outcome"
DONE = "done"
ERROR = "error"
COMMAND_TIMEOUT_S = 3600.0  # a client waiting longer for its next command assumes the coordinator is gone


@dataclass(frozen=True, slots=True)
class ClientTask:
    target: TargetSpec
    workload: str
    settings: WorkloadSettings
    root: str  # the configuration's directory on the target
    client: int
    clients: int
    creates_shared: bool = False  # client 0 of a shared namespace builds it first

    def seed(self) -> str:
        """Each client's generator seed: distinct per client, workload and client count, reproducible."""
        return f"{self.settings.seed}/{self.workload}/{self.clients}/{self.client}"


def client_main(pipe: Connection) -> None:
    """Serve tasks until told to quit or the coordinator goes away."""
    while True:
        try:
            kind, payload = pipe.recv()
        except (EOFError, OSError):
            return
        if kind == QUIT:
            return
        try:
            check(kind == TASK, f"an idle client expects a task, not {kind!r}")
            _serve(pipe, payload)
        except Exception as error:
            with contextlib.suppress(OSError):
                pipe.send((ERROR, "".join(traceback.format_exception(error))))


def run_steps(
    steps: Iterator[Step], tallies: dict[str, OperationTally], deadline_ns: int | None, steps_max: int | None
) -> bool:
    """Run steps until they end, `steps_max` were run, or the deadline passed; True if the deadline
    ended them. Each step's latency is its `run` alone."""
    clock = time.monotonic_ns
    for count, step in enumerate(steps, start=1):
        tally = tallies.get(step.operation)
        if tally is None:
            tally = tallies[step.operation] = OperationTally(step.operation)
        _run_one(step, tally, clock)
        if steps_max is not None and count >= steps_max:
            return False
        if deadline_ns is not None and clock() >= deadline_ns:
            return True
    return False


def _run_one(step: Step, tally: OperationTally, clock: Callable[[], int]) -> None:
    if step.run is None:
        tally.skipped += 1
        return
    started = clock()
    try:
        result = step.run()
    except UnsupportedOperation as error:
        tally.record_unsupported(error.reason)
        return
    except Exception as error:
        tally.record_error(error)
        return
    elapsed = clock() - started
    if step.done is not None:
        try:
            step.done(result)
        except Exception as error:
            tally.record_error(error)
            return
    tally.histogram.record(elapsed)
    tally.payload_bytes += step.payload_bytes
    step.succeeded = True


def _serve(pipe: Connection, task: ClientTask) -> None:
    check(task.workload in WORKLOADS, f"unknown workload {task.workload!r}")
    target = open_target(task.target)
    try:
        context = ClientContext(
            target, task.root, task.client, task.clients, task.settings, random.Random(task.seed())
        )
        workload = WORKLOADS[task.workload](context)
        if task.creates_shared:
            workload.setup_shared()
        workload.setup()
        _warm_up(workload)
        pipe.send((READY, None))
        while True:
            kind, payload = _next_command(pipe)
            if kind == PHASE:
                check(isinstance(payload, tuple) and len(payload) == 2, "a phase command is (name, start)")
                name, start_at_s = payload
                pipe.send((OUTCOME, run_phase(workload, str(name), float(start_at_s))))
            elif kind == FINISH:
                workload.teardown()
                if payload:
                    workload.teardown_shared()
                pipe.send((DONE, None))
                return
            else:
                raise HarnessError(f"a client in a task expects a phase or finish, not {kind!r}")
    finally:
        target.close()


def _warm_up(workload: Workload) -> None:
    tallies: dict[str, OperationTally] = {}
    run_steps(workload.warm_up(), tallies, None, None)
    failed = [tally for tally in tallies.values() if tally.errors]
    if failed:
        raise HarnessError(f"warm-up calls failed: {failed[0].operation}: {failed[0].error_samples[0]}")


def run_phase(workload: Workload, phase: str, start_at_s: float) -> PhaseOutcome:
    """One phase of this client: timed phases end by duration or op count, others run to completion
    (cut at the phase timeout, and marked truncated)."""
    settings = workload.settings
    timed = phase in workload.timed_phases
    start_ns = int(start_at_s * 1e9)
    limit_s = settings.duration_s if timed else settings.phase_timeout_s
    time.sleep(max(0.0, start_at_s - time.monotonic()))
    tallies: dict[str, OperationTally] = {}
    hit_deadline = run_steps(
        workload.steps(phase),
        tallies,
        start_ns + int(limit_s * 1e9),
        settings.ops_per_client if timed else None,
    )
    return PhaseOutcome(phase, tallies, time.monotonic_ns(), truncated=hit_deadline and not timed)


def _next_command(pipe: Connection) -> tuple[str, Any]:
    if not pipe.poll(COMMAND_TIMEOUT_S):
        raise HarnessError(f"no command from the coordinator in {COMMAND_TIMEOUT_S:.0f} s")
    kind, payload = pipe.recv()
    return kind, payload
