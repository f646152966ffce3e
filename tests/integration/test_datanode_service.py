"""The namenode's gRPC service for datanodes, spoken to by a raw gRPC stub (the datanode's own client
is tested in tests/integration/datanode): registration, heartbeats with commands, reports, errors."""

from __future__ import annotations

import grpc
import pytest
from support.cluster import StartNamenodes

from hopsfs.announce import NAMENODE_DATANODE_SERVICE, last_match
from hopsfs.client import AsyncClient
from hopsfs.protocol.proto import datanode_namenode_pb2 as pb
from hopsfs.protocol.proto import datanode_namenode_pb2_grpc


def _stub(namenode_output: list[str]) -> datanode_namenode_pb2_grpc.DatanodeNamenodeStub:
    match = last_match(NAMENODE_DATANODE_SERVICE, namenode_output)
    assert match is not None, namenode_output
    channel = grpc.insecure_channel(f"{match.group(1)}:{match.group(2)}")
    return datanode_namenode_pb2_grpc.DatanodeNamenodeStub(channel)


def _identity(index: int) -> pb.DatanodeIdentityProto:
    return pb.DatanodeIdentityProto(
        datanodeUuid=f"dn-{index}", hostName="127.0.0.1", transferPort=50_010 + index, storageId=f"DS-{index}"
    )


STORAGE = pb.StorageReportProto(capacityBytes=10**12, usedBytes=0, remainingBytes=10**12)


def test_registered_datanodes_receive_blocks_and_report_them(
    db_url: str, start_namenodes: StartNamenodes
) -> None:
    namenode = start_namenodes(db_url, extra_arguments=("--datanode-port", "0"))[0]
    stub = _stub(namenode.output_lines)
    registered = stub.Register(pb.RegisterRequestProto(identity=_identity(1), storage=STORAGE))
    assert registered.blockPoolId.startswith("BP-") and registered.heartbeatIntervalMs > 0
    answer = stub.Heartbeat(pb.HeartbeatRequestProto(datanodeUuid="dn-1", storage=STORAGE))
    assert not answer.reregister and list(answer.commands) == []
    stranger = stub.Heartbeat(pb.HeartbeatRequestProto(datanodeUuid="dn-unknown", storage=STORAGE))
    assert stranger.reregister

    import asyncio

    from hopsfs.protocol.proto import client_namenode_protocol_pb2 as cpb

    async def write_one_block() -> tuple[int, int, list[str]]:
        async with AsyncClient(namenode.url, user="hdfs") as client:
            await client._call(
                "create",
                cpb.CreateRequestProto(
                    src="/f",
                    masked={"perm": 0o644},
                    clientName=client.client_name,
                    createFlag=cpb.CREATE,
                    createParent=True,
                    replication=3,
                    blockSize=1 << 20,
                ),
                cpb.CreateResponseProto,
            )
            added = await client._call(
                "addBlock",
                cpb.AddBlockRequestProto(src="/f", clientName=client.client_name),
                cpb.AddBlockResponseProto,
            )
            block = added.block  # type: ignore[attr-defined]
            uuids = [location.id.datanodeUuid for location in block.locs]
            return block.b.blockId, block.b.generationStamp, uuids

    block_id, stamp, uuids = asyncio.run(write_one_block())
    # Replication 3 is clamped to the one live datanode.
    assert uuids == ["dn-1"]
    stub.IncrementalBlockReport(
        pb.IncrementalBlockReportRequestProto(
            datanodeUuid="dn-1",
            received=[
                pb.ReplicaProto(
                    blockId=block_id, generationStamp=stamp, numBytes=100, state=pb.ReplicaProto.FINALIZED
                )
            ],
        )
    )


def test_bad_requests_get_grpc_errors_and_the_service_keeps_serving(
    sqlite_url: str, start_namenodes: StartNamenodes
) -> None:
    namenode = start_namenodes(sqlite_url, extra_arguments=("--datanode-port", "0"))[0]
    stub = _stub(namenode.output_lines)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Register(
            pb.RegisterRequestProto(
                identity=pb.DatanodeIdentityProto(
                    datanodeUuid="dn-1", hostName="127.0.0.1", transferPort=70_000, storageId="DS-1"
                ),
                storage=STORAGE,
            )
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "transferPort" in (refused.value.details() or "")
    with pytest.raises(grpc.RpcError) as unknown:
        stub.BlockReport(pb.BlockReportRequestProto(datanodeUuid="dn-never-registered"))
    assert unknown.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert stub.Register(pb.RegisterRequestProto(identity=_identity(2), storage=STORAGE)).blockPoolId
    assert not any("Traceback" in line for line in namenode.output_lines)
