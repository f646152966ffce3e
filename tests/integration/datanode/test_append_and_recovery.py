"""Appends to finalized replicas and the recovery stages, on one in-process datanode over real sockets."""

from __future__ import annotations

import random

import pytest
from datanode_harness import DtpClient, InProcessDatanode, write_request, write_whole_block
from support.fake_namenode_grpc import FakeNamenode

from datanode.storage import ReplicaState
from hopsfs.protocol.proto import datatransfer_pb2 as dt

DATA = random.Random(9).randbytes(200_000)
STAGES = dt.OpWriteBlockProto


def _append(
    datanode: InProcessDatanode, block_id: int, old: int, new: int, start: int, pieces: list[bytes]
) -> list[tuple[int, ...]]:
    """Append `pieces` (one packet each) to a finalized replica of `start` bytes; the acks' statuses."""
    request = write_request(
        block_id, old, stage=STAGES.PIPELINE_SETUP_APPEND, latest_genstamp=new, acked_bytes=start
    )
    with DtpClient(datanode.port) as client:
        response = client.start_write(request)
        assert response is not None and response.status == dt.SUCCESS, response
        offset = start
        for piece in pieces:
            client.send_data(piece, start_offset=offset, packet_bytes=len(piece))
            offset += len(piece)
        return [ack.statuses for ack in client.finish_write(offset)]


@pytest.mark.parametrize(
    "first_packet_bytes",
    [
        236,  # exactly the rest of the partial chunk (what hdfs-native sends first)
        5000,  # runs across several chunks from the mid-chunk start (checksums counted from its start)
    ],
)
def test_append_to_a_finalized_replica_starting_mid_chunk(
    datanode: InProcessDatanode, fake_namenode: FakeNamenode, first_packet_bytes: int
) -> None:
    write_whole_block(datanode.port, 300, 1, DATA[:1300])
    rest = DATA[1300:100_000]
    pieces = [rest[:first_packet_bytes], rest[first_packet_bytes:]]
    assert all(statuses == (dt.SUCCESS,) for statuses in _append(datanode, 300, 1, 2, 1300, pieces))
    record = datanode.store.get(300)
    assert (record.state, record.genstamp, record.length) == (ReplicaState.FINALIZED, 2, 100_000)
    assert datanode.store.verify(300) is None  # every stored chunk checksum, the rewritten one too
    with DtpClient(datanode.port) as reader:
        assert reader.read_bytes(300, 2, 0, 100_000) == DATA[:100_000]
    fake_namenode.wait_for(
        lambda: [r for r in fake_namenode.replicas_reported("received", 300) if r.generationStamp == 2]
    )


def test_append_without_a_new_stamp_and_repeated_appends(datanode: InProcessDatanode) -> None:
    write_whole_block(datanode.port, 301, 5, DATA[:512])
    _append(datanode, 301, 5, 5, 512, [DATA[512:700]])
    _append(datanode, 301, 5, 6, 700, [DATA[700:701]])
    _append(datanode, 301, 6, 7, 701, [DATA[701:3000]])
    with DtpClient(datanode.port) as reader:
        assert reader.read_bytes(301, 7, 0, 3000) == DATA[:3000]
    assert datanode.store.verify(301) is None


def test_an_append_that_expects_another_length_is_refused(datanode: InProcessDatanode) -> None:
    write_whole_block(datanode.port, 302, 1, DATA[:1000])
    request = write_request(302, 1, stage=STAGES.PIPELINE_SETUP_APPEND, latest_genstamp=2, acked_bytes=999)
    with DtpClient(datanode.port) as client:
        response = client.start_write(request)
    assert response is not None and response.status == dt.ERROR_INVALID
    record = datanode.store.get(302)
    assert (record.state, record.genstamp, record.length) == (ReplicaState.FINALIZED, 1, 1000)


def _leave_being_written(datanode: InProcessDatanode, block_id: int, data: bytes) -> None:
    """A writer that sends `data`, sees it acknowledged, and disappears without the last packet."""
    with DtpClient(datanode.port) as client:
        client.start_write(write_request(block_id, 1))
        client.send_data(data)
        assert all(ack.ok for ack in client.collect_acks())
    record = datanode.store.get(block_id)
    assert (record.state, record.length) == (ReplicaState.RBW, len(data))


