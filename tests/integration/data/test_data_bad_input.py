"""Bad input to datanodes registered with a real namenode, over real sockets, through the client
codec (`DtpClient` from the datanode tests' harness, tests/integration/datanode/datanode_harness.py).

tests/integration/datanode/test_bad_input.py already checks each refusal against one datanode with a
fake namenode (statuses, log lines, nothing stored locally, other connections unharmed). What only a
real cluster shows, and is checked here: what the datanode then tells the namenode and what the
namenode then lists. A refused or broken write of a real block leaves no replica the namenode would
ever hand to a reader; a forged replica (right stamp, wrong length) is recognised as corrupt, never
listed, and deleted from the datanode; a stray block nobody allocated is deleted too; refused reads
and a reader that falsely claims a checksum error leave the good replica listed and served.

"Never listed" is checked after a marker: a later file written through every datanode and reported
by all of them. Each datanode sends its reports in order, so once the namenode lists the marker on a
datanode it has applied everything that datanode reported before.
"""

from __future__ import annotations

import socket

from datanode_harness import DtpClient, read_request, write_request
from support.data_cluster import EVENTUAL_TIMEOUT_S, DataCluster, payload, wait_until, write_file

from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType, compute_checksums
from hopsfs.protocol.proto import datatransfer_pb2 as dt

DATA_BYTES = 100_000
NEGATIVE_ONE = 2**64 - 1  # a Java client's -1L in a uint64 field
CRC32C = ChecksumSpec(ChecksumType.CRC32C)


class HeldBlock:
    """The one block of a replication-2 file on a 3-datanode cluster, and the datanode lacking it."""

    def __init__(self, cluster: DataCluster, path: str, data: bytes) -> None:
        assert wait_until(lambda: cluster.fully_replicated(path, 2), EVENTUAL_TIMEOUT_S)
        (located,) = cluster.blocks(path)
        self.path = path
        self.data = data
        self.block_id = located.block.block_id
        self.genstamp = located.block.generation_stamp
        self.holders = cluster.holders(path)[0]
        (self.outsider,) = {1, 2, 3} - self.holders
        self.pool_id = cluster.engine().block_pool_id

    def write_request(self) -> dt.OpWriteBlockProto:
        request = write_request(self.block_id, self.genstamp)
        request.header.baseHeader.block.poolId = self.pool_id
        return request


def held_block(cluster: DataCluster, path: str, seed: int) -> HeldBlock:
    data = payload(DATA_BYTES, seed)
    with cluster.connect() as client:
        write_file(client, path, data, replication=2)
    return HeldBlock(cluster, path, data)


def write_marker(cluster: DataCluster, path: str) -> bytes:
    """A file on all three datanodes, listed on all three: every earlier report has been applied."""
    data = payload(5000, seed=len(path))
    with cluster.connect() as client:
        write_file(client, path, data, replication=3)
    assert wait_until(lambda: cluster.fully_replicated(path, 3), EVENTUAL_TIMEOUT_S), cluster.holders(path)
    return data


