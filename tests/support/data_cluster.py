"""A whole cluster for data-path tests: namenodes and datanodes as real processes on 127.0.0.1.

Built on `hopsfs up`'s own launcher (hopsfs.cli.cluster.LocalCluster), not supervised: a test kills
and restarts processes itself. Intervals are shortened so heartbeats, dead-datanode detection and
re-replication happen within seconds.

Besides the processes, a test sees the cluster the way the namenode does (`engine()`: the metadata
engine on the same store, with the namenodes' block-manager timings, so "live" means the same to both)
and the way the datanodes do (`replica_files`: the block files on each datanode's volume).
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hopsfs
from hopsfs.announce import DATANODE_METRICS, DATANODE_READY
from hopsfs.cli.cluster import ClusterOptions, LocalCluster, ManagedProcess
from hopsfs.client import Client
from hopsfs.types import Caller
from namenode.block_entities import LocatedBlock
from namenode.engine.block_config import BlockManagerConfig
from namenode.engine.namespace import Namespace
from support.cluster import format_store, wait_until
from support.fsck import assert_consistent
from support.worker_launcher import worker_environment

HEARTBEAT_INTERVAL_MS = 300
# Fast enough for tests, slow enough for a loaded 2-core machine not to declare live nodes dead.
DEAD_DATANODE_MS = 4_000
HOUSEKEEPING_INTERVAL_MS = 250
PENDING_REPLICATION_TIMEOUT_MS = 5_000
TEST_NAMENODE_ARGUMENTS = (
    "--heartbeat-interval-ms",
    str(HEARTBEAT_INTERVAL_MS),
    "--dead-datanode-ms",
    str(DEAD_DATANODE_MS),
    "--housekeeping-interval-ms",
    str(HOUSEKEEPING_INTERVAL_MS),
    "--pending-replication-timeout-ms",
    str(PENDING_REPLICATION_TIMEOUT_MS),
)
# The namenodes' timings, for the test's own view of the store (liveness is judged by the reader).
TEST_BLOCK_CONFIG = BlockManagerConfig(
    dead_after_ms=DEAD_DATANODE_MS,
    heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
    pending_replication_timeout_ms=PENDING_REPLICATION_TIMEOUT_MS,
)
# Datanode arguments for a block scanner that verifies everything several times a second.
FAST_SCAN_ARGUMENTS = ("--scan-interval-s", "0.2", "--scan-bytes-per-second", "200000000")
NO_SCAN_ARGUMENTS = ("--no-scan",)
SUPERUSER = Caller("hdfs")
MIB = 1024 * 1024
# The smallest block the namenode allows: multi-block files stay small.
BLOCK_BYTES = MIB
# Long enough for dead-datanode detection plus a re-replication round on a loaded machine.
EVENTUAL_TIMEOUT_S = 45.0


class DataCluster:
    def __init__(
        self,
        data_dir: Path,
        metadata_url: str,
        *,
        namenodes: int = 1,
        datanodes: int = 3,
        namenode_arguments: tuple[str, ...] = (),
        datanode_arguments: tuple[str, ...] = (),
    ) -> None:
        format_store(metadata_url)
        self.data_dir = data_dir
        self.cluster = LocalCluster(
            ClusterOptions(
                data_dir=data_dir,
                metadata_url=metadata_url,
                port=0,
                namenodes=namenodes,
                datanodes=datanodes,
                namenode_arguments=TEST_NAMENODE_ARGUMENTS + namenode_arguments,
                datanode_arguments=datanode_arguments,
                cdc=False,  # the data path needs no change stream; it would only take CPU
            )
        )
        self.metadata_url = metadata_url
        self._engine: Namespace | None = None
        try:
            self.url = self.cluster.start()
        except BaseException:
            self.cluster.stop()  # the processes that did start
            raise

    # -- processes --------------------------------------------------------------------------------

    def datanode(self, index: int) -> ManagedProcess:
        return self.cluster.process_named(f"datanode-{index}")

    def datanode_names(self) -> list[str]:
        return [managed.name for managed in self.cluster.processes if managed.name.startswith("datanode-")]

    def datanode_indexes(self) -> list[int]:
        return [int(name.removeprefix("datanode-")) for name in self.datanode_names()]

    def kill_datanode(self, index: int) -> None:
        """SIGKILL: no goodbye to the namenode, no flush, sockets reset."""
        self.datanode(index).kill()

    def restart_datanode(self, index: int) -> None:
        """Start datanode `index` again on its volume (stopped with SIGTERM first if it still runs)."""
        managed = self.datanode(index)
        if managed.alive():
            managed.stop(signal.SIGTERM)
        managed.start(DATANODE_READY)

    def add_datanode(self) -> ManagedProcess:
        return self.cluster.start_datanode(len(self.datanode_names()) + 1)

    def datanode_uuid(self, index: int) -> str:
        """The uuid datanode `index` printed on its (latest) ready line."""
        match = self.datanode(index).ready_match
        assert match is not None, f"datanode-{index} never started"
        return match.group(3)

    def datanode_port(self, index: int) -> int:
        match = self.datanode(index).ready_match
        assert match is not None, f"datanode-{index} never started"
        return int(match.group(2))

    def datanode_index(self, uuid: str) -> int:
        """Which datanode has this uuid."""
        for index in self.datanode_indexes():
            if self.datanode_uuid(index) == uuid:
                return index
        raise KeyError(uuid)

    def datanode_log(self, index: int) -> str:
        """Everything datanode `index` logged in this test, across restarts (its log file)."""
        return (self.cluster.log_dir / f"datanode-{index}.log").read_text(encoding="utf-8")

    def datanode_metrics(self, index: int) -> dict[str, float]:
        """Datanode `index`'s /metrics, as {sample name with labels: value}."""
        # The log, not the last lines kept in memory: the URL is printed once, at start (the latest).
        found = DATANODE_METRICS.findall(self.datanode_log(index))
        assert found, f"datanode-{index} printed no metrics URL"
        url = found[-1]
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def output(self) -> str:
        """Everything every process printed (for failure messages)."""
        return "\n".join(
            f"--- {managed.name}\n" + "\n".join(managed.output_lines) for managed in self.cluster.processes
        )

    @property
    def domain_socket(self) -> str:
        """The datanodes' domain socket pattern: pass it as `domain_socket=` for short-circuit reads."""
        pattern = self.cluster.domain_socket
        assert pattern is not None, "the cluster was started without short-circuit reads"
        return pattern

    def connect(self, **options: Any) -> Client:
        """A blocking hopsfs client of the cluster, as the superuser (close it)."""
        return hopsfs.connect(self.url, user=SUPERUSER.user, **options)

    def stop(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.cluster.stop()

    # -- the namenode's view ----------------------------------------------------------------------

    def engine(self) -> Namespace:
        """The metadata engine on the cluster's store (opened once, closed by `stop`)."""
        if self._engine is None:
            self._engine = Namespace.open(self.metadata_url, block_config=TEST_BLOCK_CONFIG)
        return self._engine

    def blocks(self, path: str) -> list[LocatedBlock]:
        """Every block of `path` with the datanodes the namenode would send a reader to."""
        return self.engine().get_block_locations(SUPERUSER, path, 0, 2**62).blocks

    def holders(self, path: str) -> list[set[int]]:
        """Per block of `path`, the indexes of the datanodes listed for it."""
        return [{self.datanode_index(node.uuid) for node in block.locations} for block in self.blocks(path)]

    def fully_replicated(self, path: str, replication: int, excluded: frozenset[int] = frozenset()) -> bool:
        """Every block of `path` listed on exactly `replication` datanodes, none of them in `excluded`."""
        holders = self.holders(path)
        return bool(holders) and all(len(nodes) == replication and not nodes & excluded for nodes in holders)

    def replica_mismatches(self, path: str, data: bytes) -> list[str]:
        """Where the replicas the namenode lists for `path` (on datanodes still running) differ from
        `data` on disk: a missing finalized file or other bytes. Empty when every one is exact."""
        problems = []
        for block in self.blocks(path):
            expected = data[block.offset : block.offset + block.block.num_bytes]
            if len(expected) != block.block.num_bytes:
                problems.append(f"{block.block} ends past the {len(data)} bytes written")
            for node in block.locations:
                index = self.datanode_index(node.uuid)
                if not self.datanode(index).alive():
                    continue
                replica = self.finalized_replica(index, block.block.block_id)
                if replica is None:
                    problems.append(
                        f"{block.block} listed on datanode-{index}, which has no finalized replica"
                    )
                elif replica.read_bytes() != expected:
                    problems.append(f"{block.block} on datanode-{index}: {replica} holds other bytes")
        return problems

    def being_written(self, path: str) -> bool:
        """Whether the namenode holds `path` open for writing (under construction, not complete)."""
        return self.engine().stat(SUPERUSER, path).under_construction

    def check_namespace(self) -> None:
        assert_consistent(self.metadata_url)

    # -- the datanodes' view ----------------------------------------------------------------------

    def volume(self, index: int) -> Path:
        return self.data_dir / f"datanode-{index}"

    def replica_files(self, index: int, block_id: int) -> list[Path]:
        """The data files of `block_id` on datanode `index`'s volume (finalized or being written)."""
        return sorted(self.volume(index).rglob(f"blk_{block_id}"))

    def finalized_replica(self, index: int, block_id: int) -> Path | None:
        found = [path for path in self.replica_files(index, block_id) if "finalized" in path.parts]
        assert len(found) <= 1, found
        return found[0] if found else None


@contextlib.contextmanager
def running_data_cluster(data_dir: Path, metadata_url: str, **options: object) -> Iterator[DataCluster]:
    """A started DataCluster, always stopped; the namespace is checked (fsck) after a clean run."""
    cluster = DataCluster(data_dir, metadata_url, **options)  # type: ignore[arg-type]
    try:
        yield cluster
    finally:
        cluster.stop()
    cluster.check_namespace()


class DataClusters:
    """The clusters one test starts, each in its own directory under `root`; `close` stops them all
    and checks each namespace (what a fixture yields `start` of)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._stack = contextlib.ExitStack()
        self._started = 0

    def start(self, metadata_url: str, **options: object) -> DataCluster:
        self._started += 1
        data_dir = self._root / f"cluster-{self._started}"
        data_dir.mkdir()
        return self._stack.enter_context(running_data_cluster(data_dir, metadata_url, **options))

    def close(self) -> None:
        self._stack.close()


StartDataCluster = Callable[..., DataCluster]
# A datanode's /metrics sample counting the reads it served over TCP.
READ_BLOCK_OPS = 'hopsfs_datanode_ops_total{op="READ_BLOCK"}'


@pytest.fixture(name="start_data_cluster")
def start_data_cluster_fixture(tmp_path: Path) -> Iterator[StartDataCluster]:
    """`start(metadata_url, **options)` for clusters that are all stopped (and fsck-ed) after the test;
    a test module or conftest imports this fixture to use it."""
    clusters = DataClusters(tmp_path)
    try:
        yield clusters.start
    finally:
        clusters.close()


def payload(size: int, seed: int) -> bytes:
    """`size` reproducible random bytes."""
    return random.Random(seed).randbytes(size)


def write_file(
    client: Client,
    path: str,
    data: bytes,
    *,
    replication: int = 3,
    piece_bytes: int | None = None,
    block_size: int = BLOCK_BYTES,
) -> None:
    """Create (or overwrite) `path` with `data`, written `piece_bytes` at a time (all at once by default)."""
    with client.create(path, block_size=block_size, replication=replication, overwrite=True) as stream:
        step = piece_bytes or max(len(data), 1)
        for start in range(0, len(data), step):
            stream.write(data[start : start + step])


def flip_byte(path: Path, offset: int) -> None:
    """Invert one bit of the byte at `offset` of a file on disk (a replica going bad under a datanode)."""
    with path.open("r+b") as stream:
        stream.seek(offset)
        original = stream.read(1)
        assert len(original) == 1, f"{path} has no byte at {offset}"
        stream.seek(offset)
        stream.write(bytes([original[0] ^ 0x10]))


def run_dfs(url: str, *arguments: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """`python -m hopsfs.cli.main dfs -fs URL ARGUMENTS...` as the superuser, output captured as bytes."""
    environment = {**worker_environment(), "HADOOP_USER_NAME": SUPERUSER.user}
    return subprocess.run(
        [sys.executable, "-m", "hopsfs.cli.main", "dfs", "-fs", url, *arguments],
        input=stdin,
        capture_output=True,
        env=environment,
        timeout=120,
        check=False,
    )


__all__ = [
    "BLOCK_BYTES",
    "EVENTUAL_TIMEOUT_S",
    "FAST_SCAN_ARGUMENTS",
    "MIB",
    "NO_SCAN_ARGUMENTS",
    "DataCluster",
    "DataClusters",
    "flip_byte",
    "payload",
    "run_dfs",
    "running_data_cluster",
    "wait_until",
    "write_file",
]
