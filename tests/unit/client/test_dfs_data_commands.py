"""`hopsfs dfs` data commands (-put/-get/-appendToFile/-cat/-head/-tail/-text/-setrep) against a local
temporary directory and a fake cluster: the namenode test peer over Hadoop IPC and fake datanodes.
Every effect is checked through the namespace or a separate client, never through the CLI alone."""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from client_support import BLOCK, FakeCluster, payload
from fake_ipc_namenode import FakeIpcNamenode
from support.worker_launcher import worker_environment

import hopsfs
from hopsfs.cli import dfs_content_commands, progress
from hopsfs.cli.dfs import main as dfs_main
from hopsfs.client import Client


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: bytes
    stderr: str


Dfs = Callable[..., Outcome]


@pytest.fixture(name="namenode")
def namenode_fixture(cluster: FakeCluster) -> Iterator[FakeIpcNamenode]:
    namenode = FakeIpcNamenode(cluster.namespace)
    cluster.loop.run(namenode.start())
    try:
        yield namenode
    finally:
        cluster.loop.run(namenode.stop())


@pytest.fixture(name="dfs")
def dfs_fixture(namenode: FakeIpcNamenode, capsysbinary: pytest.CaptureFixture[bytes]) -> Dfs:
    def run(*arguments: str) -> Outcome:
        capsysbinary.readouterr()
        code = dfs_main(["-fs", namenode.url, *arguments])
        captured = capsysbinary.readouterr()
        return Outcome(code, captured.out, captured.err.decode())

    return run


@pytest.fixture(name="client")
def client_fixture(namenode: FakeIpcNamenode) -> Iterator[Client]:
    client = hopsfs.connect(namenode.url, user="tester")
    try:
        yield client
    finally:
        client.close()


