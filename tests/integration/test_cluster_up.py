"""`hopsfs up` as a user runs it: a subprocess that prints its URL, keeps serving while one of its
namenodes is killed, restarts that namenode, and stops cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from support.cluster import wait_until
from support.worker_launcher import worker_environment

import hopsfs

SERVING = re.compile(r"hopsfs up: serving (hopsfs://127\.0\.0\.1:(\d+)) \(.*3 datanode\(s\)")
PID = re.compile(r"hopsfs namenode serving \S+ \(pid (\d+)\)")
METRICS = re.compile(r"hopsfs up: metrics at (.*)$")


class UpProcess:
    def __init__(self, data_dir: Path, *arguments: str) -> None:
        self.data_dir = data_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hopsfs.cli.main", "up", "--data-dir", str(data_dir), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**worker_environment(), "HADOOP_USER_NAME": "hdfs"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: re.Pattern[str], timeout_s: float = 60.0) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout_s)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern.pattern}; saw {self.seen}") from None
            self.seen.append(line)
            match = pattern.search(line)
            if match:
                return match

    def namenode_pids(self) -> list[int]:
        pids = []
        for log in sorted((self.data_dir / "logs").glob("namenode-*.log")):
            found = PID.findall(log.read_text())
            pids.append(int(found[-1]))
        return pids

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes: its parent (hopsfs up) has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ")[1][0] != "Z"


def test_up_serves_survives_a_killed_namenode_and_stops_on_sigterm(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "cluster", "--port", "0")
    try:
        metrics_urls = up.wait_for(METRICS).group(1).split(", ")
        url = up.wait_for(SERVING).group(1)
        # 2 namenodes, 3 datanodes and the CDC service, each with its own /metrics.
        assert len(metrics_urls) == 6
        served = [urllib.request.urlopen(metrics_url, timeout=10).read() for metrics_url in metrics_urls]
        assert sum(b"hopsfs_namenode_connections" in text for text in served) == 2
        assert all(b"hopsfs_" in text for text in served)
        first_pid, second_pid = up.namenode_pids()
        with hopsfs.connect(url, user="hdfs") as client:
            # The datanodes it started store data: three replicas of a file, read back exactly.
            payload = os.urandom(300_000)
            client.write_bytes("/data.bin", payload)
            assert client.read_bytes("/data.bin") == payload
            assert wait_until(
                lambda: len(client.get_block_locations("/data.bin", 0, 1).blocks[0].locations) == 3, 30
            )
            client.mkdirs("/survives")
            os.kill(first_pid, signal.SIGKILL)
            # Whichever namenode the connection was on, the client carries on (the port is shared).
            for index in range(20):
                assert client.stat("/survives").is_directory
                client.mkdirs(f"/survives/d{index}")
            up.wait_for(re.compile(r"namenode-1 exited with code -9; starting it again"))
            assert wait_until(lambda: up.namenode_pids()[0] != first_pid, 30)
            # Now the other one: one of the two kills surely cut the client's own connection.
            os.kill(second_pid, signal.SIGKILL)
            for index in range(20, 40):
                client.mkdirs(f"/survives/d{index}")
            up.wait_for(re.compile(r"namenode-2 exited with code -9; starting it again"))
            assert len(client.list("/survives")) == 40
        pids = up.namenode_pids()
        assert up.stop(signal.SIGTERM) == 0
        assert "hopsfs up: stopping" in [*up.seen, up.lines.get(timeout=5)]
        assert not any(_alive(pid) for pid in [*pids, second_pid])
    finally:
        up.stop(signal.SIGKILL)


# 100 KB, above the 64 KiB small-file threshold: stored in blocks, so the restart must find replicas.
KEPT = b"kept across restarts" * 5000


def test_ctrl_c_stops_the_cluster_and_a_restart_keeps_the_namespace(tmp_path: Path) -> None:
    data_dir = tmp_path / "cluster"
    up = UpProcess(data_dir, "--port", "0", "--namenodes", "1")
    try:
        url = up.wait_for(SERVING).group(1)
        with hopsfs.connect(url, user="hdfs") as client:
            client.mkdirs("/kept")
            client.write_bytes("/kept/data.bin", KEPT)
            assert client.get_block_locations("/kept/data.bin", 0, 1).blocks  # on the datanodes
        pids = up.namenode_pids()
        assert up.stop(signal.SIGINT) == 0
        assert not any(_alive(pid) for pid in pids)
    finally:
        up.stop(signal.SIGKILL)
    again = UpProcess(data_dir, "--port", "0", "--namenodes", "1")
    try:
        with hopsfs.connect(again.wait_for(SERVING).group(1), user="hdfs") as client:
            assert client.stat("/kept").is_directory
            # The datanodes found their replicas again (index + block report) and serve them.
            assert client.read_bytes("/kept/data.bin") == KEPT
    finally:
        assert again.stop() == 0


def test_a_taken_port_fails_with_one_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "hopsfs.cli.main", "up", "--data-dir", str(tmp_path), "--port", str(port)],
            capture_output=True,
            text=True,
            env=worker_environment(),
            timeout=60,
        )
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert (
        len(errors) == 1 and "namenode-1 did not start" in errors[0] and "Address already in use" in errors[0]
    )
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("namenodes", ["0", "-1"])
def test_up_refuses_nonsense_namenode_counts(tmp_path: Path, namenodes: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hopsfs.cli.main",
            "up",
            "--data-dir",
            str(tmp_path),
            "--namenodes",
            namenodes,
        ],
        capture_output=True,
        text=True,
        env=worker_environment(),
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "hopsfs: InvalidArgument: --namenodes must be at least 1"


def test_a_killed_supervisor_takes_its_namenodes_with_it(tmp_path: Path) -> None:
    up = UpProcess(tmp_path / "cluster", "--port", "0")
    try:
        up.wait_for(SERVING)
        pids = up.namenode_pids()
        assert all(_alive(pid) for pid in pids)
    finally:
        up.stop(signal.SIGKILL)
    assert wait_until(lambda: not any(_alive(pid) for pid in pids), 15)
