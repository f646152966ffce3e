"""Server bounds (xceivers, idle connections) and OP_TRANSFER_BLOCK, on in-process datanodes."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable

from datanode_harness import (
    DtpClient,
    InProcessDatanode,
    read_request,
    wait_until,
    write_request,
    write_whole_block,
)
from support.fake_namenode_grpc import FakeNamenode

from datanode.config import TransferLimits
from datanode.storage import ReplicaState
from hopsfs.protocol.proto import datatransfer_pb2 as dt
from hopsfs.protocol.proto import hdfs_pb2

DATA = random.Random(17).randbytes(300_000)


def test_connections_past_the_xceiver_limit_are_closed_and_counted(
    start_inprocess: Callable[..., InProcessDatanode],
) -> None:
    datanode = start_inprocess(limits=TransferLimits(xceivers_max=2))
    write_whole_block(datanode.port, 1, 1, DATA[:100])
    wait_until(lambda: datanode.node.server.connections == 0)  # the write's connection has ended
    first, second = DtpClient(datanode.port), DtpClient(datanode.port)
    try:
        assert first.read_bytes(1, 1, 0, 100) == DATA[:100]  # both are being served
        assert second.read_bytes(1, 1, 0, 100) == DATA[:100]
        with socket.create_connection(("127.0.0.1", datanode.port), timeout=10) as third:
            assert third.recv(10) == b""  # closed at once
        assert datanode.node.context is not None
        assert datanode.node.context.metrics.counter("connections_refused") == 1
    finally:
        first.close()
        second.close()


def test_an_idle_connection_is_closed_between_operations(
    start_inprocess: Callable[..., InProcessDatanode],
) -> None:
    datanode = start_inprocess(limits=TransferLimits(idle_timeout_s=0.2))
    write_whole_block(datanode.port, 2, 1, DATA[:100])
    with DtpClient(datanode.port) as client:
        assert client.read_bytes(2, 1, 0, 100) == DATA[:100]
        assert client.sock.recv(10) == b""  # nothing sent for longer than the idle timeout


def test_transfer_block_copies_a_replica_being_written_for_pipeline_recovery(
    start_inprocess: Callable[..., InProcessDatanode], fake_namenode: FakeNamenode
) -> None:
    source, newcomer = start_inprocess("dn1"), start_inprocess("dn2")
    with DtpClient(source.port) as writer:  # a write whose pipeline lost a datanode: rbw left
        writer.start_write(write_request(3, 1))
        writer.send_data(DATA[:100_000])
        assert all(ack.ok for ack in writer.collect_acks())
    request = dt.OpTransferBlockProto(
        header=read_request(3, 1, 0, 0).header, targets=[newcomer.info], targetStorageTypes=[hdfs_pb2.DISK]
    )
    request.header.baseHeader.block.numBytes = 100_000
    with DtpClient(source.port) as client:
        client.send(client.codec.send_transfer_block(request))
        assert client.read_raw_response().status == dt.SUCCESS
    copy = newcomer.store.get(3)
    assert (copy.state, copy.genstamp, copy.length) == (ReplicaState.RBW, 1, 100_000)
    # The client now rebuilds the pipeline over both, with a new stamp, and finishes the block.
    recovery = write_request(
        3,
        1,
        [newcomer.info],
        stage=dt.OpWriteBlockProto.PIPELINE_SETUP_STREAMING_RECOVERY,
        latest_genstamp=2,
        acked_bytes=100_000,
    )
    with DtpClient(source.port) as client:
        response, acks = client.write_block(recovery, DATA[100_000:], start_offset=100_000)
    assert response is not None and response.status == dt.SUCCESS
    assert acks and all(ack.statuses == (dt.SUCCESS, dt.SUCCESS) for ack in acks)
    for datanode in (source, newcomer):
        with DtpClient(datanode.port) as reader:
            assert reader.read_bytes(3, 2, 0, len(DATA)) == DATA


def test_transfer_block_of_more_than_the_replica_holds_copies_what_it_has(
    start_inprocess: Callable[..., InProcessDatanode],
) -> None:
    """A client names the bytes it sent, not what was acknowledged (hdfs-native does): as Hadoop's
    transferReplicaForPipelineRecovery, the source copies the length it has and the client re-sends
    the rest through the rebuilt pipeline."""
    source, newcomer = start_inprocess("dn1"), start_inprocess("dn2")
    write_whole_block(source.port, 4, 1, DATA[:1000])
    request = dt.OpTransferBlockProto(header=read_request(4, 1, 0, 0).header, targets=[newcomer.info])
    request.header.baseHeader.block.numBytes = 1001
    with DtpClient(source.port) as client:
        client.send(client.codec.send_transfer_block(request))
        assert client.read_raw_response().status == dt.SUCCESS
    copy = newcomer.store.get(4)
    assert (copy.state, copy.genstamp, copy.length) == (ReplicaState.FINALIZED, 1, 1000)