def local_file(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_put_then_cat_and_get_round_trip(dfs: Dfs, client: Client, tmp_path: Path) -> None:
    data = payload(BLOCK + 4097)
    source = local_file(tmp_path, "a.bin", data)
    client.mkdirs("/in")
    assert dfs("-put", str(source), "/in").code == 0
    assert client.read_bytes("/in/a.bin") == data
    assert dfs("-cat", "/in/a.bin").stdout == data
    assert dfs("-copyToLocal", "/in/a.bin", str(tmp_path / "back.bin")).code == 0
    assert (tmp_path / "back.bin").read_bytes() == data
    assert not [name for name in os.listdir(tmp_path) if name.endswith("._COPYING_")]
    assert [entry.name for entry in client.list("/in")] == ["a.bin"]  # no temporary file left


def test_put_and_get_directories_recursively(dfs: Dfs, client: Client, tmp_path: Path) -> None:
    tree = {
        "top.txt": b"top",
        "sub/one.bin": payload(70_000),
        "sub/deeper/two.bin": payload(5),
        "empty/": b"",
    }
    for name, data in tree.items():
        if name.endswith("/"):
            (tmp_path / "src" / name).mkdir(parents=True)
        else:
            local_file(tmp_path / "src", name, data)
    assert dfs("-copyFromLocal", str(tmp_path / "src"), "/dst").code == 0
    assert client.read_bytes("/dst/sub/deeper/two.bin") == tree["sub/deeper/two.bin"]
    assert client.stat("/dst/empty").is_directory
    outcome = dfs("-get", "/dst", str(tmp_path / "copy"))
    assert outcome.code == 0, outcome
    for name, data in tree.items():
        if not name.endswith("/"):
            assert (tmp_path / "copy" / name).read_bytes() == data
    assert (tmp_path / "copy" / "empty").is_dir()


def test_put_refuses_to_overwrite_without_f(dfs: Dfs, client: Client, tmp_path: Path) -> None:
    client.write_bytes("/t", b"old")
    source = local_file(tmp_path, "t", b"new")
    outcome = dfs("-put", str(source), "/t")
    assert (outcome.code, outcome.stderr) == (1, "hopsfs dfs: -put: `/t': File exists\n")
    assert client.read_bytes("/t") == b"old"
    assert dfs("-put", "-f", str(source), "/t").code == 0
    assert client.read_bytes("/t") == b"new"


def test_put_errors_name_the_path(dfs: Dfs, client: Client, tmp_path: Path) -> None:
    source = local_file(tmp_path, "x", b"x")
    missing = dfs("-put", str(tmp_path / "nope"), "/x")
    assert missing.code == 1 and f"`{tmp_path / 'nope'}': No such file or directory" in missing.stderr
    no_parent = dfs("-put", str(source), "/no/such/parent/x")
    assert no_parent.code == 1 and "`/no/such/parent': No such file or directory" in no_parent.stderr
    client.write_bytes("/file", b"")
    several = dfs("-put", str(source), str(source), "/file")
    assert several.code == 1 and "`/file': Is not a directory" in several.stderr
    usage = dfs("-put", "-z", str(source), "/x")
    assert usage.code == 2 and "Illegal option -z" in usage.stderr


def test_put_from_standard_input_and_direct_write(
    dfs: Dfs, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = payload(100_000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert dfs("-put", "-d", "-", "/from-stdin").code == 0
    assert client.read_bytes("/from-stdin") == data


def test_a_failed_put_leaves_neither_target_nor_temporary_file(
    dfs: Dfs, client: Client, cluster: FakeCluster, tmp_path: Path
) -> None:
    for datanode in cluster.datanodes:
        datanode.faults.die_after_packets = 2
    source = local_file(tmp_path, "big", payload(BLOCK))
    outcome = dfs("-put", str(source), "/big")
    assert outcome.code == 1 and "All datanodes" in outcome.stderr
    assert not client.exists("/big")
    assert not client.exists("/big._COPYING_")


def test_put_and_get_preserve_times_and_permissions(dfs: Dfs, client: Client, tmp_path: Path) -> None:
    source = local_file(tmp_path, "p", b"keep")
    os.chmod(source, 0o640)
    os.utime(source, (1_600_000_000, 1_650_000_000))
    assert dfs("-put", "-p", str(source), "/p").code == 0
    status = client.stat("/p")
    assert (status.permission, status.modification_time_ms, status.access_time_ms) == (
        0o640,
        1_650_000_000_000,
        1_600_000_000_000,
    )
    assert dfs("-get", "-p", "/p", str(tmp_path / "p2")).code == 0
    local = os.stat(tmp_path / "p2")
    assert (local.st_mode & 0o777, int(local.st_mtime)) == (0o640, 1_650_000_000)


def test_get_refuses_to_overwrite_a_local_file_without_f(dfs: Dfs, client: Client, tmp_path: Path) -> None:
    client.write_bytes("/g", b"remote")
    target = local_file(tmp_path, "g", b"local")
    outcome = dfs("-get", "/g", str(target))
    assert outcome.code == 1 and f"`{target}': File exists" in outcome.stderr
    assert target.read_bytes() == b"local"
    assert dfs("-get", "-f", "/g", str(target)).code == 0
    assert target.read_bytes() == b"remote"


def test_append_to_file_creates_then_appends(
    dfs: Dfs, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = local_file(tmp_path, "1", b"one,"), local_file(tmp_path, "2", payload(1500))
    assert dfs("-appendToFile", str(first), "/log").code == 0
    assert dfs("-appendToFile", str(first), str(second), "/log").code == 0
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"|stdin")))
    assert dfs("-appendToFile", "-", "/log").code == 0
    assert client.read_bytes("/log") == b"one," + b"one," + payload(1500) + b"|stdin"
    missing = dfs("-appendToFile", str(tmp_path / "nope"), "/log")
    assert missing.code == 1 and "No such file or directory" in missing.stderr


def test_cat_head_tail_and_their_errors(dfs: Dfs, client: Client) -> None:
    data = payload(3000)
    client.write_bytes("/c", data)
    client.mkdirs("/d")
    assert dfs("-cat", "/c", "/c").stdout == data + data
    assert dfs("-head", "/c").stdout == data[:1024]
    assert dfs("-tail", "/c").stdout == data[-1024:]
    client.write_bytes("/small", b"tiny")
    assert dfs("-tail", "/small").stdout == b"tiny"
    directory = dfs("-cat", "/d")
    assert (directory.code, directory.stderr) == (1, "hopsfs dfs: -cat: `/d': Is a directory\n")
    missing = dfs("-cat", "/missing", "/c")
    assert missing.code == 1 and "`/missing': No such file or directory" in missing.stderr
    assert missing.stdout == data  # the other path still printed


def test_text_decompresses_gzip_and_prints_plain_files(dfs: Dfs, client: Client) -> None:
    client.write_bytes("/z.gz", gzip.compress(b"hello, compressed world\n" * 100))
    client.write_bytes("/plain", b"plain text")
    assert dfs("-text", "/z.gz").stdout == b"hello, compressed world\n" * 100
    assert dfs("-text", "/plain").stdout == b"plain text"


def test_setrep_sets_and_waits_for_the_replica_count(
    dfs: Dfs, client: Client, cluster: FakeCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.write_bytes("/dir/r", payload(10_000))
    outcome = dfs("-setrep", "2", "/dir")
    assert outcome.stdout.decode() == "Replication 2 set: /dir/r\n"
    assert client.stat("/dir/r").replication == 2
    block_id = cluster.namespace.inodes["/dir/r"].blocks[0].block_id
    monkeypatch.setattr(dfs_content_commands, "SETREP_POLL_INTERVAL_S", 0.05)
    # The namenode's housekeeping would remove the extra replica; here a datanode drops it later.
    remover = threading.Timer(0.3, cluster.datanodes[2].delete_replica, args=(block_id,))
    remover.start()
    waited = dfs("-setrep", "-w", "2", "/dir/r")
    remover.join()
    text = waited.stdout.decode()
    assert waited.code == 0
    assert text.startswith("Replication 2 set: /dir/r\nWaiting for /dir/r ...") and text.endswith(" done\n")
    assert "." in text[len("Replication 2 set: /dir/r\nWaiting for /dir/r ...") :]  # it did poll
    assert dfs("-setrep", "0", "/dir/r").code == 2


def test_progress_bar_only_on_a_terminal(
    dfs: Dfs, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, namenode: FakeIpcNamenode
) -> None:
    source = local_file(tmp_path, "p.bin", payload(300_000))
    monkeypatch.setattr(progress, "PROGRESS_THRESHOLD_BYTES", 1024)
    assert "%" not in dfs("-put", str(source), "/quiet").stderr  # captured stderr is no terminal

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert dfs_main(["-fs", namenode.url, "-put", str(source), "/loud"]) == 0
    shown = terminal.getvalue()
    assert shown.startswith("\r/loud") and "100% [" in shown and shown.endswith("\n")
    assert client.read_bytes("/loud") == payload(300_000)


def test_tail_f_follows_appended_data_until_interrupted(namenode: FakeIpcNamenode, client: Client) -> None:
    client.write_bytes("/follow", b"start\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hopsfs.cli.main",
            "dfs",
            "-fs",
            namenode.url,
            "-tail",
            "-f",
            "-s",
            "0.05",
            "/follow",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=worker_environment(),
    )
    try:
        assert process.stdout is not None
        assert process.stdout.read(6) == b"start\n"
        with client.open("/follow", "ab") as output:
            output.write(b"more\n")
        assert process.stdout.read(5) == b"more\n"
    finally:
        time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        code = process.wait(10)
    assert code == 130
