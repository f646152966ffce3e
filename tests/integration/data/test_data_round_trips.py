"""File data through the hopsfs client against a real cluster (a namenode and three datanode
processes): every size around the chunk, packet and block edges, replication 1 and 3, ranged reads and
seeks, appends, overwrites, deletes and many concurrent writers. Every byte is read back and compared,
and the replicas on the datanodes' volumes are compared with what was written."""

from __future__ import annotations

import io
import random
import threading
from collections.abc import Callable

import pytest
from support.data_cluster import (
    BLOCK_BYTES,
    EVENTUAL_TIMEOUT_S,
    DataCluster,
    payload,
    wait_until,
    write_file,
)

from hopsfs.client import Client

KIB = 1024
# Around the 512-byte checksum chunk, a 64 KiB packet, the 1 MiB block; several blocks and a partial one.
SIZES = [0, 1, 511, 512, 513, 64 * KIB, BLOCK_BYTES, BLOCK_BYTES + 1, 2_500_000]
# A prime write size, so writes straddle chunk, packet and block boundaries at ever-changing offsets.
PIECE_BYTES = 7919


def assert_replicas_hold(cluster: DataCluster, path: str, data: bytes, replication: int) -> None:
    """Each block of `path` is on `replication` datanodes, and each of those holds exactly its bytes."""
    if not data:
        assert cluster.blocks(path) == []
        return
    assert wait_until(lambda: cluster.fully_replicated(path, replication), EVENTUAL_TIMEOUT_S), (
        cluster.holders(path)
    )
    assert [block.offset for block in cluster.blocks(path)] == list(range(0, len(data), BLOCK_BYTES))
    assert cluster.replica_mismatches(path, data) == []


def test_every_size_round_trips_with_replication_1_and_3(data_cluster: DataCluster, client: Client) -> None:
    # Catches: an off-by-one at a chunk/packet/block edge, a lost last partial chunk or block, an
    # empty file that gets a block, replication not honoured, a replica whose bytes differ on disk.
    for replication in (1, 3):
        for size in SIZES:
            path = f"/sizes/r{replication}/{size}"
            data = payload(size, seed=size * 10 + replication)
            write_file(client, path, data, replication=replication, piece_bytes=PIECE_BYTES * replication)
            assert client.stat(path).size == size
            assert client.read_bytes(path) == data
            with client.open(path, "rb") as stream:
                assert stream.read() == data
            assert_replicas_hold(data_cluster, path, data, replication)


def test_ranged_reads_and_seeks_return_exact_bytes(sqlite_data_cluster: DataCluster) -> None:
    # Catches: a range that crosses a block edge or starts mid-chunk returning shifted or short data,
    # seek/tell bookkeeping errors, reads past the end not returning what is left.
    data = payload(2_500_000, seed=7)
    size = len(data)
    ranges = [
        (0, 1),
        (511, 513),
        (512, 1024),
        (1000, 70_000),
        (BLOCK_BYTES - 1, BLOCK_BYTES + 1),
        (BLOCK_BYTES - 100, 2 * BLOCK_BYTES + 200),
        (2 * BLOCK_BYTES, size),
        (size - 10, size),
        (size - 5, size + 100),
        (size, size + 10),
    ]
    with sqlite_data_cluster.connect() as client:
        write_file(client, "/ranged", data)
        for start, end in ranges:
            assert client.read_bytes("/ranged", start, end) == data[start:end], (start, end)
        with client.open("/ranged", "rb", buffer_size=64 * KIB) as stream:
            for start, end in ranges:
                assert stream.read_at(start, end - start) == data[start:end], (start, end)
            assert stream.seek(BLOCK_BYTES - 3) == BLOCK_BYTES - 3
            assert stream.read(6) == data[BLOCK_BYTES - 3 : BLOCK_BYTES + 3]
            assert stream.tell() == BLOCK_BYTES + 3
            assert stream.seek(-600, io.SEEK_CUR) == BLOCK_BYTES - 597
            assert stream.read(1200) == data[BLOCK_BYTES - 597 : BLOCK_BYTES + 603]
            assert stream.seek(-7, io.SEEK_END) == size - 7
            assert stream.read() == data[-7:]
            assert stream.read() == b""
            stream.seek(100)
            buffer = bytearray(3000)
            assert stream.readinto(buffer) == 3000
            assert bytes(buffer) == data[100:3100]
            # Backwards across a block edge after reading ahead past it.
            stream.seek(2 * BLOCK_BYTES + 5)
            assert stream.read(10) == data[2 * BLOCK_BYTES + 5 : 2 * BLOCK_BYTES + 15]
            stream.seek(5)
            assert stream.read() == data[5:]


