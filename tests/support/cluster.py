"""Real namenode processes for integration tests: `python -m hopsfs.cli.main namenode` on 127.0.0.1.

`NamenodeProcess.start(url)` formats nothing: call `format_store(url)` first.
The first process binds port 0 and reports the port it got on its ready line; more processes join that
port with SO_REUSEPORT (`reuse_port=True` on all of them) or take their own. Output is drained by a
thread into `output_lines` so a chatty server never blocks, and a test can show it on failure.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hopsfs.announce import NAMENODE_READY
from hopsfs.cli.cluster import ManagedProcess, namenode_command
from support.worker_launcher import worker_environment

START_TIMEOUT_S = 30.0
# Whole-run logs: tests look for tracebacks in everything a namenode printed.
OUTPUT_LINES_MAX = 1_000_000


def format_store(metadata_url: str, superuser: str = "hdfs") -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hopsfs.cli.main",
            "format",
            "--metadata-url",
            metadata_url,
            "--superuser",
            superuser,
        ],
        check=True,
        capture_output=True,
        env=worker_environment(),
        timeout=60,
    )


class NamenodeProcess:
    """A namenode child process (hopsfs.cli.cluster's launcher) and the address it serves."""

    def __init__(self, managed: ManagedProcess, host: str, port: int) -> None:
        self.managed = managed
        self.host = host
        self.port = port

    @property
    def process(self) -> subprocess.Popen[str]:
        assert self.managed.process is not None
        return self.managed.process

    @property
    def output_lines(self) -> list[str]:
        return list(self.managed.output_lines)

    @property
    def url(self) -> str:
        return f"hopsfs://{self.host}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @classmethod
    def start(
        cls,
        metadata_url: str,
        *,
        port: int = 0,
        reuse_port: bool = False,
        data_dir: Path | None = None,
        extra_arguments: tuple[str, ...] = (),
        environment: dict[str, str] | None = None,
    ) -> NamenodeProcess:
        command = namenode_command(
            metadata_url, port=port, reuse_port=reuse_port, data_dir=data_dir, extra_arguments=extra_arguments
        )
        env = worker_environment()
        env.update(environment or {})
        managed = ManagedProcess("namenode", command, environment=env, output_lines_max=OUTPUT_LINES_MAX)
        match = managed.start(NAMENODE_READY, START_TIMEOUT_S)
        return cls(managed, match.group(1), int(match.group(2)))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        code = self.managed.stop(sig)
        assert code is not None
        return code

    def kill(self) -> None:
        self.managed.kill()

    def alive(self) -> bool:
        return self.managed.alive()


def wait_until(predicate: Callable[[], object], timeout_s: float = 10.0, interval_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())


# The `start_namenodes` fixture (tests/conftest.py): start(url, count=1, *, format, port, extra_arguments).
StartNamenodes = Callable[..., list["NamenodeProcess"]]
