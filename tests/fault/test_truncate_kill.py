"""Kill -9 of the namenode during truncate, then restart it on its ports. A cut inside a block that
returned False (block recovery pending) is finished by the restarted namenode's housekeeping: the file
closes at the new length with the right bytes on every replica. And a client that keeps moving block
files inline (truncate to a small length) while the namenode dies at random points: afterwards each
file holds its old bytes or exactly its cut bytes, never anything else, and fsck is clean. On both
backends; a failure prints the seed, and HOPSFS_TRUNCATE_KILL_SEED replays it.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest
from support.cluster import wait_until
from support.data_cluster import (
    BLOCK_BYTES,
    EVENTUAL_TIMEOUT_S,
    DataCluster,
    DataClusters,
    payload,
    write_file,
)

import hopsfs
from hopsfs.announce import NAMENODE_READY
from hopsfs.errors import HopsFSError
from hopsfs.types import Caller

SUPERUSER = Caller("hdfs")
# A RECOVER answer lost with the killed namenode is asked again after this long.
RECOVERY_ARGUMENTS = ("--recovery-timeout-ms", "3000")
FILES = 100
FILE_BYTES = 100_000
KILLS = 2


def _restart_namenode(cluster: DataCluster, down_s: float = 0.2) -> None:
    """Kill -9 namenode-1 and start it again, `down_s` later, on the ports it had (clients and
    datanodes find it)."""
    managed = cluster.cluster.process_named("namenode-1")
    managed.kill()
    pinned = {"--port": cluster.cluster.port, "--datanode-port": cluster.cluster.datanode_service_port}
    command = list(managed.command)
    for flag, value in pinned.items():
        command[command.index(flag) + 1] = str(value)
    managed.command = command
    time.sleep(down_s)
    managed.start(NAMENODE_READY)


def _url(request: pytest.FixtureRequest, backend: str) -> str:
    return str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "mysql_url"))


# Down longer than the recovery timeout: the restarted namenode starts the recovery again before any
# datanode saw the first RECOVER, so its replicas are older than the block's new stamp and must fit.
@pytest.mark.parametrize("down_s", [0.2, 4.0])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_a_restarted_namenode_finishes_a_cut_inside_a_block(
    backend: str, down_s: float, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    data = payload(2 * BLOCK_BYTES + 500, seed=31)
    new_length = BLOCK_BYTES + 4321
    clusters = DataClusters(tmp_path)
    try:
        cluster = clusters.start(_url(request, backend), namenode_arguments=RECOVERY_ARGUMENTS)
        with cluster.connect() as client:
            write_file(client, "/f", data, replication=3)
            assert not client.truncate("/f", new_length, wait=False)
        _restart_namenode(cluster, down_s)
        with cluster.connect() as client:
            assert wait_until(lambda: client.is_file_closed("/f"), EVENTUAL_TIMEOUT_S), cluster.output()
            assert client.stat("/f").size == new_length, cluster.output()
            assert client.read_bytes("/f") == data[:new_length]
            assert client.truncate("/f", new_length)  # re-sent after the recovery: True
        assert wait_until(lambda: cluster.fully_replicated("/f", 3), EVENTUAL_TIMEOUT_S), (
            f"holders {cluster.holders('/f')}\n{cluster.output()}"
        )
        assert cluster.replica_mismatches("/f", data[:new_length]) == []
    finally:
        clusters.close()  # stops the cluster and runs fsck on its store


class Mover(threading.Thread):
    """Cuts /m/f0, /m/f1, ... to small lengths in turn (each a move inline), through the kills."""

    def __init__(self, url: str, lengths: list[int]) -> None:
        super().__init__(name="truncate-mover")
        self.url = url
        self.lengths = lengths
        self.files_done = 0
        self.errors: list[str] = []

    def run(self) -> None:
        with hopsfs.connect(self.url, user="hdfs", attempts_max=12) as client:
            for index, length in enumerate(self.lengths):
                try:
                    client.truncate(f"/m/f{index}", length)
                except (HopsFSError, OSError) as error:
                    self.errors.append(f"f{index}: {type(error).__name__}: {error}")
                self.files_done = index + 1


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_killing_the_namenode_during_moves_inline_loses_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    seed = int(os.environ.get("HOPSFS_TRUNCATE_KILL_SEED", random.randrange(1 << 30)))
    chooser = random.Random(seed)
    lengths = [chooser.randrange(0, 60_000) for _ in range(FILES)]
    contents = [payload(FILE_BYTES, seed=index) for index in range(FILES)]
    clusters = DataClusters(tmp_path)
    try:
        cluster = clusters.start(_url(request, backend), namenode_arguments=RECOVERY_ARGUMENTS)
        with cluster.connect() as client:
            for index, data in enumerate(contents):
                write_file(client, f"/m/f{index}", data, replication=2)
        mover = Mover(cluster.url, lengths)
        mover.start()
        for _ in range(KILLS):
            time.sleep(chooser.uniform(0.0, 0.6))
            _restart_namenode(cluster)
        mover.join(300)
        assert not mover.is_alive(), f"seed {seed}"
        assert mover.files_done == FILES, f"seed {seed}"
        engine = cluster.engine()
        with cluster.connect() as client:
            for index, data in enumerate(contents):
                path = f"/m/f{index}"
                held = client.read_bytes(path)
                assert held in (data, data[: lengths[index]]), f"seed {seed}: {path} holds other bytes"
                if engine.read_with_metadata(SUPERUSER, path).data is not None:
                    assert held == data[: lengths[index]], f"seed {seed}: {path} inline but not cut"
    finally:
        clusters.close()
