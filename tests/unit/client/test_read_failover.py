"""Reads fail over to the next replica when one drops the connection, hangs or sends corrupt data; a
corrupt replica is reported and never read again; when every replica fails the error names the block
and every datanode tried."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from client_support import BLOCK, TEST_SETTINGS, FakeCluster, payload, write_file

from hopsfs.client.input_stream import AsyncInputStream
from hopsfs.errors import BlockMissing

SIZE = 2 * BLOCK + 4321


async def read_all(cluster: FakeCluster, path: str, **settings: float) -> tuple[bytes, AsyncInputStream]:
    context = cluster.context(dataclasses.replace(TEST_SETTINGS, **settings))
    try:
        stream = await AsyncInputStream.open(context, path)
        data = await stream.read()
        await stream.close()
        return data, stream
    finally:
        await context.close()


@pytest.fixture(name="written")
def written_fixture(cluster: FakeCluster) -> bytes:
    data = payload(SIZE)
    asyncio.run(write_file(cluster, "/f", data))
    return data


def block_ids(cluster: FakeCluster) -> list[int]:
    return [block.block_id for block in cluster.namespace.inodes["/f"].blocks]


def test_a_replica_dropping_the_connection_mid_read_fails_over_without_a_report(
    cluster: FakeCluster, written: bytes
) -> None:
    first = cluster.datanodes[0]
    first.faults.drop_read_after_packets = 2
    data, stream = asyncio.run(read_all(cluster, "/f"))
    assert data == written
    assert first.stats.reads >= 1
    assert cluster.datanodes[1].stats.reads >= 1  # the rest of each block came from the next replica
    assert stream.corrupt_replicas == set()
    assert cluster.namespace.calls["reportBadBlocks"] == 0


def test_a_killed_datanode_is_skipped(cluster: FakeCluster, written: bytes) -> None:
    cluster.loop.run(cluster.datanodes[0].stop())
    data, _ = asyncio.run(read_all(cluster, "/f"))
    assert data == written


def test_a_hung_replica_times_out_and_the_next_one_serves(cluster: FakeCluster, written: bytes) -> None:
    cluster.datanodes[0].faults.stall_reads = True
    data, _ = asyncio.run(read_all(cluster, "/f", read_timeout_s=0.3))
    assert data == written


def test_a_corrupt_replica_is_reported_and_never_read_again(cluster: FakeCluster, written: bytes) -> None:
    bad = cluster.datanodes[0]
    bad.faults.corrupt_reads = True

    async def read_twice() -> AsyncInputStream:
        context = cluster.context()
        try:
            stream = await AsyncInputStream.open(context, "/f")
            assert await stream.read() == written
            reads_after_first_pass = bad.stats.reads
            stream.seek(0)
            assert await stream.read() == written
            assert await stream.read_at(BLOCK - 10, 20) == written[BLOCK - 10 : BLOCK + 10]
            assert bad.stats.reads == reads_after_first_pass  # never asked again by this stream
            return stream
        finally:
            await context.close()

    stream = asyncio.run(read_twice())
    expected = {(block_id, bad.uuid) for block_id in block_ids(cluster)}
    assert stream.corrupt_replicas == expected
    assert cluster.namespace.corrupt == expected
    assert bad.stats.reads == len(block_ids(cluster))  # one attempt per block, then never again


def test_every_replica_corrupt_raises_block_missing_naming_block_and_nodes(
    cluster: FakeCluster, written: bytes
) -> None:
    for datanode in cluster.datanodes:
        datanode.faults.corrupt_reads = True
    with pytest.raises(BlockMissing) as raised:
        asyncio.run(read_all(cluster, "/f"))
    first_block = block_ids(cluster)[0]
    assert f"blk_{first_block}_" in str(raised.value)
    assert raised.value.block_name.endswith(f"blk_{first_block}_1001")
    for datanode in cluster.datanodes:
        assert f"127.0.0.1:{datanode.port}" in str(raised.value)
        assert (first_block, datanode.uuid) in cluster.namespace.corrupt


def test_every_datanode_down_raises_block_missing_after_refetching_locations(
    cluster: FakeCluster, written: bytes
) -> None:
    for datanode in cluster.datanodes:
        cluster.loop.run(datanode.stop())
    fetches_before = cluster.namespace.calls["getBlockLocations"]
    with pytest.raises(BlockMissing, match="Could not obtain block"):
        asyncio.run(read_all(cluster, "/f"))
    # The open, then one refetch per round of failures (the locations might have been stale).
    assert (
        cluster.namespace.calls["getBlockLocations"] - fetches_before
        == 1 + TEST_SETTINGS.block_acquire_failures_max
    )
    assert cluster.namespace.calls["reportBadBlocks"] == 0


def test_a_failed_read_can_be_retried_once_a_replica_is_back(cluster: FakeCluster, written: bytes) -> None:
    for datanode in cluster.datanodes:
        datanode.faults.corrupt_reads = True

    async def read_fail_then_succeed() -> bytes:
        context = cluster.context()
        try:
            stream = await AsyncInputStream.open(context, "/f")
            with pytest.raises(BlockMissing):
                await stream.read(10)
            assert stream.tell() == 0
            stream_2 = await AsyncInputStream.open(context, "/f")
            cluster.namespace.corrupt.clear()
            for datanode in cluster.datanodes:
                datanode.faults.corrupt_reads = False
            return await stream_2.read()
        finally:
            await context.close()

    assert asyncio.run(read_fail_then_succeed()) == written
