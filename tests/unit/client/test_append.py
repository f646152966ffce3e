"""append(): the last block reopened mid-chunk (PIPELINE_SETUP_APPEND), a full last block followed by
a new one, many small appends, and a datanode failing while appending."""

from __future__ import annotations

import asyncio

import pytest
from client_support import BLOCK, FakeCluster, payload, read_file, write_file

from hopsfs.client.output_stream import AsyncOutputStream
from hopsfs.client.write_pipeline import Stage
from hopsfs.errors import FileNotFound


async def append(cluster: FakeCluster, path: str, data: bytes, *, pieces: int = 1) -> None:
    context = cluster.context()
    try:
        stream = await AsyncOutputStream.append(context, path)
        assert stream.tell() == (cluster.namespace.stat(path).size if cluster.namespace.stat(path) else 0)
        step = max(1, -(-len(data) // pieces))
        for start in range(0, len(data), step):
            await stream.write(data[start : start + step])
        await stream.close()
    finally:
        await context.close()


@pytest.mark.parametrize("existing", [1, 1000, 511, 512, 70_000, BLOCK - 1])
def test_append_mid_chunk_continues_the_last_block(cluster: FakeCluster, existing: int) -> None:
    head, tail = payload(existing, seed=3), payload(150_000, seed=4)
    asyncio.run(write_file(cluster, "/f", head))
    first_block = cluster.namespace.inodes["/f"].blocks[0]
    stamp_before = first_block.generation_stamp
    asyncio.run(append(cluster, "/f", tail, pieces=7))
    assert asyncio.run(read_file(cluster, "/f")) == head + tail
    blocks = cluster.namespace.inodes["/f"].blocks
    assert blocks[0].block_id == first_block.block_id  # the same block went on
    assert blocks[0].generation_stamp > stamp_before
    assert blocks[0].num_bytes == min(BLOCK, existing + len(tail))
    assert Stage.PIPELINE_SETUP_APPEND in cluster.datanodes[0].stats.stages
    assert cluster.replicas(blocks[0].block_id) == {
        dn.uuid: (head + tail)[:BLOCK] for dn in cluster.datanodes
    }


def test_append_to_a_full_last_block_starts_a_new_block(cluster: FakeCluster) -> None:
    head, tail = payload(BLOCK, seed=5), payload(1000, seed=6)
    asyncio.run(write_file(cluster, "/f", head))
    asyncio.run(append(cluster, "/f", tail))
    assert asyncio.run(read_file(cluster, "/f")) == head + tail
    assert [block.num_bytes for block in cluster.namespace.inodes["/f"].blocks] == [BLOCK, 1000]
    assert Stage.PIPELINE_SETUP_APPEND not in cluster.datanodes[0].stats.stages


def test_append_to_an_empty_file_and_many_small_appends(cluster: FakeCluster) -> None:
    asyncio.run(write_file(cluster, "/f", b""))
    expected = b""
    for round_number in range(12):
        piece = payload(7 * round_number + 1, seed=round_number)
        asyncio.run(append(cluster, "/f", piece))
        expected += piece
    assert asyncio.run(read_file(cluster, "/f")) == expected


def test_append_with_no_data_keeps_the_file_as_it_was(cluster: FakeCluster) -> None:
    head = payload(3000)
    asyncio.run(write_file(cluster, "/f", head))
    asyncio.run(append(cluster, "/f", b""))
    assert asyncio.run(read_file(cluster, "/f")) == head
    status = cluster.namespace.stat("/f")
    assert status is not None and not status.under_construction


def test_a_datanode_dying_during_an_append_is_recovered(cluster: FakeCluster) -> None:
    head, tail = payload(700, seed=8), payload(400_000, seed=9)
    asyncio.run(write_file(cluster, "/f", head))
    cluster.datanodes[1].faults.die_after_packets = cluster.datanodes[1].stats.write_packets + 3
    asyncio.run(append(cluster, "/f", tail, pieces=40))
    assert asyncio.run(read_file(cluster, "/f")) == head + tail
    assert Stage.PIPELINE_SETUP_STREAMING_RECOVERY in cluster.datanodes[0].stats.stages


def test_a_datanode_down_when_the_append_starts_recovers_the_append_setup(cluster: FakeCluster) -> None:
    head, tail = payload(700, seed=10), payload(5000, seed=11)
    asyncio.run(write_file(cluster, "/f", head))
    cluster.loop.run(cluster.datanodes[2].stop())
    asyncio.run(append(cluster, "/f", tail))
    assert asyncio.run(read_file(cluster, "/f")) == head + tail
    assert Stage.PIPELINE_SETUP_APPEND_RECOVERY in cluster.datanodes[0].stats.stages


def test_append_to_a_missing_file_raises_file_not_found(cluster: FakeCluster) -> None:
    with pytest.raises(FileNotFound):
        asyncio.run(append(cluster, "/missing", b"x"))