def test_appends_mid_chunk_to_a_full_block_and_across_a_block_edge(sqlite_data_cluster: DataCluster) -> None:
    # Catches: an append that rewrites the last partial chunk wrongly (checksum of the merged chunk),
    # loses bytes, starts a new block when the last one has room or fills a full block past its size,
    # or leaves replicas of the last block different from each other.
    cluster = sqlite_data_cluster
    with cluster.connect() as client:
        cases: list[tuple[str, int, list[int]]] = [
            ("/append/mid-chunk", 1000, [3000, 10, 1]),  # 1000 % 512 = 488: the last chunk is partial
            ("/append/full-block", BLOCK_BYTES, [100]),  # the last block is full: a new block starts
            (
                "/append/across",
                BLOCK_BYTES + BLOCK_BYTES // 2,
                [BLOCK_BYTES, 513],
            ),  # fills one, opens another
            ("/append/empty", 0, [700]),  # an empty file gets its first block
        ]
        for path, first_size, appends in cases:
            data = payload(first_size, seed=first_size)
            write_file(client, path, data)
            for number, append_size in enumerate(appends):
                # Every replica reported first, so the append's pipeline has all three (see the
                # xfail test below for an append that does not wait).
                assert_replicas_hold(cluster, path, data, 3)
                extra = payload(append_size, seed=number * 1000 + append_size)
                with client.append(path) as stream:
                    stream.write(extra)
                data += extra
                assert client.stat(path).size == len(data)
                assert client.read_bytes(path) == data, (path, number)
            assert_replicas_hold(cluster, path, data, 3)
        with client.open("/append/mid-chunk", "ab") as stream:  # open() in append mode is the same path
            stream.write(b"tail")
        assert client.read_bytes("/append/mid-chunk")[-4:] == b"tail"


@pytest.mark.xfail(
    strict=True,
    reason="an append right after close reopens the last block on the replicas the namenode has heard "
    "of so far (complete needs one; the others report ~100 ms later): the pipeline runs on 1-2 "
    "datanodes, the late replicas are invalidated as stale, and the file stays under-replicated until "
    "re-replication (HDFS's client adds datanodes to an append pipeline: ReplaceDatanodeOnFailure)",
)
def test_an_append_right_after_close_writes_every_replica(sqlite_data_cluster: DataCluster) -> None:
    # Catches: an append pipeline with fewer datanodes than the file's replication. When close()
    # returns, every datanode of the pipeline has finalized the block under its final generation
    # stamp; re-replication cannot have added any yet (it waits for heartbeats and its check delay).
    # Measured: 9 of 10 such appends run on one or two datanodes; the loop stops at the first.
    cluster = sqlite_data_cluster
    with cluster.connect() as client:
        for number in range(20):
            path = f"/quick-append/{number}"
            write_file(client, path, payload(1000, seed=number))
            with client.append(path) as stream:
                stream.write(b"appended")
            (block,) = cluster.blocks(path)
            meta_name = f"blk_{block.block.block_id}_{block.block.generation_stamp}.meta"
            holders = [index for index in (1, 2, 3) if list(cluster.volume(index).rglob(meta_name))]
            assert len(holders) == 3, f"{path}: the appended block is on datanodes {holders} only"


