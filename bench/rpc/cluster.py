"""Namenode processes for the RPC benchmark: `python -m hopsfs.cli.main namenode` on 127.0.0.1.

`NamenodeGroup(url, shared_port=...)` starts processes on one formatted metadata store, one per `add()`.
With `shared_port` the first binds port 0 and the rest join its port with SO_REUSEPORT (the kernel
spreads connections over them, by hash: uneven for a handful of connections); otherwise each takes a
port of its own and the load generator assigns connections round-robin, so the split is exact.

Each process's output is drained by a thread (a chatty server never blocks on a full pipe) and kept,
bounded to OUTPUT_LINES_MAX lines, for the error message if it dies. CPU seconds of each process are
read from /proc (Linux), so the run can charge server CPU to the calls of a window.

Bounds: START_TIMEOUT_S for the ready line, STOP_TIMEOUT_S for a clean exit before SIGKILL.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from hopsfs.invariants import check

READY_PATTERN = re.compile(r"hopsfs namenode serving hopsfs://([0-9.]+):(\d+) \(pid (\d+)\)")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
OUTPUT_LINES_MAX = 200
NAMENODES_MAX = 8
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
HANDLER_THREADS_DEFAULT = 8  # the namenode's own default, passed explicitly


def child_environment() -> dict[str, str]:
    """The environment for a child Python process: this checkout first on the import path."""
    environment = dict(os.environ)
    inherited = environment.get("PYTHONPATH", "")
    environment["PYTHONPATH"] = os.pathsep.join(part for part in (str(REPOSITORY_ROOT), inherited) if part)
    environment["PYTHONUNBUFFERED"] = "1"
    return environment


@dataclass(slots=True)
class NamenodeProcess:
    process: subprocess.Popen[str]
    host: str
    port: int
    output_lines: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=OUTPUT_LINES_MAX)
    )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_namenode(
    metadata_url: str, port: int, reuse_port: bool, handler_threads: int = HANDLER_THREADS_DEFAULT
) -> NamenodeProcess:
    """One namenode process, returned once it prints its ready line."""
    command = [
        sys.executable,
        "-m",
        "hopsfs.cli.main",
        "namenode",
        "--metadata-url",
        metadata_url,
        "--port",
        str(port),
        "--handler-threads",
        str(handler_threads),
    ]
    if reuse_port:
        command.append("--reuse-port")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=child_environment(),
        cwd=REPOSITORY_ROOT,
        bufsize=1,
    )
    lines: collections.deque[str] = collections.deque(maxlen=OUTPUT_LINES_MAX)
    ready = threading.Event()
    found: list[re.Match[str]] = []

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            match = READY_PATTERN.search(line)
            if match and not found:
                found.append(match)
                ready.set()
        ready.set()  # the process ended: wake the waiter, which finds no match

    threading.Thread(target=drain, name=f"namenode-output-{process.pid}", daemon=True).start()
    if not ready.wait(START_TIMEOUT_S) or not found:
        process.kill()
        process.wait()
        raise RuntimeError("a namenode did not start:\n" + "\n".join(lines))
    check(int(found[0].group(3)) == process.pid, "the ready line is this process's")
    return NamenodeProcess(process, found[0].group(1), int(found[0].group(2)), lines)


class NamenodeGroup:
    """Namenode processes on one store, started one by one with `add`; a context manager that stops
    them all on exit."""

    def __init__(
        self, metadata_url: str, *, shared_port: bool, handler_threads: int = HANDLER_THREADS_DEFAULT
    ) -> None:
        check(handler_threads >= 1, "a namenode needs a handler thread")
        self.metadata_url = metadata_url
        self.shared_port = shared_port
        self.handler_threads = handler_threads
        self.namenodes: list[NamenodeProcess] = []

    def __enter__(self) -> NamenodeGroup:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add(self) -> NamenodeProcess:
        """Start one more namenode: on the first one's port if the port is shared, else on its own."""
        check(len(self.namenodes) < NAMENODES_MAX, "at most NAMENODES_MAX namenodes")
        port = self.namenodes[0].port if self.shared_port and self.namenodes else 0
        namenode = start_namenode(self.metadata_url, port, self.shared_port, self.handler_threads)
        check(not self.shared_port or port in (0, namenode.port), "a joining namenode serves the shared port")
        self.namenodes.append(namenode)
        return namenode

    def stop(self) -> None:
        for namenode in self.namenodes:
            namenode.stop()

    @property
    def count(self) -> int:
        return len(self.namenodes)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Distinct addresses to connect to: one with a shared port, else one per namenode."""
        unique = dict.fromkeys((namenode.host, namenode.port) for namenode in self.namenodes)
        return list(unique)

    @property
    def pids(self) -> list[int]:
        return [namenode.pid for namenode in self.namenodes]

    def check_alive(self) -> None:
        for namenode in self.namenodes:
            if not namenode.alive():
                output = "\n".join(namenode.output_lines)
                raise RuntimeError(f"namenode pid {namenode.pid} exited:\n{output}")


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process, all its threads (Linux /proc/PID/stat), else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    fields = text[text.rindex(")") + 2 :].split()
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (Linux /proc/stat), else None.

    Busy is everything but idle and iowait: other tenants' work counts too, which is the point (it tells
    whether a window had the cores to itself)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return None
    name, *values = first.split()
    check(name == "cpu", "/proc/stat starts with the all-cores line")
    ticks = [int(value) for value in values[:8]]  # user nice system idle iowait irq softirq steal
    total = sum(ticks)
    idle = ticks[3] + ticks[4]
    clock = os.sysconf("SC_CLK_TCK")
    return (total - idle) / clock, total / clock
