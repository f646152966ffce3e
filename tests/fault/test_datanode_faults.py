"""Datanode faults on a real cluster (a namenode and datanode processes, real sockets, real disks):
datanodes killed with SIGKILL while a file is written or read, a replica corrupted on disk (found by a
reader, or by the block scanner alone), a datanode gone for good, a writer killed mid-file, and a
datanode restarted after a crash. Every outcome is checked byte for byte: against what was written,
and on the datanodes' volumes; never a silently short or wrong file.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.data_cluster import (
    BLOCK_BYTES,
    EVENTUAL_TIMEOUT_S,
    FAST_SCAN_ARGUMENTS,
    NO_SCAN_ARGUMENTS,
    READ_BLOCK_OPS,
    DataCluster,
    StartDataCluster,
    flip_byte,
    payload,
    start_data_cluster_fixture,
    wait_until,
    write_file,
)
from support.worker_launcher import worker_environment

__all__ = ["start_data_cluster_fixture"]  # the fixture is registered by import

from hopsfs.client import Client
from hopsfs.client.sync_streams import InputStream
from hopsfs.errors import HopsFSError
from namenode.block_entities import DatanodeReportKind


def open_for_reading(client: Client, path: str, **options: object) -> InputStream:
    stream = client.open(path, "rb", **options)  # type: ignore[arg-type]
    assert isinstance(stream, InputStream)
    return stream


def replaced(cluster: DataCluster, path: str, block_index: int, bad: int) -> bool:
    """Every block of `path` on 3 datanodes, block `block_index` no longer on datanode `bad`."""
    holders = cluster.holders(path)
    return all(len(nodes) == 3 for nodes in holders) and bad not in holders[block_index]


def dead_datanode_uuids(cluster: DataCluster) -> set[str]:
    return {node.uuid for node in cluster.engine().datanode_report(DatanodeReportKind.DEAD)}


# -- writes ----------------------------------------------------------------------------------------


def write_while_killing(
    cluster: DataCluster, path: str, data: bytes, killed: list[int]
) -> HopsFSError | None:
    """Write `data` (replication 3, 1 MiB blocks); once the second block's pipeline carries data,
    SIGKILL the datanodes `killed`, then write the rest and close. The error the writer raised, if any."""
    flushed = BLOCK_BYTES + BLOCK_BYTES // 2  # mid-way through the second block
    with cluster.connect() as client:
        stream = client.create(path, block_size=BLOCK_BYTES, replication=3)
        stream.write(data[:flushed])
        stream.hflush()  # the second block's pipeline is up: with 3 datanodes, every one is in it
        for index in killed:
            cluster.kill_datanode(index)
        try:
            stream.write(data[flushed:])
            stream.close()
        except HopsFSError as error:
            return error
        assert stream.async_stream.recoveries >= 1  # the dead datanodes were dropped mid-block
        return None


def assert_complete_and_exact(cluster: DataCluster, path: str, data: bytes) -> None:
    assert not cluster.being_written(path)
    with cluster.connect() as client:
        assert client.stat(path).size == len(data)
        assert client.read_bytes(path) == data
    assert cluster.replica_mismatches(path, data) == []


def assert_failed_and_left_open(cluster: DataCluster, path: str, error: HopsFSError) -> None:
    """A clear error naming the file, and the file never completed (no silently short file)."""
    assert path in str(error), error
    assert cluster.being_written(path)


def test_a_datanode_killed_during_a_write_leaves_a_complete_exact_file(
    sqlite_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: a pipeline that does not recover when a datanode dies mid-block (the write fails though
    # two are left: the issue wants it to continue), a recovery that loses or duplicates the
    # unacknowledged packets, new blocks placed on the dead datanode without excluding it, replicas
    # that differ after the recovery.
    cluster = start_data_cluster(sqlite_url)
    data = payload(3 * BLOCK_BYTES + 500_000, seed=1)
    assert write_while_killing(cluster, "/one-lost", data, killed=[2]) is None
    assert_complete_and_exact(cluster, "/one-lost", data)


def test_two_datanodes_killed_during_a_write_complete_exactly_or_fail_clearly(
    sqlite_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: a silently short or wrong file when only one datanode is left. Either outcome the issue
    # allows is accepted: hopsfs goes on with the last datanode; HDFS's default replace-datanode
    # policy would fail the write here.
    cluster = start_data_cluster(sqlite_url)
    data = payload(3 * BLOCK_BYTES + 500_000, seed=2)
    error = write_while_killing(cluster, "/two-lost", data, killed=[1, 3])
    if error is None:
        assert_complete_and_exact(cluster, "/two-lost", data)
    else:
        assert_failed_and_left_open(cluster, "/two-lost", error)


def test_every_datanode_killed_during_a_write_fails_the_writer_and_the_file_stays_open(
    sqlite_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: a writer that returns from close() as if the file were whole when no datanode took the
    # rest (a silently short file), or a namenode that completes the file anyway.
    cluster = start_data_cluster(sqlite_url)
    data = payload(3 * BLOCK_BYTES, seed=3)
    error = write_while_killing(cluster, "/all-lost", data, killed=[1, 2, 3])
    assert error is not None
    assert_failed_and_left_open(cluster, "/all-lost", error)
    with cluster.connect() as client:
        assert client.stat("/all-lost").size <= BLOCK_BYTES + BLOCK_BYTES // 2


def test_a_killed_writer_loses_its_file_to_lease_recovery_with_a_consistent_prefix(
    sqlite_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: recover_lease never closing a file whose writer died, a recovered file shorter than
    # what the writer hflushed, bytes that were never written, or replicas left at different lengths.
    cluster = start_data_cluster(sqlite_url)
    size, seed = 3 * BLOCK_BYTES, 8
    data = payload(size, seed)
    flushed = BLOCK_BYTES + 300_000
    unflushed_end = 2 * BLOCK_BYTES + 100_000
    arguments = [str(number) for number in (size, seed, flushed, unflushed_end)]
    writer = subprocess.Popen(
        [sys.executable, "-c", HANGING_WRITER, cluster.url, "/orphan", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=worker_environment(),
    )
    try:
        assert writer.stdout is not None
        line = writer.stdout.readline()
        assert line.strip() == "FLUSHED", line + writer.stdout.read()
    finally:
        writer.kill()
        writer.wait()
    with cluster.connect() as client:
        assert cluster.being_written("/orphan")
        assert wait_until(lambda: client.recover_lease("/orphan"), EVENTUAL_TIMEOUT_S, interval_s=0.25)
        assert not cluster.being_written("/orphan")
        status = client.stat("/orphan")
        assert flushed <= status.size <= unflushed_end
        assert client.read_bytes("/orphan") == data[: status.size]
        recovered = data[: status.size]
    assert wait_until(lambda: cluster.fully_replicated("/orphan", 3), EVENTUAL_TIMEOUT_S), cluster.holders(
        "/orphan"
    )
    assert cluster.replica_mismatches("/orphan", recovered) == []


# A writer that hflushes a prefix, writes more without flushing, says so and waits to be killed.
HANGING_WRITER = """
import sys, time
from support.data_cluster import payload, BLOCK_BYTES
import hopsfs
url, path, size, seed, flushed, unflushed_end = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
data = payload(size, seed)
client = hopsfs.connect(url, user="hdfs")
stream = client.create(path, block_size=BLOCK_BYTES, replication=3)
stream.write(data[:flushed])
stream.hflush()
stream.write(data[flushed:unflushed_end])
print("FLUSHED", flush=True)
time.sleep(600)
"""


# -- reads -----------------------------------------------------------------------------------------


def test_a_datanode_killed_during_a_read_is_failed_over(
    sqlite_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: a reader that fails (or returns short or wrong data) when the datanode it reads from,
    # or the one it would read the next block from, dies while the stream is open.
    cluster = start_data_cluster(sqlite_url)
    data = payload(2_500_000, seed=4)
    with cluster.connect() as client:
        write_file(client, "/read", data)
        assert wait_until(lambda: cluster.fully_replicated("/read", 3), EVENTUAL_TIMEOUT_S)
        with open_for_reading(client, "/read", buffer_size=64 * 1024) as stream:
            # Which datanode this stream reads the last block from (its cached order): a positional
            # read there is counted by exactly one datanode.
            before = {index: cluster.datanode_metrics(index).get(READ_BLOCK_OPS, 0) for index in (1, 2, 3)}
            assert stream.read_at(2 * BLOCK_BYTES, 100) == data[2 * BLOCK_BYTES : 2 * BLOCK_BYTES + 100]

            def reader_of_last_block() -> list[int]:
                return [
                    i for i in (1, 2, 3) if cluster.datanode_metrics(i).get(READ_BLOCK_OPS, 0) > before[i]
                ]

            assert wait_until(reader_of_last_block)
            (victim,) = reader_of_last_block()
            first = stream.read(200_000)  # streaming from the first block now
            cluster.kill_datanode(victim)
            rest = stream.read()
            assert first + rest == data
            assert stream.async_stream.failovers >= 1


def test_a_corrupt_replica_is_failed_over_reported_never_listed_again_and_replaced(
    db_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: a reader that returns corrupt bytes or gives up instead of failing over, a corrupt
    # replica that is not reported or still handed to readers, a block left under-replicated, or the
    # corrupt replica left on its datanode once good copies are back. No block scanner runs here: the
    # reader is the only one who can find it. A 4th datanode gives the replacement copy a place to go.
    cluster = start_data_cluster(db_url, datanodes=4, datanode_arguments=NO_SCAN_ARGUMENTS)
    data = payload(2_500_000, seed=5)
    with cluster.connect() as client:
        write_file(client, "/corrupt", data)
        assert wait_until(lambda: cluster.fully_replicated("/corrupt", 3), EVENTUAL_TIMEOUT_S)
        (block, *_) = cluster.blocks("/corrupt")
        block_id = block.block.block_id
        bad = min(cluster.holders("/corrupt")[0])
        bad_file = cluster.finalized_replica(bad, block_id)
        assert bad_file is not None
        flip_byte(bad_file, 100_000)
        # Readers are sent to the replicas in a random order: read until one met the bad one.
        for _ in range(40):
            with open_for_reading(client, "/corrupt") as stream:
                assert stream.read() == data
                if stream.async_stream.failovers:
                    break
        else:
            pytest.fail("40 readers never picked the corrupt replica first")
        # The reader reported it before reading on: the namenode lists it no more, for any reader.
        assert all(bad not in cluster.holders("/corrupt")[0] for _ in range(10))
        assert wait_until(lambda: replaced(cluster, "/corrupt", 0, bad), EVENTUAL_TIMEOUT_S), cluster.holders(
            "/corrupt"
        )
        assert wait_until(lambda: cluster.replica_files(bad, block_id) == [], EVENTUAL_TIMEOUT_S)
        assert wait_until(lambda: cluster.engine().cluster_stats().corrupt_blocks == 0)
        assert client.read_bytes("/corrupt") == data
    assert cluster.replica_mismatches("/corrupt", data) == []


def test_the_block_scanner_finds_a_flipped_byte_and_the_replica_is_replaced(
    sqlite_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: a scanner that misses corruption, does not report it, or a report that does not make the
    # namenode drop and replace the replica. Nobody reads the file: only the scanner can find it.
    cluster = start_data_cluster(sqlite_url, datanodes=4, datanode_arguments=FAST_SCAN_ARGUMENTS)
    data = payload(2_500_000, seed=6)
    with cluster.connect() as client:
        write_file(client, "/scanned", data)
        assert wait_until(lambda: cluster.fully_replicated("/scanned", 3), EVENTUAL_TIMEOUT_S)
        block = cluster.blocks("/scanned")[1]
        block_id = block.block.block_id
        bad = max(cluster.holders("/scanned")[1])
        bad_file = cluster.finalized_replica(bad, block_id)
        assert bad_file is not None
        flip_byte(bad_file, BLOCK_BYTES - 1)  # the very last byte of the block
        assert wait_until(lambda: bad not in cluster.holders("/scanned")[1], EVENTUAL_TIMEOUT_S)
        assert f"scanner: blk_{block_id}_" in cluster.datanode_log(bad)
        assert wait_until(lambda: replaced(cluster, "/scanned", 1, bad), EVENTUAL_TIMEOUT_S), cluster.holders(
            "/scanned"
        )
        assert wait_until(lambda: cluster.replica_files(bad, block_id) == [], EVENTUAL_TIMEOUT_S)
        assert client.read_bytes("/scanned") == data
    assert cluster.replica_mismatches("/scanned", data) == []


# -- datanodes lost and restarted ------------------------------------------------------------------


def test_a_datanode_gone_for_good_has_its_blocks_copied_back_to_the_replication_factor(
    db_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: a dead datanode never declared dead, its replicas still handed to readers, its blocks
    # left under-replicated, copies made from the wrong source or to a datanode that already holds one.
    cluster = start_data_cluster(db_url)
    files = {"/lost/r3": (payload(2_500_000, seed=9), 3), "/lost/r2": (payload(BLOCK_BYTES + 1, seed=10), 2)}
    with cluster.connect() as client:
        for path, (data, replication) in files.items():
            write_file(client, path, data, replication=replication)
            assert wait_until(
                lambda p=path, r=replication: cluster.fully_replicated(p, r), EVENTUAL_TIMEOUT_S
            )
        cluster.add_datanode()  # room for the copies: datanode-4
        lost_uuid = cluster.datanode_uuid(1)
        cluster.kill_datanode(1)
        for path, (data, replication) in files.items():
            assert wait_until(
                lambda p=path, r=replication: cluster.fully_replicated(p, r, excluded=frozenset({1})),
                EVENTUAL_TIMEOUT_S,
            ), (path, cluster.holders(path), cluster.output()[-3000:])
            assert client.read_bytes(path) == data
            assert cluster.replica_mismatches(path, data) == []
        assert dead_datanode_uuids(cluster) == {lost_uuid}
        assert wait_until(lambda: cluster.engine().cluster_stats().under_replicated == 0)
        stats = cluster.engine().cluster_stats()
        assert (stats.live_datanodes, stats.dead_datanodes, stats.missing_blocks) == (3, 1, 0)


def test_a_datanode_restarted_after_a_crash_reports_its_replicas_and_serves_them(
    sqlite_url: str, start_data_cluster: StartDataCluster
) -> None:
    # Catches: replicas lost across a crash (the replica index or the files), a restarted datanode
    # that registers under a new identity, a block report the namenode does not take back in, or
    # replicas that are reported but cannot be read.
    cluster = start_data_cluster(sqlite_url)
    data = payload(2_500_000, seed=12)
    with cluster.connect() as client:
        write_file(client, "/kept", data)
        assert wait_until(lambda: cluster.fully_replicated("/kept", 3), EVENTUAL_TIMEOUT_S)
        uuid = cluster.datanode_uuid(3)
        cluster.kill_datanode(3)
        # Declared dead: the namenode forgets its replicas, so only its block report can bring them back.
        assert wait_until(lambda: uuid in dead_datanode_uuids(cluster), EVENTUAL_TIMEOUT_S)
        assert wait_until(lambda: all(3 not in nodes for nodes in cluster.holders("/kept")))
        cluster.restart_datanode(3)
        assert cluster.datanode_uuid(3) == uuid
        assert wait_until(lambda: cluster.fully_replicated("/kept", 3), EVENTUAL_TIMEOUT_S), cluster.holders(
            "/kept"
        )
        cluster.kill_datanode(1)
        cluster.kill_datanode(2)
        assert client.read_bytes("/kept") == data  # only datanode-3 can serve it now
    assert cluster.replica_mismatches("/kept", data) == []
