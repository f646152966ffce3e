"""Writing through fake datanode pipelines and reading back, byte for byte, at the sizes where chunks,
packets and blocks begin and end."""

from __future__ import annotations

import asyncio
import io

import pytest
from client_support import BLOCK, PACKET, FakeCluster, payload, read_file, write_file

from hopsfs.client.input_stream import AsyncInputStream


@pytest.mark.parametrize(
    "size",
    [0, 1, 511, 512, 513, PACKET - 1, PACKET, PACKET + 1, BLOCK, BLOCK + 1, 2 * BLOCK + 777],
)
def test_written_bytes_read_back_exactly(cluster: FakeCluster, size: int) -> None:
    data = payload(size)
    asyncio.run(write_file(cluster, "/f", data, pieces=3))
    assert asyncio.run(read_file(cluster, "/f")) == data
    status = cluster.namespace.stat("/f")
    assert status is not None and status.size == size and not status.under_construction
    blocks = cluster.namespace.inodes["/f"].blocks
    assert [block.num_bytes for block in blocks] == [
        min(BLOCK, size - start) for start in range(0, size, BLOCK)
    ]
    for block in blocks:  # every datanode of the pipeline holds the same finalized replica
        assert len(set(cluster.replicas(block.block_id).values())) == 1
        assert len(cluster.replicas(block.block_id)) == 3


def test_small_reads_and_writes_of_odd_sizes_reassemble(cluster: FakeCluster) -> None:
    data = payload(3 * BLOCK + 12345)
    asyncio.run(write_file(cluster, "/odd", data, pieces=997))
    assert asyncio.run(read_file(cluster, "/odd", chunk=4099)) == data


def test_replication_and_block_size_come_from_create_arguments(cluster: FakeCluster) -> None:
    data = payload(300_000)
    asyncio.run(write_file(cluster, "/r1", data, replication=1, block_size=128 * 1024))
    blocks = cluster.namespace.inodes["/r1"].blocks
    assert len(blocks) == 3
    assert all(len(cluster.replicas(block.block_id)) == 1 for block in blocks)
    assert asyncio.run(read_file(cluster, "/r1")) == data


def test_a_block_size_that_is_not_a_multiple_of_the_chunk_is_refused(cluster: FakeCluster) -> None:
    from hopsfs.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="multiple of 512"):
        asyncio.run(write_file(cluster, "/bad", b"x", block_size=1000))
    assert cluster.namespace.stat("/bad") is None


def test_seek_and_positional_reads_at_chunk_packet_and_block_boundaries(cluster: FakeCluster) -> None:
    data = payload(2 * BLOCK + 5000)
    asyncio.run(write_file(cluster, "/seek", data))
    offsets = [
        0,
        1,
        511,
        512,
        513,
        PACKET - 1,
        PACKET,
        PACKET + 1,
        BLOCK - 1,
        BLOCK,
        BLOCK + 1,
        2 * BLOCK + 4999,
    ]

    async def check() -> None:
        context = cluster.context()
        try:
            stream = await AsyncInputStream.open(context, "/seek", read_ahead_bytes=128 * 1024)
            for offset in offsets + offsets[::-1]:
                stream.seek(offset)
                assert stream.tell() == offset
                assert await stream.read(1500) == data[offset : offset + 1500]
                assert await stream.read_at(offset, 2000) == data[offset : offset + 2000]
                assert stream.tell() == min(offset + 1500, len(data))
            stream.seek(-10, io.SEEK_END)
            assert await stream.read() == data[-10:]
            assert await stream.read() == b""
            stream.seek(100)
            stream.seek(50, io.SEEK_CUR)
            assert await stream.read(10) == data[150:160]
            stream.seek(len(data) + 100)  # past the end is allowed; reads return nothing
            assert await stream.read(10) == b""
            with pytest.raises(ValueError, match="negative seek"):
                stream.seek(-1)
            buffer = bytearray(700)
            stream.seek(BLOCK - 300)
            assert await stream.readinto(buffer) == 700
            assert bytes(buffer) == data[BLOCK - 300 : BLOCK + 400]
            await stream.close()
            with pytest.raises(ValueError, match="closed file"):
                await stream.read(1)
        finally:
            await context.close()

    asyncio.run(check())


def test_connections_to_a_datanode_are_reused_between_reads(cluster: FakeCluster) -> None:
    data = payload(50_000)
    asyncio.run(write_file(cluster, "/reuse", data, replication=1))
    node = next(
        dn
        for dn in cluster.datanodes
        if cluster.replicas(cluster.namespace.inodes["/reuse"].blocks[0].block_id).get(dn.uuid)
    )

    async def many_reads() -> int:
        context = cluster.context()
        try:
            stream = await AsyncInputStream.open(context, "/reuse")
            for offset in range(0, 50_000, 5_000):
                assert await stream.read_at(offset, 100) == data[offset : offset + 100]
            return context.pool.connections_opened
        finally:
            await context.close()

    before = node.stats.connections
    opened = asyncio.run(many_reads())
    assert opened == 1
    assert node.stats.connections - before == 1
    assert node.stats.reads >= 10


def test_a_pooled_connection_the_datanode_closed_is_replaced_without_failing_over(
    cluster: FakeCluster,
) -> None:
    data = payload(20_000)
    asyncio.run(write_file(cluster, "/stale", data, replication=1))
    block_id = cluster.namespace.inodes["/stale"].blocks[0].block_id
    node = next(dn for dn in cluster.datanodes if dn.uuid in cluster.replicas(block_id))

    async def read_across_a_drop() -> tuple[int, int]:
        context = cluster.context()
        try:
            stream = await AsyncInputStream.open(context, "/stale")
            assert await stream.read_at(0, 100) == data[:100]
            node.drop_connections()  # the pooled connection is seen dead and not reused
            await asyncio.sleep(0.05)
            assert await stream.read_at(100, 100) == data[100:200]
            node.faults.drop_next_op = True  # the reused connection dies just as it is used
            assert await stream.read_at(200, 100) == data[200:300]
            return stream.failovers, context.pool.connections_opened
        finally:
            await context.close()

    failovers, opened = asyncio.run(read_across_a_drop())
    assert failovers == 0  # replica 0 is the only one: a failover would have failed the read
    assert opened == 3
