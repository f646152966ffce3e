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
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
        url = None
        for line in self.datanode(index).output_lines:
            if (match := DATANODE_METRICS.search(line)) is not None:
                url = match.group(1)
        assert url is not None, f"datanode-{index} printed no metrics URL"
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
    "EVENTUAL_TIMEOUT_S",
    "FAST_SCAN_ARGUMENTS",
    "NO_SCAN_ARGUMENTS",
    "DataCluster",
    "flip_byte",
    "run_dfs",
    "running_data_cluster",
    "wait_until",
]
