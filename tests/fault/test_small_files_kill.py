"""Kill -9 during small-file work. The namenode while clients create small files in batches, then
restart it: every batch is all or nothing (one transaction), every file present holds exactly its
bytes, and the namespace (inline rows included) and the change log stay consistent. And the client
moving a small file to blocks (an append), after its old and new bytes reached the datanodes: lease
recovery brings the file back as it was, inline. On both backends.

A batch whose answer was lost with the namenode may have committed: the client sends it again and
gets FileAlreadyExists. Either way the tree, not the client's view, is what is checked.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support.changelog_replay import assert_change_log_matches
from support.cluster import StartNamenodes, wait_until
from support.data_cluster import DataClusters, payload
from support.fsck import assert_consistent
from support.worker_launcher import worker_environment

import hopsfs
from hopsfs.errors import HopsFSError
from hopsfs.types import Caller

WRITERS = 3
# Writers run until told to stop (a fixed count finished before the kill once batches got fast);
# this bounds them if the test never tells them.
BATCHES_MAX = 100_000
BATCHES_BEFORE_KILL = 5
BATCHES_AFTER_RESTART = 5
FILES_PER_BATCH = 20


def _batch(writer: int, batch: int) -> list[tuple[str, bytes]]:
    return [
        (f"/w{writer}/b{batch}/f{index}", payload(batch * 37 + index * 211, seed=writer * 1000 + index))
        for index in range(FILES_PER_BATCH)
    ]


class Writer(threading.Thread):
    def __init__(self, url: str, index: int) -> None:
        super().__init__(name=f"small-writer-{index}")
        self.url = url
        self.index = index
        self.batches_done = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with hopsfs.connect(self.url, user="hdfs", attempts_max=12) as client:
            for batch in range(BATCHES_MAX):
                if self.stop.is_set():
                    return
                try:
                    client.batch_create_with_data(_batch(self.index, batch))
                except HopsFSError as error:
                    self.errors.append(f"batch {batch}: {type(error).__name__}")
                self.batches_done = batch + 1


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_killing_the_namenode_mid_batch_leaves_whole_batches(
    backend: str, request: pytest.FixtureRequest, start_namenodes: StartNamenodes
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "mysql_url")
    (namenode,) = start_namenodes(url)
    writers = [Writer(namenode.url, index) for index in range(WRITERS)]
    for writer in writers:
        writer.start()
    assert wait_until(lambda: min(writer.batches_done for writer in writers) >= BATCHES_BEFORE_KILL, 60)
    namenode.kill()
    assert all(writer.is_alive() for writer in writers), "a writer stopped before the kill"
    killed_at = [writer.batches_done for writer in writers]
    time.sleep(0.3)
    restarted = start_namenodes(url, format=False, port=namenode.port)[0]
    assert wait_until(
        lambda: all(
            writer.batches_done >= done + BATCHES_AFTER_RESTART
            for writer, done in zip(writers, killed_at, strict=True)
        ),
        120,
    )
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        writer.join(300)
        assert not writer.is_alive()
    with hopsfs.connect(restarted.url, user="hdfs") as client:
        for writer in writers:
            for batch in range(writer.batches_done):
                files = _batch(writer.index, batch)
                present = [client.exists(path) for path, _ in files]
                assert all(present) or not any(present), (writer.index, batch, present)
                if all(present):
                    assert all(client.read_bytes(path) == data for path, data in files)
    restarted.stop()
    assert_consistent(url)
    assert_change_log_matches(url)


_APPENDER = """
import sys
import hopsfs
client = hopsfs.connect(sys.argv[1], user="hdfs")
stream = client.open("/grow", "ab")
stream.write(b"appended " * 10000)
stream.hflush()  # the old and new bytes are on the datanodes, the file still open
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_killing_the_appending_client_mid_move_keeps_the_small_file(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "mysql_url")
    old = payload(5000, seed=21)
    clusters = DataClusters(tmp_path)
    try:
        cluster = clusters.start(url)
        with cluster.connect() as client:
            client.write_bytes("/grow", old)
        appender = subprocess.Popen(
            [sys.executable, "-c", _APPENDER, cluster.url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=worker_environment(),
        )
        try:
            assert appender.stdout is not None
            assert appender.stdout.readline().strip() == b"ready"
            with cluster.connect() as reader:
                assert reader.read_bytes("/grow") == old  # mid-move, readers see the old file
        finally:
            appender.kill()  # SIGKILL: no complete, no abandon
            appender.wait(30)
        with cluster.connect() as client:
            assert wait_until(lambda: client.recover_lease("/grow"), 30)
            assert client.read_bytes("/grow") == old
            assert client.stat("/grow").size == len(old)
            assert cluster.engine().read_with_metadata(Caller("hdfs"), "/grow").data == old  # inline again
    finally:
        clusters.close()  # stops the cluster and runs fsck on its store
