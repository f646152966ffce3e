"""`hopsfs up`: a whole local cluster in the foreground, supervised.

It formats the metadata store on first use, starts the namenode processes (by default two, sharing
one port with SO_REUSEPORT, so the cluster is multi-active from the start), prints
`hopsfs up: serving hopsfs://127.0.0.1:PORT ...` once they all listen, and then watches them: a
process that dies is started again (at most `RESTARTS_MAX` times a minute, then the cluster stops
and the command fails). Ctrl-C or SIGTERM stops every process (SIGTERM, then SIGKILL after
`STOP_TIMEOUT_S`) and exits 0. Each process logs to DATA_DIR/logs/NAME.log.

Then it starts the datanodes (by default three, each with its own volume under DATA_DIR/datanode-N),
which register with the namenodes' datanode service, and the CDC service (change stream, search and
provenance; its state in DATA_DIR/cdc) on the port after the namenodes' (8021 for 8020).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from hopsfs.announce import (
    NAMENODE_DATANODE_SERVICE,
    NAMENODE_METRICS,
    NAMENODE_READY,
    last_match,
    url_host,
)
from hopsfs.errors import HopsFSError

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
RESTARTS_MAX = 5
RESTART_WINDOW_S = 60.0
_POLL_S = 0.2
# Set for each child process: the supervisor's pid (see die_with_parent).
PARENT_PID_ENV = "HOPSFS_SUPERVISOR_PID"
UNIX_SOCKET_PATH_MAX = 107  # sun_path holds 108 bytes with its terminating NUL


class ClusterError(HopsFSError):
    """A cluster process would not start, or kept dying."""


@dataclass
class ManagedProcess:
    """One child process started with `start(ready)`: its output drained by a thread (to `log_path`
    if given, and the last `output_lines_max` lines kept), and stopped with SIGTERM, then SIGKILL.

    The one launcher `hopsfs up`, the RPC benchmark and the tests share.
    """

    name: str
    command: list[str]
    log_path: Path | None = None
    environment: dict[str, str] | None = None
    output_lines_max: int = 200
    process: subprocess.Popen[str] | None = None
    ready_match: re.Match[str] | None = None
    output_lines: deque[str] = field(default_factory=deque)
    restarts: deque[float] = field(default_factory=deque)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, ready: re.Pattern[str], timeout_s: float = START_TIMEOUT_S) -> re.Match[str]:
        """Start the process and wait until it prints its ready line; ClusterError if it dies first."""
        self.ready_match = None
        self.output_lines = deque(maxlen=self.output_lines_max)
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env={**(self.environment or os.environ), PARENT_PID_ENV: str(os.getpid())},
            # Own process group: Ctrl-C reaches the supervisor, which stops children in order.
            start_new_session=True,
        )
        became_ready = threading.Event()
        log = self.log_path.open("a", encoding="utf-8") if self.log_path is not None else None
        threading.Thread(
            target=self._drain,
            args=(self.process, log, ready, became_ready),
            name=f"{self.name}-output",
            daemon=True,
        ).start()
        deadline = time.monotonic() + timeout_s
        while not became_ready.wait(_POLL_S):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                detail = " | ".join(list(self.output_lines)[-5:]) or "no output"
                where = f"; log: {self.log_path}" if self.log_path is not None else ""
                raise ClusterError(f"{self.name} did not start ({detail}){where}")
        assert self.ready_match is not None
        return self.ready_match

    def _drain(
        self,
        process: subprocess.Popen[str],
        log: TextIO | None,
        ready: re.Pattern[str],
        became_ready: threading.Event,
    ) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                if log is not None:
                    log.write(line)
                    log.flush()
                self.output_lines.append(line.rstrip("\n"))
                if self.ready_match is None:
                    match = ready.search(line)
                    if match:
                        self.ready_match = match
                        became_ready.set()
        if log is not None:
            log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def send_signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(number)

    def stop(self, number: int = signal.SIGTERM) -> int | None:
        """Signal the process (SIGTERM by default) and wait; SIGKILL after STOP_TIMEOUT_S."""
        self.send_signal(number)
        if self.process is None:
            return None
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()


def namenode_command(
    metadata_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    reuse_port: bool = False,
    data_dir: Path | None = None,
    extra_arguments: tuple[str, ...] = (),
) -> list[str]:
    """The command line of one `hopsfs namenode` process run by this Python."""
    command = [sys.executable, "-m", "hopsfs.cli.main", "namenode", "--metadata-url", metadata_url]
    command += ["--host", host, "--port", str(port), *extra_arguments]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    if reuse_port:
        command.append("--reuse-port")
    return command


def datanode_command(
    data_dir: Path,
    namenode_services: list[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    extra_arguments: tuple[str, ...] = (),
) -> list[str]:
    """The command line of one `hopsfs datanode` process run by this Python."""
    command = [sys.executable, "-m", "hopsfs.cli.main", "datanode", "--data-dir", str(data_dir)]
    command += ["--namenode", ",".join(namenode_services), "--host", host, "--port", str(port)]
    return command + list(extra_arguments)


def die_with_parent() -> None:
    """In a child `ManagedProcess` started (PARENT_PID_ENV set): ask Linux to SIGTERM this process when
    its supervisor dies, even by SIGKILL, so a killed `hopsfs up` never leaves servers behind holding
    its ports. Done by the child itself at startup, not in a preexec_fn: code between fork and exec in
    a threaded parent can deadlock (fsspec's fork hooks did). A parent that died before this ran is
    noticed through getppid."""
    parent = os.environ.pop(PARENT_PID_ENV, None)
    if parent is None or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != int(parent):
        os.kill(os.getpid(), signal.SIGTERM)


def domain_socket_pattern(data_dir: Path) -> str:
    """Where this cluster's datanodes put their domain sockets: DATA_DIR/sockets, unless that path is
    too long for a UNIX socket (108 bytes on Linux), then a directory in the temp dir named after it."""
    pattern = str(data_dir.resolve() / "sockets" / "dn._PORT")
    if len(pattern) <= UNIX_SOCKET_PATH_MAX - 6:  # _PORT becomes up to 5 digits
        return pattern
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return str(Path(tempfile.gettempdir()) / f"hopsfs-sockets-{digest}" / "dn._PORT")


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    data_dir: Path
    metadata_url: str
    host: str = "127.0.0.1"
    port: int = 8020
    namenodes: int = 2
    datanodes: int = 3
    # Extra command-line arguments for every namenode / datanode (tests shorten intervals with them).
    namenode_arguments: tuple[str, ...] = ()
    datanode_arguments: tuple[str, ...] = ()
    cdc: bool = True
    # Datanodes serve short-circuit reads on a domain socket (clients on this host opt in with
    # HOPSFS_DOMAIN_SOCKET or `domain_socket=`).
    short_circuit: bool = True


class LocalCluster:
    def __init__(self, options: ClusterOptions) -> None:
        self.options = options
        self.log_dir = options.data_dir / "logs"
        self.processes: list[ManagedProcess] = []
        self.port = options.port
        # Datanodes report to this port; by default two above the client port (HDFS's 8022 for 8020).
        self.datanode_service_port = options.port + 2 if options.port else 0
        # HDFS clients read small files here; with free ports each namenode takes its own (each
        # names itself as their location), else they share port + 4.
        self.transfer_port = options.port + 4 if options.port else 0
        self._ready: dict[str, re.Pattern[str]] = {}
        self.cdc_url: str | None = None
        self._stopping = threading.Event()
        # The datanodes' domain socket pattern (`_PORT`: each one's transfer port), or None.
        self.domain_socket = domain_socket_pattern(options.data_dir) if options.short_circuit else None

    def start(self) -> str:
        """Start every process; returns the cluster's URL."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        shared_port = self.options.namenodes > 1
        for index in range(1, self.options.namenodes + 1):
            namenode = ManagedProcess(
                f"namenode-{index}",
                self._namenode_command(shared_port),
                self.log_dir / f"namenode-{index}.log",
            )
            match = self._start(namenode, NAMENODE_READY)
            # The first namenode may have picked free ports (--port 0): the others join it there.
            self.port = int(match.group(2))
            service = last_match(NAMENODE_DATANODE_SERVICE, namenode.output_lines)
            if service is not None:
                self.datanode_service_port = int(service.group(2))
        for index in range(1, self.options.datanodes + 1):
            self.start_datanode(index)
        if self.options.cdc:
            self._start_cdc()
        return self.url

    def _start_cdc(self) -> None:
        from hopsfs.announce import CDC_READY

        options = self.options
        cdc = ManagedProcess(
            "cdc",
            [
                sys.executable,
                "-m",
                "hopsfs.cli.main",
                "cdc",
                "--metadata-url",
                options.metadata_url,
                "--data-dir",
                str(options.data_dir),
                "--host",
                options.host,
                "--port",
                str(options.port + 1 if options.port else 0),
                "--metrics-port",
                "0",
            ],
            self.log_dir / "cdc.log",
        )
        match = self._start(cdc, CDC_READY)
        self.cdc_url = f"grpc://{match.group(1)}:{match.group(2)}"

    def start_datanode(self, index: int) -> ManagedProcess:
        """Start datanode number `index` (its volume: DATA_DIR/datanode-INDEX)."""
        from hopsfs.announce import DATANODE_READY

        datanode = ManagedProcess(
            f"datanode-{index}",
            datanode_command(
                self.options.data_dir / f"datanode-{index}",
                [f"{url_host(self.options.host)}:{self.datanode_service_port}"],
                host=self.options.host,
                extra_arguments=(
                    "--metrics-port",
                    "0",
                    *(("--domain-socket", self.domain_socket) if self.domain_socket else ()),
                    *self.options.datanode_arguments,
                ),
            ),
            self.log_dir / f"datanode-{index}.log",
        )
        self._start(datanode, DATANODE_READY)
        return datanode

    def process_named(self, name: str) -> ManagedProcess:
        for managed in self.processes:
            if managed.name == name:
                return managed
        raise KeyError(name)

    def _start(self, managed: ManagedProcess, ready: re.Pattern[str]) -> re.Match[str]:
        self.processes.append(managed)
        self._ready[managed.name] = ready
        return managed.start(ready)

    @property
    def url(self) -> str:
        return f"hopsfs://{url_host(self.options.host)}:{self.port}"

    def supervise(self) -> None:
        """Restart processes that die until `request_stop`; ClusterError when one keeps dying."""
        while not self._stopping.wait(_POLL_S):
            for managed in self.processes:
                if managed.exited() and not self._stopping.is_set():
                    self._restart(managed)

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        for managed in self.processes:
            managed.send_signal(signal.SIGTERM)
        for managed in reversed(self.processes):
            managed.stop()

    def _restart(self, managed: ManagedProcess) -> None:
        now = time.monotonic()
        code = managed.process.returncode if managed.process else None
        while managed.restarts and now - managed.restarts[0] > RESTART_WINDOW_S:
            managed.restarts.popleft()
        if len(managed.restarts) >= RESTARTS_MAX:
            raise ClusterError(
                f"{managed.name} exited {RESTARTS_MAX + 1} times within {RESTART_WINDOW_S:.0f} s "
                f"(last exit code {code}); log: {managed.log_path}"
            )
        managed.restarts.append(now)
        print(f"hopsfs up: {managed.name} exited with code {code}; starting it again", flush=True)
        managed.start(self._ready[managed.name])

    def _namenode_command(self, shared_port: bool) -> list[str]:
        options = self.options
        return namenode_command(
            options.metadata_url,
            host=options.host,
            port=self.port,
            reuse_port=shared_port,
            data_dir=options.data_dir,
            extra_arguments=(
                "--metrics-port",
                "0",
                "--datanode-port",
                str(self.datanode_service_port),
                "--transfer-port",
                str(self.transfer_port),
                *options.namenode_arguments,
            ),
        )

    def metrics_urls(self) -> list[str]:
        """Each process's /metrics URL, as it printed it before its ready line."""
        from hopsfs.announce import CDC_METRICS, DATANODE_METRICS

        urls = []
        for managed in self.processes:
            for pattern in (NAMENODE_METRICS, DATANODE_METRICS, CDC_METRICS):
                match = last_match(pattern, managed.output_lines)
                if match is not None:
                    urls.append(match.group(1))
                    break
        return urls


def run_cluster(options: ClusterOptions) -> int:
    """Run until Ctrl-C / SIGTERM; 0 after a clean stop, 1 if a process kept failing."""
    cluster = LocalCluster(options)
    previous = {
        number: signal.signal(number, lambda *_: cluster.request_stop())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        url = cluster.start()
        print(f"hopsfs up: metrics at {', '.join(cluster.metrics_urls())}", flush=True)
        print(
            f"hopsfs up: serving {url} ({options.namenodes} namenode(s), {options.datanodes} datanode(s), "
            f"pid {os.getpid()}; change stream at {cluster.cdc_url or 'off'}; "
            f"logs in {cluster.log_dir}). Ctrl-C stops it.",
            flush=True,
        )
        if cluster.domain_socket is not None:
            print(
                f"hopsfs up: short-circuit reads for clients on this host: "
                f"export HOPSFS_DOMAIN_SOCKET='{cluster.domain_socket}'",
                flush=True,
            )
        cluster.supervise()
        print("hopsfs up: stopping", flush=True)
        return 0
    finally:
        cluster.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
