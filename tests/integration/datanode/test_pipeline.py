"""Write pipelines through three real datanode processes: acks in order from every datanode, replicas
finalized and reported, a datanode killed mid-write named in the ack, and the pipeline rebuilt on the
rest with a new generation stamp (PIPELINE_SETUP_STREAMING_RECOVERY)."""

from __future__ import annotations

import random
from collections.abc import Callable

from datanode_harness import DatanodeProcess, DtpClient, write_request
from support.fake_namenode_grpc import FakeNamenode

from hopsfs.protocol.proto import datatransfer_pb2 as dt

DATA = random.Random(3).randbytes(2_500_000)
PACKET = 64 * 1024
SUCCESS3 = (dt.SUCCESS, dt.SUCCESS, dt.SUCCESS)


def test_a_block_written_through_three_datanodes_reads_back_from_each(
    start_process: Callable[..., DatanodeProcess], fake_namenode: FakeNamenode
) -> None:
    first, second, third = (start_process(name) for name in ("dn1", "dn2", "dn3"))
    half = 20 * PACKET
    with DtpClient(first.port) as client:
        response = client.start_write(write_request(7001, 1001, [second.info, third.info]))
        client.send_data(DATA[:half])
        client.send(client.codec.send_heartbeat())  # a keep-alive travels the pipeline and is acked
        _, synced = client.codec.send_packet(half, DATA[half : half + 1000], sync_block=True)  # hflush
        client.send(synced)
        client.send_data(DATA[half + 1000 :], start_offset=half + 1000)
        acks = client.finish_write(len(DATA))
    assert response is not None and response.status == dt.SUCCESS
    data_packets = 20 + 1 + -(-(len(DATA) - half - 1000) // PACKET)
    # Every packet, in the order sent: the heartbeat (-1) in its place, then the empty last one.
    assert [ack.seqno for ack in acks] == [*range(20), -1, *range(20, data_packets + 1)]
    assert all(ack.statuses == SUCCESS3 for ack in acks)
    for datanode in (first, second, third):
        with DtpClient(datanode.port) as reader:
            assert reader.read_bytes(7001, 1001, 0, len(DATA)) == DATA
    received = fake_namenode.wait_for(lambda: _reporters(fake_namenode, "received", 7001) >= 3 or None)
    assert received
    for replica in fake_namenode.replicas_reported("received", 7001):
        assert (replica.numBytes, replica.generationStamp, replica.state) == (len(DATA), 1001, 1)
    assert len(fake_namenode.replicas_reported("receiving", 7001)) == 3


def test_a_killed_downstream_datanode_is_named_in_the_ack_and_the_write_recovers(
    start_process: Callable[..., DatanodeProcess], fake_namenode: FakeNamenode
) -> None:
    first, second, third = (start_process(name) for name in ("dn1", "dn2", "dn3"))
    acked_bytes = 10 * PACKET
    with DtpClient(first.port) as client:
        client.start_write(write_request(7002, 1, [second.info, third.info]))
        client.send_data(DATA[:acked_bytes])
        assert all(ack.statuses == SUCCESS3 for ack in client.collect_acks())
        third.kill()
        client.send_data(DATA[acked_bytes : acked_bytes + PACKET], start_offset=acked_bytes)
        (failed,) = client.collect_acks()
    # The second datanode lost its mirror: it reports the third (index 2) as the bad link.
    assert failed.statuses == (dt.SUCCESS, dt.SUCCESS, dt.ERROR)
    for survivor in (first, second):  # both keep every acknowledged byte, intact
        with DtpClient(survivor.port) as reader:
            assert reader.read_bytes(7002, 1, 0, acked_bytes) == DATA[:acked_bytes]
    # The client rebuilds the pipeline on the survivors with a new stamp and resends the rest.
    recovery = write_request(
        7002,
        1,
        [second.info],
        stage=dt.OpWriteBlockProto.PIPELINE_SETUP_STREAMING_RECOVERY,
        latest_genstamp=2,
        acked_bytes=acked_bytes,
    )
    with DtpClient(first.port) as client:
        response, acks = client.write_block(recovery, DATA[acked_bytes:], start_offset=acked_bytes)
    assert response is not None and response.status == dt.SUCCESS
    assert acks and all(ack.statuses == (dt.SUCCESS, dt.SUCCESS) for ack in acks)
    for survivor in (first, second):
        with DtpClient(survivor.port) as reader:
            assert reader.read_bytes(7002, 2, 0, len(DATA)) == DATA
            stale = reader.read(_read(7002, 3))
            assert stale.response.status == dt.ERROR  # a stamp newer than the replica's
    fake_namenode.wait_for(lambda: _reporters(fake_namenode, "received", 7002) >= 2 or None)
    assert {replica.generationStamp for replica in fake_namenode.replicas_reported("received", 7002)} == {2}


def _read(block_id: int, genstamp: int) -> dt.OpReadBlockProto:
    from datanode_harness import read_request

    return read_request(block_id, genstamp, 0, 1)


def _reporters(namenode: FakeNamenode, kind: str, block_id: int) -> int:
    """How many incremental reports carried `kind` for the block (one per datanode here)."""
    return len(namenode.replicas_reported(kind, block_id))
