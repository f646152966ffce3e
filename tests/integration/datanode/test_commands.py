"""Commands from a namenode's heartbeat replies, executed by in-process datanodes: TRANSFER,
INVALIDATE, RECOVER, FINALIZE_RECOVERED, each acted on once."""

from __future__ import annotations

import random
from collections.abc import Callable

from datanode_harness import DtpClient, InProcessDatanode, read_request, write_request, write_whole_block
from support.fake_namenode_grpc import FakeNamenode, block

from datanode.storage import ReplicaState
from datanode.storage.errors import ReplicaNotFound
from hopsfs.protocol.proto import datatransfer_pb2 as dt
from hopsfs.protocol.proto.datanode_namenode_pb2 import DatanodeCommandProto, ReplicaProto

DATA = random.Random(21).randbytes(700_000)
KIND = DatanodeCommandProto


def test_transfer_copies_a_replica_to_every_target(
    start_inprocess: Callable[..., InProcessDatanode], fake_namenode: FakeNamenode
) -> None:
    source, second, third = (start_inprocess(name) for name in ("dn1", "dn2", "dn3"))
    write_whole_block(source.port, 900, 4, DATA)
    command = DatanodeCommandProto(
        kind=KIND.TRANSFER, blocks=[block(900, 4, len(DATA))], targets=[second.info, third.info]
    )
    fake_namenode.queue_command(source.uuid, command)
    for target in (second, third):
        uuid = target.uuid
        report = fake_namenode.wait_for(lambda uuid=uuid: _received_from(fake_namenode, uuid, 900))  # type: ignore[misc]
        assert (report.numBytes, report.generationStamp) == (len(DATA), 4)
        record = target.store.get(900)
        assert (record.state, record.genstamp, record.length) == (ReplicaState.FINALIZED, 4, len(DATA))
        with DtpClient(target.port) as reader:
            assert reader.read_bytes(900, 4, 0, len(DATA)) == DATA


def test_invalidate_deletes_and_reports_and_keeps_a_newer_replica(
    datanode: InProcessDatanode, fake_namenode: FakeNamenode
) -> None:
    write_whole_block(datanode.port, 901, 2, DATA[:1000])
    write_whole_block(datanode.port, 902, 5, DATA[:1000])
    fake_namenode.queue_command(
        datanode.uuid, DatanodeCommandProto(kind=KIND.INVALIDATE, blocks=[block(901, 2), block(902, 4)])
    )
    fake_namenode.wait_for(lambda: fake_namenode.replicas_reported("deleted", 901))
    with DtpClient(datanode.port) as reader:
        assert reader.read(read_request(901, 2, 0, 1)).response.status == dt.ERROR
    assert datanode.store.get(902).genstamp == 5  # newer than the command's stamp: kept
    assert not fake_namenode.replicas_reported("deleted", 902)


def test_recover_then_finalize_recovered_cut_the_replica_to_the_agreed_length(
    datanode: InProcessDatanode, fake_namenode: FakeNamenode
) -> None:
    with DtpClient(datanode.port) as client:  # a writer that died: a replica being written is left
        client.start_write(write_request(903, 1))
        client.send_data(DATA[:5000], packet_bytes=1000)
        assert all(ack.ok for ack in client.collect_acks())
    fake_namenode.queue_command(
        datanode.uuid, DatanodeCommandProto(kind=KIND.RECOVER, blocks=[block(903, 1)], newGenerationStamp=7)
    )
    (recovered,) = fake_namenode.wait_for(lambda: fake_namenode.recovered_replicas)
    assert (recovered.blockId, recovered.newGenerationStamp, recovered.numBytes) == (903, 7, 5000)
    assert recovered.datanodeUuid == datanode.uuid
    fake_namenode.queue_command(
        datanode.uuid,
        DatanodeCommandProto(
            kind=KIND.FINALIZE_RECOVERED, blocks=[block(903, 1)], newGenerationStamp=7, numBytes=4321
        ),
    )
    report = fake_namenode.wait_for(lambda: _received_from(fake_namenode, datanode.uuid, 903))
    assert (report.numBytes, report.generationStamp) == (4321, 7)
    record = datanode.store.get(903)
    assert (record.state, record.genstamp, record.length) == (ReplicaState.FINALIZED, 7, 4321)
    assert datanode.store.verify(903) is None  # the cut chunk got a checksum of the bytes kept
    with DtpClient(datanode.port) as reader:
        assert reader.read_bytes(903, 7, 0, 4321) == DATA[:4321]


def test_recover_stops_the_writer_of_the_block(
    datanode: InProcessDatanode, fake_namenode: FakeNamenode
) -> None:
    writer = DtpClient(datanode.port)
    try:
        writer.start_write(write_request(904, 1))
        writer.send_data(DATA[:3000], packet_bytes=3000)
        assert all(ack.ok for ack in writer.collect_acks())
        fake_namenode.queue_command(
            datanode.uuid,
            DatanodeCommandProto(kind=KIND.RECOVER, blocks=[block(904, 1)], newGenerationStamp=2),
        )
        (recovered,) = fake_namenode.wait_for(lambda: fake_namenode.recovered_replicas)
        assert recovered.numBytes == 3000
        assert writer.sock.recv(10) == b""  # the writer's connection was closed
    finally:
        writer.close()
    assert datanode.store.get(904).genstamp == 2


def test_a_command_id_is_acted_on_once(datanode: InProcessDatanode, fake_namenode: FakeNamenode) -> None:
    write_whole_block(datanode.port, 905, 1, DATA[:100])
    invalidate = DatanodeCommandProto(kind=KIND.INVALIDATE, blocks=[block(905, 1)])
    command_id = fake_namenode.queue_command(datanode.uuid, invalidate)
    fake_namenode.wait_for(lambda: fake_namenode.replicas_reported("deleted", 905))
    write_whole_block(datanode.port, 905, 1, DATA[:100])
    again = DatanodeCommandProto(kind=KIND.INVALIDATE, blocks=[block(905, 1)], commandId=command_id)
    fake_namenode.queue_command(datanode.uuid, again)
    marker = fake_namenode.queue_command(
        datanode.uuid, DatanodeCommandProto(kind=KIND.INVALIDATE, blocks=[block(906, 1)])
    )
    fake_namenode.wait_for(lambda: fake_namenode.replicas_reported("deleted", 906))  # commands run in order
    assert marker > command_id
    assert datanode.store.get(905).length == 100
    assert len(fake_namenode.replicas_reported("deleted", 905)) == 1


def test_commands_for_missing_replicas_are_skipped(
    datanode: InProcessDatanode, fake_namenode: FakeNamenode
) -> None:
    fake_namenode.queue_command(
        datanode.uuid, DatanodeCommandProto(kind=KIND.RECOVER, blocks=[block(907, 1)], newGenerationStamp=2)
    )
    fake_namenode.queue_command(
        datanode.uuid, DatanodeCommandProto(kind=KIND.INVALIDATE, blocks=[block(908, 1)])
    )
    fake_namenode.wait_for(lambda: fake_namenode.replicas_reported("deleted", 908))
    assert not fake_namenode.recovered_replicas
    try:
        datanode.store.get(907)
    except ReplicaNotFound:
        pass
    else:
        raise AssertionError("no replica of blk_907 may appear")


def _received_from(namenode: FakeNamenode, datanode_uuid: str, block_id: int) -> ReplicaProto | None:
    """The replica of `block_id` in a `received` report from that datanode, if any."""
    for report in namenode.incremental_reports:
        if report.datanodeUuid == datanode_uuid:
            for replica in report.received:
                if replica.blockId == block_id:
                    return replica
    return None