def test_overwrite_and_delete_remove_the_old_replicas_from_the_datanodes(
    data_cluster: DataCluster, client: Client
) -> None:
    # Catches: a delete or an overwrite that leaves the old blocks' files on the volumes for ever
    # (INVALIDATE never sent or not acted on), or an overwrite that still serves the old bytes.
    cluster = data_cluster
    old = payload(2_500_000, seed=1)
    write_file(client, "/over", old)
    assert_replicas_hold(cluster, "/over", old, 3)
    old_blocks = [block.block.block_id for block in cluster.blocks("/over")]
    new = payload(100, seed=2)
    write_file(client, "/over", new)  # create with overwrite
    assert client.read_bytes("/over") == new
    for index in (1, 2, 3):
        write_file(client, f"/tree/sub{index}/file", payload(BLOCK_BYTES + index, seed=index))
    tree_blocks = [
        block.block.block_id for index in (1, 2, 3) for block in cluster.blocks(f"/tree/sub{index}/file")
    ]
    for index in (1, 2, 3):
        assert wait_until(lambda index=index: cluster.fully_replicated(f"/tree/sub{index}/file", 3))
    assert client.delete("/tree", recursive=True)
    gone = old_blocks + tree_blocks

    def no_replica_left() -> bool:
        return not any(cluster.replica_files(node, block) for node in (1, 2, 3) for block in gone)

    assert wait_until(no_replica_left, EVENTUAL_TIMEOUT_S), [
        path for node in (1, 2, 3) for block in gone for path in cluster.replica_files(node, block)
    ]
    assert client.read_bytes("/over") == new  # the new file's replicas were left alone
    assert_replicas_hold(cluster, "/over", new, 3)


def test_concurrent_writers_on_several_clients_each_get_their_exact_bytes(
    data_cluster: DataCluster,
) -> None:
    # Catches: streams of one client sharing state (packets, seqnos, leases) across threads, block ids
    # or placements mixed up between files written at the same time, a writer's bytes in another file.
    cluster = data_cluster
    clients = [cluster.connect() for _ in range(3)]
    writers_per_client = 2
    files_per_writer = 6
    written: dict[str, bytes] = {}
    failures: list[BaseException] = []
    lock = threading.Lock()

    def writer(client: Client, number: int) -> Callable[[], None]:
        def run() -> None:
            chooser = random.Random(number)
            try:
                for index in range(files_per_writer):
                    path = f"/concurrent/w{number}/f{index}"
                    data = chooser.randbytes(chooser.choice([0, 1, 600, 70_000, 300_000, BLOCK_BYTES + 4321]))
                    write_file(client, path, data, piece_bytes=chooser.choice([1000, PIECE_BYTES, 65536]))
                    with lock:
                        written[path] = data
            except BaseException as error:  # reported by the main thread
                failures.append(error)

        return run

    threads = [
        threading.Thread(target=writer(client, number * writers_per_client + offset))
        for number, client in enumerate(clients)
        for offset in range(writers_per_client)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not failures, failures
        assert len(written) == len(threads) * files_per_writer
        reader = clients[0]
        for path, data in sorted(written.items()):
            assert reader.read_bytes(path) == data, path
        block_ids = [block.block.block_id for path in written for block in cluster.blocks(path)]
        assert len(block_ids) == len(set(block_ids))
    finally:
        for client in clients:
            client.close()


def test_hflushed_bytes_are_visible_to_a_new_reader_before_close(sqlite_data_cluster: DataCluster) -> None:
    # Catches: hflush that returns before the datanodes have the bytes, or a namenode that does not
    # record the flushed length (a reader of a file being written sees less than was flushed).
    with sqlite_data_cluster.connect() as writer_client, sqlite_data_cluster.connect() as reader_client:
        for replication in (1, 3):
            path = f"/flushed/r{replication}"
            data = payload(BLOCK_BYTES + 70_000, seed=replication)
            with writer_client.create(path, block_size=BLOCK_BYTES, replication=replication) as stream:
                stream.write(data[:300_000])
                stream.hflush()
                assert reader_client.read_bytes(path) == data[:300_000]
                stream.write(data[300_000:])  # into a second block
                stream.hflush()
                assert reader_client.read_bytes(path) == data
            assert reader_client.read_bytes(path) == data
