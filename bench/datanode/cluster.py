"""What the datanode benchmark runs against: `hopsfs datanode` processes registered with a stub
namenode (the smallest DatanodeNamenode gRPC service that lets a datanode start and report)."""

from __future__ import annotations

import os
import signal
import sys
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from hopsfs.announce import DATANODE_READY
from hopsfs.cli.cluster import ManagedProcess
from hopsfs.protocol.proto import datanode_namenode_pb2 as pb
from hopsfs.protocol.proto.datanode_namenode_pb2_grpc import (
    DatanodeNamenodeServicer,
    add_DatanodeNamenodeServicer_to_server,
)

BLOCK_POOL_ID = "BP-bench"
START_TIMEOUT_S = 60.0


class StubNamenode(DatanodeNamenodeServicer):
    """Accepts registrations and reports; hands out no commands."""

    def __init__(self) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        add_DatanodeNamenodeServicer_to_server(self, self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        self.address = f"127.0.0.1:{port}"

    def stop(self) -> None:
        self._server.stop(grace=None)

    def Register(self, request: Any, context: Any) -> Any:
        return pb.RegisterResponseProto(
            blockPoolId=BLOCK_POOL_ID, heartbeatIntervalMs=3000, fullBlockReportIntervalMs=3_600_000
        )

    def Heartbeat(self, request: Any, context: Any) -> Any:
        return pb.HeartbeatResponseProto()

    def BlockReport(self, request: Any, context: Any) -> Any:
        return pb.BlockReportResponseProto()

    def IncrementalBlockReport(self, request: Any, context: Any) -> Any:
        return pb.IncrementalBlockReportResponseProto()

    def ReportBadReplicas(self, request: Any, context: Any) -> Any:
        return pb.ReportBadReplicasResponseProto()

    def ReportRecoveredReplica(self, request: Any, context: Any) -> Any:
        return pb.ReportRecoveredReplicaResponseProto()


class BenchDatanode:
    """One `hopsfs datanode` process and its CPU time."""

    def __init__(self, data_dir: Path, namenode_address: str, sendfile: bool) -> None:
        command = [sys.executable, "-m", "hopsfs.cli.main", "datanode", "--data-dir", str(data_dir)]
        command += ["--namenode", namenode_address, "--no-scan"]
        if not sendfile:
            command.append("--no-sendfile")
        environment = dict(os.environ)
        repository = str(Path(__file__).resolve().parents[2])
        environment["PYTHONPATH"] = os.pathsep.join(
            p for p in (repository, environment.get("PYTHONPATH")) if p
        )
        self.managed = ManagedProcess("datanode", command, environment=environment)
        match = self.managed.start(DATANODE_READY, START_TIMEOUT_S)
        self.port = int(match.group(2))
        self.uuid = match.group(3)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.managed.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.managed.stop(signal.SIGTERM)
