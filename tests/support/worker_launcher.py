"""Start `support.workers` entry points as separate Python processes and talk to them by lines.

Protocol: a worker prints READY once its Namespace is open, waits for a line on stdin, then works;
progress lines go to stdout as they happen (flushed), the last one is `RESULT <json>`. Stdout and
stderr are drained by background threads so a chatty worker never blocks on a full pipe.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_ROOT = REPO_ROOT / "tests"
READY = "READY"
RESULT_PREFIX = "RESULT "
LINE_TIMEOUT_S = 60.0


def worker_environment() -> dict[str, str]:
    environment = dict(os.environ)
    inherited = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), str(TESTS_ROOT), inherited) if p)
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


class WorkerProcess:
    """One `python -m support.workers <command> <json>` child."""

    def __init__(self, command: str, parameters: dict[str, Any]) -> None:
        self.command = command
        self.process = subprocess.Popen(
            [sys.executable, "-m", "support.workers", command, json.dumps(parameters)],
            cwd=REPO_ROOT,
            env=worker_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr_lines: list[str | None] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._drain, args=(self.process.stdout, self.lines.put), daemon=True),
            threading.Thread(
                target=self._drain, args=(self.process.stderr, self.stderr_lines.append), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _drain(stream: TextIO, sink: Callable[[str | None], object]) -> None:
        for line in stream:
            sink(line.rstrip("\n"))
        sink(None)

    def next_line(self, timeout_s: float = LINE_TIMEOUT_S) -> str | None:
        """The next stdout line; None once stdout is closed. Fails the test on a timeout."""
        try:
            return self.lines.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(
                f"worker {self.command} said nothing for {timeout_s}s; {self.describe()}"
            ) from None

    def wait_ready(self) -> None:
        line = self.next_line()
        assert line == READY, f"worker {self.command} did not start: {line!r}; {self.describe()}"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self, timeout_s: float = LINE_TIMEOUT_S * 3) -> Any:
        """Skip progress lines up to `RESULT <json>`, wait for a clean exit, return the decoded json."""
        deadline = time.monotonic() + timeout_s
        while True:
            line = self.next_line(max(deadline - time.monotonic(), 0.1))
            assert line is not None, f"worker {self.command} ended without a result; {self.describe()}"
            if line.startswith(RESULT_PREFIX):
                break
        code = self.process.wait(timeout=LINE_TIMEOUT_S)
        assert code == 0, f"worker {self.command} exited with {code}; {self.describe()}"
        return json.loads(line[len(RESULT_PREFIX) :])

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        self.process.kill()
        self.process.wait(timeout=LINE_TIMEOUT_S)

    def describe(self) -> str:
        time.sleep(0.1)  # let the stderr reader catch up with a dying worker
        tail = "\n".join(line for line in self.stderr_lines[-40:] if line is not None)
        return f"exit code {self.process.poll()}, stderr:\n{tail}"

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        for reader in self._readers:
            reader.join(timeout=LINE_TIMEOUT_S)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def start_all(command: str, parameter_sets: list[dict[str, Any]]) -> list[WorkerProcess]:
    """Start one worker per parameter set, wait until all are ready, release them together."""
    workers = [WorkerProcess(command, parameters) for parameters in parameter_sets]
    try:
        for worker in workers:
            worker.wait_ready()
        for worker in workers:
            worker.release()
    except BaseException:
        for worker in workers:
            worker.close()
        raise
    return workers


def run_all(command: str, parameter_sets: list[dict[str, Any]]) -> list[Any]:
    """Start, release together, and collect every worker's result."""
    workers = start_all(command, parameter_sets)
    try:
        return [worker.result() for worker in workers]
    finally:
        for worker in workers:
            worker.close()
