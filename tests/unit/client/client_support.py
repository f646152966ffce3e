"""Shared pieces of the client's data-path tests: a fake cluster (fake datanodes on their own loop
thread, real sockets on 127.0.0.1, an in-memory namenode in front of them), short test timeouts, and
helpers to write and read a whole file through the async streams.

Kept out of conftest.py so test modules import it by a name no other directory shares.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from memory_namenode import BLOCK_SIZE_DEFAULT, MemoryNamenode, MemoryNamespace
from support.fake_datanode import BackgroundLoop, FakeDatanode

from hopsfs.client.data_context import DataContext
from hopsfs.client.input_stream import AsyncInputStream
from hopsfs.client.output_stream import AsyncOutputStream
from hopsfs.client.stream_settings import StreamSettings

DATANODES = 3
# Short waits so failure paths take milliseconds; the logic is the same as with HDFS's defaults.
TEST_SETTINGS = StreamSettings(
    connect_timeout_s=2.0,
    read_timeout_s=5.0,
    ack_timeout_s=5.0,
    block_acquire_backoff_s=0.01,
    complete_backoff_s=0.01,
)


@dataclass
class FakeCluster:
    loop: BackgroundLoop
    datanodes: list[FakeDatanode]
    namespace: MemoryNamespace

    def namenode(self, client_name: str = "DFSClient_memory_1") -> MemoryNamenode:
        return MemoryNamenode(self.namespace, client_name)

    def context(
        self, settings: StreamSettings = TEST_SETTINGS, client_name: str = "DFSClient_memory_1"
    ) -> DataContext:
        """A data context for one client; build it inside the coroutine that uses it."""
        return DataContext.create(self.namenode(client_name), settings)

    def replicas(self, block_id: int) -> dict[str, bytes]:
        """uuid -> data of every finalized replica of `block_id`."""
        found = {}
        for datanode in self.datanodes:
            replica = datanode.replica(block_id)
            if replica is not None and replica.finalized:
                found[datanode.uuid] = bytes(replica.data)
        return found


BLOCK = BLOCK_SIZE_DEFAULT  # 1 MiB
PACKET = StreamSettings().packet_data_bytes_max  # 64512


def payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed * 1_000_003 + size).randbytes(size)


async def write_file(
    cluster: FakeCluster, path: str, data: bytes, *, pieces: int = 1, **options: int
) -> None:
    context = cluster.context()
    try:
        stream = await AsyncOutputStream.create(context, path, **options)
        step = max(1, -(-len(data) // pieces))
        for start in range(0, len(data), step):
            await stream.write(data[start : start + step])
        await stream.close()
    finally:
        await context.close()


async def read_file(cluster: FakeCluster, path: str, *, chunk: int = -1) -> bytes:
    context = cluster.context()
    try:
        async with await AsyncInputStream.open(context, path) as stream:
            if chunk < 0:
                return await stream.read()
            parts = []
            while part := await stream.read(chunk):
                parts.append(part)
            return b"".join(parts)
    finally:
        await context.close()
