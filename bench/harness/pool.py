"""The coordinator's side of the client processes: spawn them once, hand each configuration's tasks
out, start every phase at one instant, collect the outcomes.

Clients are processes (spawn: no inherited sockets, event loops or database handles), not threads:
each has its own interpreter, as each hammer-bench or mdtest client has its own JVM or rank. A
configuration with k clients uses the first k processes. A shared namespace is built by client 0
before the others get their tasks, and torn down by it after they are done.

Any client failure raises HarnessError carrying the client's traceback; the pool is then in an
unknown state and must be closed (the runner starts a new one for the next configuration).

Bounds: READY_TIMEOUT_S for setup and warm-up, the phase's own limit plus RESULT_GRACE_S for an
outcome, FINISH_TIMEOUT_S for teardown; at most PROCESSES_MAX clients.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any

from bench.harness.errors import HarnessError
from bench.harness.results import PhaseOutcome
from bench.harness.worker import (
    DONE,
    ERROR,
    FINISH,
    OUTCOME,
    PHASE,
    QUIT,
    READY,
    TASK,
    ClientTask,
    client_main,
)
from hopsfs.invariants import check

PROCESSES_MAX = 64
READY_TIMEOUT_S = 600.0
RESULT_GRACE_S = 120.0
FINISH_TIMEOUT_S = 600.0
START_DELAY_S = 0.05  # from sending "phase" to its start: every client is asleep and waiting by then
JOIN_TIMEOUT_S = 10.0


class ClientPool:
    """`processes` spawned client processes; a context manager that ends them."""

    def __init__(self, processes: int) -> None:
        check(1 <= processes <= PROCESSES_MAX, "between 1 and PROCESSES_MAX client processes")
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._processes: list[Any] = []
        for index in range(processes):
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(
                target=client_main, args=(theirs,), name=f"bench-client-{index}", daemon=True
            )
            process.start()
            theirs.close()
            self._pipes.append(ours)
            self._processes.append(process)

    def __enter__(self) -> ClientPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        return len(self._processes)

    def prepare(self, tasks: list[ClientTask]) -> None:
        """Hand task i to client i; returns once every client has set up and warmed up."""
        check(0 < len(tasks) <= self.size, "one task per client process at most")
        check([task.client for task in tasks] == list(range(len(tasks))), "task i is client i's")
        first = 1 if tasks[0].creates_shared else 0
        if first:
            self._send(0, TASK, tasks[0])
            self._expect(0, READY, READY_TIMEOUT_S)
        for index in range(first, len(tasks)):
            self._send(index, TASK, tasks[index])
        for index in range(first, len(tasks)):
            self._expect(index, READY, READY_TIMEOUT_S)

    def run_phase(self, clients: int, phase: str, limit_s: float) -> tuple[int, list[PhaseOutcome]]:
        """Start `phase` on the first `clients` clients at one instant; (start ns, their outcomes)."""
        start_at = time.monotonic() + START_DELAY_S
        for index in range(clients):
            self._send(index, PHASE, (phase, start_at))
        outcomes = []
        for index in range(clients):
            outcome = self._expect(index, OUTCOME, START_DELAY_S + limit_s + RESULT_GRACE_S)
            check(isinstance(outcome, PhaseOutcome), "a client's outcome is a PhaseOutcome")
            assert isinstance(outcome, PhaseOutcome)
            outcomes.append(outcome)
        return int(start_at * 1e9), outcomes

    def finish(self, clients: int, shared: bool) -> None:
        """Every client tears down its part; in a shared namespace client 0 goes last and removes it."""
        others = range(1, clients) if shared else range(clients)
        for index in others:
            self._send(index, FINISH, False)
        for index in others:
            self._expect(index, DONE, FINISH_TIMEOUT_S)
        if shared:
            self._send(0, FINISH, True)
            self._expect(0, DONE, FINISH_TIMEOUT_S)

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send((QUIT, None))
        for process in self._processes:
            process.join(timeout=JOIN_TIMEOUT_S)
            if process.is_alive():
                process.terminate()
                process.join(timeout=JOIN_TIMEOUT_S)
        for pipe in self._pipes:
            pipe.close()
        self._pipes, self._processes = [], []

    def _send(self, index: int, kind: str, payload: object) -> None:
        try:
            self._pipes[index].send((kind, payload))
        except OSError as error:
            raise HarnessError(f"client {index} is gone ({error})") from error

    def _expect(self, index: int, kind: str, timeout_s: float) -> object:
        pipe = self._pipes[index]
        try:
            if not pipe.poll(timeout_s):
                raise HarnessError(f"client {index} sent no {kind} within {timeout_s:.0f} s")
            received, payload = pipe.recv()
        except (EOFError, OSError) as error:
            raise HarnessError(f"client {index} died before sending {kind}") from error
        if received == ERROR:
            raise HarnessError(f"client {index} failed:\n{payload}")
        if received != kind:
            raise HarnessError(f"client {index} sent {received} where {kind} was due")
        return payload