def test_streaming_recovery_keeps_the_acknowledged_bytes_and_continues(datanode: InProcessDatanode) -> None:
    _leave_being_written(datanode, 303, DATA[:5000])
    # The client saw only 4000 bytes acknowledged: the replica is cut back to them (inside a chunk).
    request = write_request(
        303, 1, stage=STAGES.PIPELINE_SETUP_STREAMING_RECOVERY, latest_genstamp=2, acked_bytes=4000
    )
    with DtpClient(datanode.port) as client:
        response, acks = client.write_block(request, DATA[4000:50_000], start_offset=4000)
    assert response is not None and response.status == dt.SUCCESS
    assert acks and all(ack.ok for ack in acks)
    record = datanode.store.get(303)
    assert (record.state, record.genstamp, record.length) == (ReplicaState.FINALIZED, 2, 50_000)
    assert datanode.store.verify(303) is None
    with DtpClient(datanode.port) as reader:
        assert reader.read_bytes(303, 2, 0, 50_000) == DATA[:50_000]


def test_recovery_refuses_a_replica_shorter_than_what_was_acknowledged(datanode: InProcessDatanode) -> None:
    _leave_being_written(datanode, 304, DATA[:3000])
    request = write_request(
        304, 1, stage=STAGES.PIPELINE_SETUP_STREAMING_RECOVERY, latest_genstamp=2, acked_bytes=3001
    )
    with DtpClient(datanode.port) as client:
        response = client.start_write(request)
    assert response is not None and response.status == dt.ERROR_INVALID
    assert datanode.store.get(304).genstamp == 1


def test_close_recovery_finalizes_with_the_new_stamp(
    datanode: InProcessDatanode, fake_namenode: FakeNamenode
) -> None:
    _leave_being_written(datanode, 305, DATA[:70_000])
    request = write_request(
        305, 1, stage=STAGES.PIPELINE_CLOSE_RECOVERY, latest_genstamp=3, acked_bytes=70_000
    )
    with DtpClient(datanode.port) as client:
        response = client.start_write(request)
        assert response is not None and response.status == dt.SUCCESS
        assert client.sock.recv(10) == b""  # no packets follow a close recovery
    record = datanode.store.get(305)
    assert (record.state, record.genstamp, record.length) == (ReplicaState.FINALIZED, 3, 70_000)
    fake_namenode.wait_for(lambda: fake_namenode.replicas_reported("received", 305))


def test_append_recovery_reopens_a_finalized_replica(datanode: InProcessDatanode) -> None:
    write_whole_block(datanode.port, 306, 1, DATA[:10_000])
    request = write_request(
        306, 1, stage=STAGES.PIPELINE_SETUP_APPEND_RECOVERY, latest_genstamp=2, acked_bytes=10_000
    )
    with DtpClient(datanode.port) as client:
        response, acks = client.write_block(request, DATA[10_000:20_000], start_offset=10_000)
    assert response is not None and response.status == dt.SUCCESS and all(ack.ok for ack in acks)
    with DtpClient(datanode.port) as reader:
        assert reader.read_bytes(306, 2, 0, 20_000) == DATA[:20_000]


def test_recovery_stops_a_writer_still_attached(datanode: InProcessDatanode) -> None:
    stale = DtpClient(datanode.port)
    try:
        stale.start_write(write_request(307, 1))
        stale.send_data(DATA[:8192])
        assert all(ack.ok for ack in stale.collect_acks())
        # The old client is still connected (a hung pipeline); a recovery takes the replica over.
        request = write_request(
            307, 1, stage=STAGES.PIPELINE_SETUP_STREAMING_RECOVERY, latest_genstamp=2, acked_bytes=8192
        )
        with DtpClient(datanode.port) as client:
            response, acks = client.write_block(request, DATA[8192:16384], start_offset=8192)
        assert response is not None and response.status == dt.SUCCESS and all(ack.ok for ack in acks)
        assert stale.sock.recv(10) == b""  # the old pipeline was closed
    finally:
        stale.close()
    with DtpClient(datanode.port) as reader:
        assert reader.read_bytes(307, 2, 0, 16384) == DATA[:16384]
