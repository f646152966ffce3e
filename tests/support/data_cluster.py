"""A whole cluster for data-path tests: namenodes and datanodes as real processes on 127.0.0.1.

Built on `hopsfs up`'s own launcher (hopsfs.cli.cluster.LocalCluster), not supervised: a test kills
and restarts processes itself. Intervals are shortened so heartbeats, dead-datanode detection and
re-replication happen within seconds.
"""

from __future__ import annotations

import signal
from pathlib import Path

from hopsfs.cli.cluster import ClusterOptions, LocalCluster, ManagedProcess
from support.cluster import format_store

# Fast enough for tests, slow enough for a loaded 2-core machine not to declare live nodes dead.
TEST_NAMENODE_ARGUMENTS = (
    "--heartbeat-interval-ms",
    "300",
    "--dead-datanode-ms",
    "4000",
    "--housekeeping-interval-ms",
    "250",
    "--pending-replication-timeout-ms",
    "5000",
)


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
        self.url = self.cluster.start()

    def datanode(self, index: int) -> ManagedProcess:
        return self.cluster.process_named(f"datanode-{index}")

    def datanode_names(self) -> list[str]:
        return [managed.name for managed in self.cluster.processes if managed.name.startswith("datanode-")]

    def kill_datanode(self, index: int) -> None:
        self.datanode(index).kill()

    def restart_datanode(self, index: int) -> None:
        from hopsfs.announce import DATANODE_READY

        managed = self.datanode(index)
        if managed.alive():
            managed.stop(signal.SIGTERM)
        managed.start(DATANODE_READY)

    def add_datanode(self) -> ManagedProcess:
        return self.cluster.start_datanode(len(self.datanode_names()) + 1)

    def output(self) -> str:
        """Everything every process printed (for failure messages)."""
        return "\n".join(
            f"--- {managed.name}\n" + "\n".join(managed.output_lines) for managed in self.cluster.processes
        )

    def stop(self) -> None:
        self.cluster.stop()