def test_refused_broken_and_forged_writes_leave_nothing_the_namenode_would_serve(
    sqlite_data_cluster: DataCluster,
) -> None:
    # Catches: a datanode that reports (`received`) a replica whose write failed its checksums or broke
    # off, a namenode that lists such a replica or a forged one of the wrong length, forged or stray
    # replicas left on the datanode for ever, and a datanode that stops serving after bad input.
    cluster = sqlite_data_cluster
    checksum_case = held_block(cluster, "/bad/checksum", seed=1)
    truncated_case = held_block(cluster, "/bad/truncated", seed=2)
    forged_case = held_block(cluster, "/bad/forged", seed=3)

    # A wrong checksum in the second packet: the datanode acks it ERROR_CHECKSUM and stores nothing of it.
    case = checksum_case
    with DtpClient(cluster.datanode_port(case.outsider)) as client:
        response = client.start_write(case.write_request())
        assert response is not None and response.status == dt.SUCCESS
        client.send_data(case.data[:2048], packet_bytes=2048)
        checksums = bytearray(compute_checksums(CRC32C, case.data[2048:4096]))
        checksums[5] ^= 0x01
        client.send(client.codec.send_packet(2048, case.data[2048:4096], checksums=bytes(checksums))[1])
        assert [ack.statuses for ack in client.collect_acks()] == [(dt.SUCCESS,), (dt.ERROR_CHECKSUM,)]
    refusal = f"blk_{case.block_id}: packet 1 at 2048 from"

    def refusal_logged() -> bool:
        log = cluster.datanode_log(checksum_case.outsider)
        return any(refusal in line and "not stored" in line for line in log.splitlines())

    assert wait_until(refusal_logged)

    # A packet cut short, then the writer hangs up: only the acknowledged packet stays.
    case = truncated_case
    with DtpClient(cluster.datanode_port(case.outsider)) as client:
        client.start_write(case.write_request())
        client.send_data(case.data[:1000], packet_bytes=1000)
        assert [ack.ok for ack in client.collect_acks()] == [True]
        frame = client.codec.send_packet(1000, case.data[1000:9000])[1]
        client.send(frame[: len(frame) - 3000])
        client.sock.shutdown(socket.SHUT_WR)
        assert client.sock.recv(100) == b""

    # A forged replica: the block's id and stamp, good checksums, half its length, finalized.
    case = forged_case
    with DtpClient(cluster.datanode_port(case.outsider)) as client:
        response, acks = client.write_block(case.write_request(), case.data[: DATA_BYTES // 2])
        assert response is not None and response.status == dt.SUCCESS
        assert acks and all(ack.ok for ack in acks)

    # A stray block nobody allocated, written whole and finalized on datanode 1.
    stray_id = forged_case.block_id + 1_000_000
    stray = write_request(stray_id, 1)
    stray.header.baseHeader.block.poolId = forged_case.pool_id
    with DtpClient(cluster.datanode_port(1)) as client:
        response, acks = client.write_block(stray, payload(3000, seed=4))
        assert acks and all(ack.ok for ack in acks)

    marker = write_marker(cluster, "/bad/marker")
    for case in (checksum_case, truncated_case, forged_case):
        assert cluster.holders(case.path) == [case.holders], case.path
        with cluster.connect() as reader:
            assert reader.read_bytes(case.path) == case.data
    # What the refused writes left on their datanodes: the good bytes of a replica being written,
    # never finalized, never reported as received.
    for case, kept in ((checksum_case, 2048), (truncated_case, 1000)):
        assert cluster.finalized_replica(case.outsider, case.block_id) is None
        (being_written,) = cluster.replica_files(case.outsider, case.block_id)
        assert wait_until(lambda f=being_written, n=kept: f.stat().st_size == n)
        assert being_written.read_bytes() == case.data[:kept]
        assert f"received blk_{case.block_id}_" not in cluster.datanode_log(case.outsider)
    # The forged and the stray replica are deleted on the namenode's word (INVALIDATE).
    assert wait_until(
        lambda: cluster.replica_files(forged_case.outsider, forged_case.block_id) == [], EVENTUAL_TIMEOUT_S
    )
    assert wait_until(lambda: cluster.replica_files(1, stray_id) == [], EVENTUAL_TIMEOUT_S)
    assert cluster.holders(forged_case.path) == [forged_case.holders]
    # Every datanode still serves.
    (marker_block,) = cluster.blocks("/bad/marker")
    for index in (1, 2, 3):
        with DtpClient(cluster.datanode_port(index)) as client:
            request = read_request(
                marker_block.block.block_id, marker_block.block.generation_stamp, 0, len(marker)
            )
            request.header.baseHeader.block.poolId = forged_case.pool_id
            result = client.read(request)
            assert result.response.status == dt.SUCCESS
            assert result.data == marker


def test_refused_reads_and_a_false_checksum_claim_leave_the_replica_listed_and_served(
    sqlite_data_cluster: DataCluster,
) -> None:
    # Catches: a datanode that marks (and reports) its good replica bad because of a bad request or a
    # reader that merely claims a checksum error, and a namenode that then stops listing it.
    cluster = sqlite_data_cluster
    case = held_block(cluster, "/reads", seed=5)
    holder = min(case.holders)
    port = cluster.datanode_port(holder)
    refused = [
        (case.block_id + 7, case.genstamp, 0, 10, dt.ERROR),  # unknown block
        (case.block_id, case.genstamp + 5, 0, 10, dt.ERROR),  # a stamp newer than the replica's
        (case.block_id, case.genstamp, NEGATIVE_ONE, 10, dt.ERROR_INVALID),
        (case.block_id, case.genstamp, 0, NEGATIVE_ONE, dt.ERROR_INVALID),
        (case.block_id, case.genstamp, DATA_BYTES - 5, 10, dt.ERROR_INVALID),  # past the end
    ]
    for block_id, genstamp, offset, length, status in refused:
        request = read_request(block_id, genstamp, offset, length)
        request.header.baseHeader.block.poolId = case.pool_id
        with DtpClient(port) as client:
            assert client.read(request).response.status == status, (block_id, genstamp, offset, length)

    def refusals_logged() -> list[str]:
        return [
            line
            for line in cluster.datanode_log(holder).splitlines()
            if "READ_BLOCK" in line and "refused" in line
        ]

    # The log reaches the file after the refusal reached the client (the launcher's drain thread).
    wait_until(lambda: len(refusals_logged()) >= len(refused))
    assert len(refusals_logged()) == len(refused), refusals_logged()
    # A whole read, then the reader claims the checksums did not match.
    request = read_request(case.block_id, case.genstamp, 0, DATA_BYTES)
    request.header.baseHeader.block.poolId = case.pool_id
    with DtpClient(port) as client:
        assert client.read(request, status=dt.ERROR_CHECKSUM).data == case.data
    assert wait_until(lambda: f"blk_{case.block_id} verifies here" in cluster.datanode_log(holder))
    write_marker(cluster, "/reads-marker")
    assert cluster.holders("/reads") == [case.holders]
    assert cluster.engine().cluster_stats().corrupt_blocks == 0
    with DtpClient(port) as client:
        request = read_request(case.block_id, case.genstamp, 0, DATA_BYTES)
        request.header.baseHeader.block.poolId = case.pool_id
        assert client.read(request).data == case.data
