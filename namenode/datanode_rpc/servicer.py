"""DatanodeNamenode calls -> block manager transactions.

Each call parses its request into engine values, runs one engine entry point and answers; engine
errors become gRPC status codes with the error's message (a datanode logs them and retries).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

import grpc

from hopsfs.errors import HopsFSError, InvalidArgument, TransientError
from hopsfs.protocol.proto import datanode_namenode_pb2 as pb
from hopsfs.protocol.proto import datanode_namenode_pb2_grpc
from namenode.block_entities import (
    Block,
    DatanodeCommand,
    DatanodeRegistration,
    HeartbeatResult,
    RegisterResult,
    ReportedReplica,
    StorageReport,
)
from namenode.block_protos import block_from_proto, command_to_proto

_log = logging.getLogger("hopsfs.namenode.datanodes")
_T = TypeVar("_T")


class BlockManagerPort(Protocol):
    """What the datanode service needs from the engine."""

    def block_pool_id(self) -> str: ...

    def register_datanode(
        self, registration: DatanodeRegistration, storage: StorageReport, now_ms: int
    ) -> RegisterResult: ...

    def heartbeat(
        self, uuid: str, storage: StorageReport, active_transfers: int, now_ms: int
    ) -> HeartbeatResult: ...

    def full_block_report(
        self, uuid: str, replicas: list[ReportedReplica], now_ms: int
    ) -> list[DatanodeCommand]: ...

    def incremental_block_report(
        self,
        uuid: str,
        receiving: list[ReportedReplica],
        received: list[ReportedReplica],
        deleted: list[ReportedReplica],
        now_ms: int,
    ) -> None: ...

    def report_bad_replicas(self, uuid: str, blocks: list[Block], now_ms: int) -> None: ...

    def report_recovered_replica(
        self, uuid: str, block_id: int, new_generation_stamp: int, num_bytes: int, now_ms: int
    ) -> None: ...


class DatanodeService(datanode_namenode_pb2_grpc.DatanodeNamenodeServicer):
    def __init__(self, manager: BlockManagerPort) -> None:
        self._manager = manager
        self._pool_id = manager.block_pool_id()
        self.calls = 0
        self.errors = 0

    def Register(
        self, request: pb.RegisterRequestProto, context: grpc.ServicerContext
    ) -> pb.RegisterResponseProto:
        def register() -> pb.RegisterResponseProto:
            identity = request.identity
            registration = DatanodeRegistration(
                uuid=_required_text(identity.datanodeUuid, "datanodeUuid"),
                storage_id=_required_text(identity.storageId, "storageId"),
                host_name=_required_text(identity.hostName, "hostName"),
                transfer_port=_port(identity.transferPort, "transferPort"),
                info_port=identity.infoPort,
                software_version=identity.softwareVersion,
            )
            result = self._manager.register_datanode(registration, _storage(request.storage), _now_ms())
            _log.info(
                "datanode %s registered from %s:%d (storage %s)",
                registration.uuid,
                registration.host_name,
                registration.transfer_port,
                registration.storage_id,
            )
            return pb.RegisterResponseProto(
                blockPoolId=result.block_pool_id,
                heartbeatIntervalMs=result.heartbeat_interval_ms,
                fullBlockReportIntervalMs=result.full_report_interval_ms,
            )

        return self._run(context, "Register", register)

    def Heartbeat(
        self, request: pb.HeartbeatRequestProto, context: grpc.ServicerContext
    ) -> pb.HeartbeatResponseProto:
        def heartbeat() -> pb.HeartbeatResponseProto:
            uuid = _required_text(request.datanodeUuid, "datanodeUuid")
            result = self._manager.heartbeat(
                uuid, _storage(request.storage), request.activeTransfers, _now_ms()
            )
            return pb.HeartbeatResponseProto(
                commands=self._commands(result.commands),
                reregister=result.reregister,
                fullBlockReportRequested=result.full_report_requested,
            )

        return self._run(context, "Heartbeat", heartbeat)

    def BlockReport(
        self, request: pb.BlockReportRequestProto, context: grpc.ServicerContext
    ) -> pb.BlockReportResponseProto:
        def block_report() -> pb.BlockReportResponseProto:
            uuid = _required_text(request.datanodeUuid, "datanodeUuid")
            replicas = _replicas(request.replicas)
            commands = self._manager.full_block_report(uuid, replicas, _now_ms())
            _log.info(
                "full block report from %s: %d replicas, %d commands", uuid, len(replicas), len(commands)
            )
            return pb.BlockReportResponseProto(commands=self._commands(commands))

        return self._run(context, "BlockReport", block_report)

    def IncrementalBlockReport(
        self, request: pb.IncrementalBlockReportRequestProto, context: grpc.ServicerContext
    ) -> pb.IncrementalBlockReportResponseProto:
        def incremental() -> pb.IncrementalBlockReportResponseProto:
            self._manager.incremental_block_report(
                _required_text(request.datanodeUuid, "datanodeUuid"),
                _replicas(request.receiving),
                _replicas(request.received),
                _replicas(request.deleted),
                _now_ms(),
            )
            return pb.IncrementalBlockReportResponseProto()

        return self._run(context, "IncrementalBlockReport", incremental)

    def ReportBadReplicas(
        self, request: pb.ReportBadReplicasRequestProto, context: grpc.ServicerContext
    ) -> pb.ReportBadReplicasResponseProto:
        def report_bad() -> pb.ReportBadReplicasResponseProto:
            uuid = _required_text(request.datanodeUuid, "datanodeUuid")
            blocks = [block_from_proto(block) for block in request.blocks]
            _log.warning("datanode %s reports bad replicas: %s", uuid, [block.block_id for block in blocks])
            self._manager.report_bad_replicas(uuid, blocks, _now_ms())
            return pb.ReportBadReplicasResponseProto()

        return self._run(context, "ReportBadReplicas", report_bad)

    def ReportRecoveredReplica(
        self, request: pb.ReportRecoveredReplicaRequestProto, context: grpc.ServicerContext
    ) -> pb.ReportRecoveredReplicaResponseProto:
        def recovered() -> pb.ReportRecoveredReplicaResponseProto:
            self._manager.report_recovered_replica(
                _required_text(request.datanodeUuid, "datanodeUuid"),
                request.blockId,
                request.newGenerationStamp,
                request.numBytes,
                _now_ms(),
            )
            return pb.ReportRecoveredReplicaResponseProto()

        return self._run(context, "ReportRecoveredReplica", recovered)

    def render_metrics(self) -> str:
        return (
            "# TYPE hopsfs_namenode_datanode_calls_total counter\n"
            f"hopsfs_namenode_datanode_calls_total {self.calls}\n"
            "# TYPE hopsfs_namenode_datanode_call_errors_total counter\n"
            f"hopsfs_namenode_datanode_call_errors_total {self.errors}\n"
        )

    # -- helpers --------------------------------------------------------------------------------

    def _commands(self, commands: Iterable[DatanodeCommand]) -> list[pb.DatanodeCommandProto]:
        return [command_to_proto(command, self._pool_id) for command in commands]

    def _run(self, context: grpc.ServicerContext, name: str, action: Callable[[], _T]) -> _T:
        self.calls += 1
        try:
            return action()
        except InvalidArgument as error:
            self.errors += 1
            _log.warning("%s refused: %s", name, error)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except TransientError as error:
            self.errors += 1
            context.abort(grpc.StatusCode.UNAVAILABLE, f"{type(error).__name__}: {error}")
        except HopsFSError as error:
            self.errors += 1
            _log.warning("%s failed: %s: %s", name, type(error).__name__, error)
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{type(error).__name__}: {error}")
        raise AssertionError("unreachable: context.abort raises")


def _replicas(protos: Iterable[pb.ReplicaProto]) -> list[ReportedReplica]:
    return [
        ReportedReplica(
            block_id=proto.blockId,
            generation_stamp=proto.generationStamp,
            num_bytes=proto.numBytes,
            finalized=proto.state == pb.ReplicaProto.FINALIZED,
        )
        for proto in protos
    ]


def _storage(proto: pb.StorageReportProto) -> StorageReport:
    return StorageReport(proto.capacityBytes, proto.usedBytes, proto.remainingBytes)


def _required_text(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument(f"{field} is empty")
    return value


def _port(value: int, field: str) -> int:
    if not 0 < value < 65536:
        raise InvalidArgument(f"{field} {value} is not a TCP port")
    return value


def _now_ms() -> int:
    return int(time.time() * 1000)
