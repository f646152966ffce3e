"""Block locations come in windows fetched as the reader moves on; read-ahead is bounded; a file being
written is readable up to what the namenode reports."""

from __future__ import annotations

import asyncio
import dataclasses

from client_support import TEST_SETTINGS, FakeCluster, payload, write_file

from hopsfs.client.input_stream import AsyncInputStream
from hopsfs.client.output_stream import AsyncOutputStream
from hopsfs.client.stream_settings import StreamSettings

SMALL_BLOCK = 128 * 1024


def test_locations_are_fetched_window_by_window(cluster: FakeCluster) -> None:
    data = payload(12 * SMALL_BLOCK + 100)
    asyncio.run(write_file(cluster, "/many", data, block_size=SMALL_BLOCK))
    settings = dataclasses.replace(
        TEST_SETTINGS, location_window_blocks=2, first_location_window_bytes=2 * SMALL_BLOCK
    )

    async def read() -> tuple[bytes, int]:
        context = cluster.context(settings)
        try:
            stream = await AsyncInputStream.open(context, "/many")
            content = await stream.read()
            return content, stream.location_fetches
        finally:
            await context.close()

    content, fetches = asyncio.run(read())
    assert content == data
    # 13 blocks, 2 per window: the open's window (which also names the last block: the namenode
    # always sends it), then one per further window up to the last block.
    assert fetches == 6


def test_read_ahead_stays_within_its_buffer(cluster: FakeCluster) -> None:
    data = payload(2 * SMALL_BLOCK * 8)
    asyncio.run(write_file(cluster, "/ahead", data))
    read_ahead = 100_000

    async def read() -> list[int]:
        context = cluster.context()
        try:
            stream = await AsyncInputStream.open(context, "/ahead", read_ahead_bytes=read_ahead)
            observed = []
            for _ in range(20):
                position = stream.tell()
                assert await stream.read(10_000) == data[position : position + 10_000]
                await asyncio.sleep(0.01)  # let the read-ahead run as far as it may
                observed.append(stream.read_ahead_buffered_bytes)
            return observed
        finally:
            await context.close()

    observed = asyncio.run(read())
    packet = StreamSettings().write_packet_bytes
    assert max(observed) >= read_ahead - 10_000  # it did read ahead ...
    assert max(observed) <= read_ahead + packet  # ... and no further than one packet past the buffer


def test_a_file_being_written_reads_up_to_the_length_the_namenode_reports(cluster: FakeCluster) -> None:
    first, second = payload(SMALL_BLOCK + 500, seed=1), payload(700, seed=2)

    async def write_and_read() -> tuple[int, bytes, int, bytes]:
        writer = cluster.context()
        reader = cluster.context(client_name="DFSClient_reader")
        try:
            stream = await AsyncOutputStream.create(writer, "/growing", block_size=SMALL_BLOCK)
            await stream.write(first)
            await stream.hflush()  # the second block's length is now recorded (fsync)
            opened = await AsyncInputStream.open(reader, "/growing")
            seen = await opened.read()
            await stream.write(second)  # not flushed: not visible
            await stream.hflush()
            length_after = await opened.refresh()
            opened.seek(len(first) - 3)
            seen_after = await opened.read()
            await stream.close()
            return len(seen), seen, length_after, seen_after
        finally:
            await writer.close()
            await reader.close()

    seen_length, seen, length_after, seen_after = asyncio.run(write_and_read())
    assert (seen_length, seen) == (len(first), first)
    assert length_after == len(first) + len(second)
    assert seen_after == (first + second)[len(first) - 3 :]
