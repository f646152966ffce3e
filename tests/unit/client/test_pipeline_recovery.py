"""A write survives datanodes failing mid-block (the pipeline is rebuilt on the rest and the data read
back is complete and exact), and fails loudly when no datanode is left: close() raises and the file is
never completed."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import pytest
from client_support import BLOCK, TEST_SETTINGS, FakeCluster, payload, read_file, write_file

from hopsfs.client.output_stream import AsyncOutputStream
from hopsfs.client.write_pipeline import Stage
from hopsfs.errors import NotEnoughReplicas, PipelineFailed

SIZE = 2 * BLOCK + 300_000


def first_block_replicas(cluster: FakeCluster, path: str) -> dict[str, bytes]:
    return cluster.replicas(cluster.namespace.inodes[path].blocks[0].block_id)


@pytest.mark.parametrize("failing", [0, 1, 2], ids=["first", "middle", "last"])
def test_a_datanode_dying_mid_block_is_dropped_and_the_write_completes(
    cluster: FakeCluster, failing: int
) -> None:
    data = payload(SIZE)
    cluster.datanodes[failing].faults.die_after_packets = 5
    asyncio.run(write_file(cluster, "/f", data, pieces=50))
    assert asyncio.run(read_file(cluster, "/f")) == data
    survivors = {dn.uuid for index, dn in enumerate(cluster.datanodes) if index != failing}
    first = first_block_replicas(cluster, "/f")
    assert set(first) == survivors
    assert first == {uuid: data[:BLOCK] for uuid in survivors}
    old, new, nodes = cluster.namespace.pipeline_updates[0]
    assert new.generation_stamp == old.generation_stamp + 1
    assert set(nodes) == survivors
    recovered_stages = [stage for dn in cluster.datanodes for stage in dn.stats.stages]
    assert Stage.PIPELINE_SETUP_STREAMING_RECOVERY in recovered_stages
    # Later blocks were placed without the dead datanode (its pipeline setup failed: abandoned).
    for block in cluster.namespace.inodes["/f"].blocks[1:]:
        assert set(cluster.replicas(block.block_id)) == survivors


def test_an_error_for_a_downstream_node_in_an_ack_drops_that_node(cluster: FakeCluster) -> None:
    data = payload(BLOCK // 2)
    cluster.datanodes[0].faults.error_downstream_after_packets = 3  # blames datanode 1, which is fine
    asyncio.run(write_file(cluster, "/f", data, pieces=20))
    assert asyncio.run(read_file(cluster, "/f")) == data
    _, _, nodes = cluster.namespace.pipeline_updates[0]
    assert nodes == (cluster.datanodes[0].uuid, cluster.datanodes[2].uuid)
    assert set(first_block_replicas(cluster, "/f")) == set(nodes)


def test_a_failure_on_the_end_of_block_packet_recovers_with_close_recovery(cluster: FakeCluster) -> None:
    data = payload(BLOCK + 1000)
    cluster.datanodes[2].faults.die_on_end_of_block = True
    asyncio.run(write_file(cluster, "/f", data))
    assert asyncio.run(read_file(cluster, "/f")) == data
    assert Stage.PIPELINE_CLOSE_RECOVERY in cluster.datanodes[0].stats.stages
    assert set(first_block_replicas(cluster, "/f")) == {cluster.datanodes[0].uuid, cluster.datanodes[1].uuid}


def test_a_datanode_down_at_pipeline_setup_is_excluded_and_the_block_abandoned(cluster: FakeCluster) -> None:
    cluster.loop.run(cluster.datanodes[1].stop())
    data = payload(BLOCK + 10)
    asyncio.run(write_file(cluster, "/f", data))
    assert asyncio.run(read_file(cluster, "/f")) == data
    assert cluster.namespace.calls["abandonBlock"] == 1  # then excluded for the file's next block too
    assert cluster.namespace.calls["addBlock"] == 3


def test_the_first_datanode_unreachable_at_setup_is_excluded(cluster: FakeCluster) -> None:
    cluster.loop.run(cluster.datanodes[0].stop())
    data = payload(70_000)
    asyncio.run(write_file(cluster, "/f", data))
    assert asyncio.run(read_file(cluster, "/f")) == data
    assert set(first_block_replicas(cluster, "/f")) == {cluster.datanodes[1].uuid, cluster.datanodes[2].uuid}


def test_losing_every_datanode_fails_close_and_leaves_the_file_incomplete(cluster: FakeCluster) -> None:
    for datanode in cluster.datanodes:
        datanode.faults.die_after_packets = 4
    data = payload(BLOCK // 2)

    async def write() -> None:
        context = cluster.context()
        stream = await AsyncOutputStream.create(context, "/lost")
        try:
            # A write may already raise the failure (it happens while writes go on) ...
            with contextlib.suppress(PipelineFailed):
                for start in range(0, len(data), 10_000):
                    await stream.write(data[start : start + 10_000])
            # ... and close raises it whatever happened before: never a silently short file.
            with pytest.raises(PipelineFailed, match="All datanodes"):
                await stream.close()
            assert stream.closed
        finally:
            await context.close()

    asyncio.run(write())
    assert cluster.namespace.calls["complete"] == 0
    status = cluster.namespace.stat("/lost")
    assert status is not None and status.under_construction


def test_complete_is_retried_while_the_last_block_lacks_replicas(cluster: FakeCluster) -> None:
    cluster.namespace.complete_refusals = 3
    asyncio.run(write_file(cluster, "/f", b"abc"))
    assert cluster.namespace.calls["complete"] == 4
    assert asyncio.run(read_file(cluster, "/f")) == b"abc"


def test_complete_refused_every_time_raises_not_enough_replicas(cluster: FakeCluster) -> None:
    cluster.namespace.complete_refusals = 1000
    with pytest.raises(NotEnoughReplicas, match="does not have enough replicas"):
        asyncio.run(write_file(cluster, "/f", b"abc"))
    assert cluster.namespace.calls["complete"] == TEST_SETTINGS.complete_retries_max


def test_a_window_of_one_packet_still_writes_everything(cluster: FakeCluster) -> None:
    data = payload(BLOCK + 99_999)

    async def write() -> None:
        context = cluster.context(dataclasses.replace(TEST_SETTINGS, packets_in_flight_max=1))
        try:
            async with await AsyncOutputStream.create(context, "/narrow") as stream:
                await stream.write(data)
        finally:
            await context.close()

    asyncio.run(write())
    assert asyncio.run(read_file(cluster, "/narrow")) == data


def test_hflush_makes_written_data_visible_to_a_new_reader(cluster: FakeCluster) -> None:
    head, tail = payload(100_001, seed=1), payload(50_000, seed=2)

    async def write_and_peek() -> tuple[bytes, bytes]:
        writer_context = cluster.context()
        reader_context = cluster.context(client_name="DFSClient_reader")
        try:
            stream = await AsyncOutputStream.create(writer_context, "/live")
            await stream.write(head)
            await stream.hflush()
            from hopsfs.client.input_stream import AsyncInputStream

            reader = await AsyncInputStream.open(reader_context, "/live")
            seen = await reader.read()
            await stream.write(tail)
            await stream.hsync()
            assert await reader.refresh() == len(head) + len(tail)
            reader.seek(len(head) - 5)
            seen_later = await reader.read()
            await stream.close()
            await reader.close()
            return seen, seen_later
        finally:
            await writer_context.close()
            await reader_context.close()

    seen, seen_later = asyncio.run(write_and_peek())
    assert seen == head
    assert seen_later == (head + tail)[len(head) - 5 :]
    assert cluster.namespace.fsyncs[:2] == [("/live", len(head)), ("/live", len(head) + len(tail))]
    assert asyncio.run(read_file(cluster, "/live")) == head + tail


def test_the_lease_is_renewed_while_a_stream_is_open_and_not_after(cluster: FakeCluster) -> None:
    async def write_slowly() -> tuple[int, int]:
        namenode = cluster.namenode()
        from hopsfs.client.data_context import DataContext

        context = DataContext.create(
            namenode, dataclasses.replace(TEST_SETTINGS, lease_renewal_interval_s=0.02)
        )
        try:
            stream = await AsyncOutputStream.create(context, "/slow")
            await stream.write(b"a")
            await asyncio.sleep(0.2)
            await stream.close()
            during = namenode.lease_renewals
            await asyncio.sleep(0.1)
            return during, namenode.lease_renewals
        finally:
            await context.close()

    during, after = asyncio.run(write_slowly())
    assert during >= 3
    assert after == during


def test_a_reset_after_the_last_ack_leaves_the_finished_block_alone(cluster: FakeCluster) -> None:
    data = payload(3 * BLOCK // 2)
    cluster.datanodes[0].faults.reset_after_end_of_block = True
    asyncio.run(write_file(cluster, "/f", data))
    assert asyncio.run(read_file(cluster, "/f")) == data
    assert cluster.namespace.pipeline_updates == []  # nothing to recover: the block was complete
