"""Namenode processes for the RPC benchmark: `python -m hopsfs.cli.main namenode` on 127.0.0.1.

`NamenodeGroup(url, shared_port=...)` starts processes on one formatted metadata store, one per `add()`.
With `shared_port` the first binds port 0 and the rest join its port with SO_REUSEPORT (the kernel
spreads connections over them, by hash: uneven for a handful of connections); otherwise each takes a
port of its own and the load generator assigns connections round-robin, so the split is exact.

Each process's output is drained by a thread (a chatty server never blocks on a full pipe) and kept,
bounded to OUTPUT_LINES_MAX lines, for the error message if it dies. CPU seconds of each process are
read from /proc (Linux), so the run can charge server CPU to the calls of a window.

Bounds: START_TIMEOUT_S for the ready line; `hopsfs.cli.cluster.ManagedProcess` (the launcher `hopsfs up`
uses too) gives a stopping process STOP_TIMEOUT_S before SIGKILL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hopsfs.announce import NAMENODE_READY
from hopsfs.cli.cluster import ManagedProcess, namenode_command
from hopsfs.invariants import check

START_TIMEOUT_S = 60.0
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
    managed: ManagedProcess
    host: str
    port: int

    @property
    def pid(self) -> int:
        return self.managed.pid

    @property
    def output_lines(self) -> list[str]:
        return list(self.managed.output_lines)

    def alive(self) -> bool:
        return self.managed.alive()

    def stop(self) -> int | None:
        return self.managed.stop()


def start_namenode(
    metadata_url: str, port: int, reuse_port: bool, handler_threads: int = HANDLER_THREADS_DEFAULT
) -> NamenodeProcess:
    """One namenode process, returned once it prints its ready line."""
    command = namenode_command(
        metadata_url,
        port=port,
        reuse_port=reuse_port,
        extra_arguments=("--handler-threads", str(handler_threads)),
    )
    managed = ManagedProcess(
        "namenode", command, environment=child_environment(), output_lines_max=OUTPUT_LINES_MAX
    )
    match = managed.start(NAMENODE_READY, START_TIMEOUT_S)
    check(int(match.group(3)) == managed.pid, "the ready line is this process's")
    return NamenodeProcess(managed, match.group(1), int(match.group(2)))


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
