"""A fake namenode for datanode tests: the real DatanodeNamenode gRPC service on 127.0.0.1, recording
every call and handing out commands a test queues (a fake *peer* speaking the real protocol while the
namenode's block manager is built elsewhere).

`FakeNamenode().start()` returns its address; datanodes (processes or in-process) register with it.
Heartbeat replies carry the commands queued for that datanode, `reregister` when asked, and nothing
else; `unavailable = True` makes every call fail with UNAVAILABLE (a namenode that is down).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any, TypeVar

import grpc

from hopsfs.protocol.proto import datanode_namenode_pb2 as pb
from hopsfs.protocol.proto.datanode_namenode_pb2_grpc import (
    DatanodeNamenodeServicer,
    add_DatanodeNamenodeServicer_to_server,
)
from hopsfs.protocol.proto.hdfs_pb2 import DatanodeIDProto, DatanodeInfoProto, ExtendedBlockProto

BLOCK_POOL_ID = "BP-1-127.0.0.1-1700000000000"
_T = TypeVar("_T")


class FakeNamenode(DatanodeNamenodeServicer):
    def __init__(
        self,
        block_pool_id: str = BLOCK_POOL_ID,
        heartbeat_interval_ms: int = 100,
        full_block_report_interval_ms: int = 3_600_000,
    ) -> None:
        self.block_pool_id = block_pool_id
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.full_block_report_interval_ms = full_block_report_interval_ms
        self.unavailable = False
        self._lock = threading.Condition()
        self.registrations: list[pb.RegisterRequestProto] = []
        self.heartbeats: list[pb.HeartbeatRequestProto] = []
        self.block_reports: list[pb.BlockReportRequestProto] = []
        self.incremental_reports: list[pb.IncrementalBlockReportRequestProto] = []
        self.bad_replica_reports: list[pb.ReportBadReplicasRequestProto] = []
        self.recovered_replicas: list[pb.ReportRecoveredReplicaRequestProto] = []
        self._commands: dict[str, list[pb.DatanodeCommandProto]] = {}
        self._reregister: set[str] = set()
        self._next_command_id = 1
        self._server: grpc.Server | None = None
        self.address = ""

    def start(self) -> str:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        add_DatanodeNamenodeServicer_to_server(self, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        self.address = f"127.0.0.1:{port}"
        return self.address

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)

    # The service.

    def Register(self, request: pb.RegisterRequestProto, context: grpc.ServicerContext) -> Any:
        self._refuse_if_down(context)
        self._record(self.registrations, request)
        return pb.RegisterResponseProto(
            blockPoolId=self.block_pool_id,
            heartbeatIntervalMs=self.heartbeat_interval_ms,
            fullBlockReportIntervalMs=self.full_block_report_interval_ms,
        )

    def Heartbeat(self, request: pb.HeartbeatRequestProto, context: grpc.ServicerContext) -> Any:
        self._refuse_if_down(context)
        with self._lock:
            self.heartbeats.append(request)
            commands = self._commands.pop(request.datanodeUuid, [])
            reregister = request.datanodeUuid in self._reregister
            self._reregister.discard(request.datanodeUuid)
            self._lock.notify_all()
        return pb.HeartbeatResponseProto(commands=commands, reregister=reregister)

    def BlockReport(self, request: pb.BlockReportRequestProto, context: grpc.ServicerContext) -> Any:
        self._refuse_if_down(context)
        self._record(self.block_reports, request)
        return pb.BlockReportResponseProto()

    def IncrementalBlockReport(
        self, request: pb.IncrementalBlockReportRequestProto, context: grpc.ServicerContext
    ) -> Any:
        self._refuse_if_down(context)
        self._record(self.incremental_reports, request)
        return pb.IncrementalBlockReportResponseProto()

    def ReportBadReplicas(
        self, request: pb.ReportBadReplicasRequestProto, context: grpc.ServicerContext
    ) -> Any:
        self._refuse_if_down(context)
        self._record(self.bad_replica_reports, request)
        return pb.ReportBadReplicasResponseProto()

    def ReportRecoveredReplica(
        self, request: pb.ReportRecoveredReplicaRequestProto, context: grpc.ServicerContext
    ) -> Any:
        self._refuse_if_down(context)
        self._record(self.recovered_replicas, request)
        return pb.ReportRecoveredReplicaResponseProto()

    # What tests use.

    def queue_command(self, datanode_uuid: str, command: pb.DatanodeCommandProto) -> int:
        """Deliver `command` with that datanode's next heartbeat; return its id (a fresh one unless
        the command already has one: resending an id tests that a datanode acts on it once)."""
        with self._lock:
            if not command.HasField("commandId"):
                command.commandId = self._next_command_id
                self._next_command_id += 1
            self._commands.setdefault(datanode_uuid, []).append(command)
            return command.commandId

    def request_reregister(self, datanode_uuid: str) -> None:
        with self._lock:
            self._reregister.add(datanode_uuid)

    def datanode_uuids(self) -> list[str]:
        with self._lock:
            return [registration.identity.datanodeUuid for registration in self.registrations]

    def replicas_reported(self, kind: str, block_id: int) -> list[pb.ReplicaProto]:
        """Replicas of `block_id` in incremental reports' `kind` list (receiving, received, deleted)."""
        with self._lock:
            return [
                replica
                for report in self.incremental_reports
                for replica in getattr(report, kind)
                if replica.blockId == block_id
            ]

    def bad_blocks(self) -> list[int]:
        with self._lock:
            return [block.blockId for report in self.bad_replica_reports for block in report.blocks]

    def wait_for(self, condition: Callable[[], _T | None], timeout_s: float = 10.0) -> _T:
        """Wait until `condition()` is truthy (re-checked on every call received); return its value."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake namenode: condition not met within {timeout_s} s")
                self._lock.wait(min(remaining, 0.05))

    def _record(self, calls: list[Any], request: Any) -> None:
        with self._lock:
            calls.append(request)
            self._lock.notify_all()

    def _refuse_if_down(self, context: grpc.ServicerContext) -> None:
        if self.unavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "fake namenode is down")


def block(block_id: int, genstamp: int, length: int = 0, pool_id: str = BLOCK_POOL_ID) -> ExtendedBlockProto:
    return ExtendedBlockProto(poolId=pool_id, blockId=block_id, generationStamp=genstamp, numBytes=length)


def datanode_info(host: str, port: int, datanode_uuid: str = "") -> DatanodeInfoProto:
    return DatanodeInfoProto(
        id=DatanodeIDProto(
            ipAddr=host, hostName=host, datanodeUuid=datanode_uuid, xferPort=port, infoPort=0, ipcPort=0
        )
    )
