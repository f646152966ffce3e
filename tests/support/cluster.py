"""Real namenode processes for integration tests: `python -m hopsfs.cli.main namenode` on 127.0.0.1.

`NamenodeProcess.start(url)` formats nothing: call `format_store(url)` first (or pass format=True).
The first process binds port 0 and reports the port it got on its ready line; more processes join that
port with SO_REUSEPORT (`reuse_port=True` on all of them) or take their own. Output is drained by a
thread into `output_lines` so a chatty server never blocks, and a test can show it on failure.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from support.worker_launcher import worker_environment

READY_PATTERN = re.compile(r"hopsfs namenode serving hopsfs://([0-9.]+):(\d+) \(pid (\d+)\)")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


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
    def __init__(self, process: subprocess.Popen[str], host: str, port: int) -> None:
        self.process = process
        self.host = host
        self.port = port
        self.output_lines: list[str] = []

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
        command = [
            sys.executable,
            "-m",
            "hopsfs.cli.main",
            "namenode",
            "--metadata-url",
            metadata_url,
            "--port",
            str(port),
            *extra_arguments,
        ]
        if reuse_port:
            command.append("--reuse-port")
        if data_dir is not None:
            command += ["--data-dir", str(data_dir)]
        env = worker_environment()
        env.update(environment or {})
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1
        )
        lines: list[str] = []
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
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(START_TIMEOUT_S) or not found:
            process.kill()
            process.wait()
            raise RuntimeError("namenode did not start:\n" + "\n".join(lines))
        namenode = cls(process, found[0].group(1), int(found[0].group(2)))
        namenode.output_lines = lines
        return namenode

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def alive(self) -> bool:
        return self.process.poll() is None


def wait_until(predicate, timeout_s: float = 10.0, interval_s: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())
