"""Reading a range of a block from whichever replica works, as HDFS's DFSInputStream does.

Replicas are tried in the order the namenode listed them (nearest first). A replica that fails
(unreachable, timed out, refused, broke the protocol) is skipped for the rest of this block's
attempt and the read continues from the first byte not yet delivered on the next one; a replica whose
data does not match its checksums is also reported to the namenode (reportBadBlocks) and never read
again by this stream. When every listed replica failed, the block's locations are fetched afresh
(they may be stale) up to `block_acquire_failures_max` times with a growing pause; then BlockMissing
names the block and every datanode tried.

A replica on this host is read from its files first when the datanodes' domain socket is configured
(hopsfs/client/short_circuit.py); whatever that cannot deliver is read over TCP from the same replica.

Delivered bytes are always verified: data goes to the caller's sink only after its packet's checksums
matched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from hopsfs.client.block_locations import BlockLocations
from hopsfs.client.block_reader import BlockReader, ReplicaReadFailed
from hopsfs.client.data_context import DataContext
from hopsfs.client.short_circuit import ShortCircuitUnavailable
from hopsfs.errors import BlockMissing, HopsFSError
from hopsfs.invariants import check
from hopsfs.protocol.located_blocks import DatanodeInfo, LocatedBlock

log = logging.getLogger(__name__)

DataSink = Callable[[memoryview], Awaitable[None]]


class ReplicaReads:
    """Failover reads of one file's blocks; remembers the corrupt replicas it found."""

    def __init__(self, context: DataContext, path: str, locations: BlockLocations) -> None:
        self._context = context
        self._path = path
        self._locations = locations
        # (block id, datanode uuid) of replicas found corrupt: never read again by this stream.
        self.corrupt_replicas: set[tuple[int, str]] = set()
        self.failovers = 0

    async def read(self, located: LocatedBlock, start: int, length: int, sink: DataSink) -> None:
        """Deliver bytes [start, start + length) of `located` (block offsets) to `sink`, in order."""
        check(start >= 0 and length > 0, "a block range is non-empty and starts inside the block")
        position, end = start, start + length
        failed: dict[str, str] = {}  # uuid -> why, in this round of the block's replicas
        tried: list[str] = []
        rounds = 0
        while position < end:
            node = self._choose(located, failed)
            if node is None:
                rounds += 1
                if rounds > self._context.settings.block_acquire_failures_max:
                    raise self._missing(located, tried)
                await asyncio.sleep(self._context.settings.block_acquire_backoff_s * rounds)
                located = await self._locations.refetch(located)
                failed.clear()
                continue
            if self._context.short_circuit.usable(node):
                position = await self._read_locally(node, located, position, end, sink)
                if position == end:
                    break
            reader: BlockReader | None = None
            try:
                reader = await BlockReader.open(
                    self._context.pool,
                    node,
                    located.block,
                    position,
                    end - position,
                    client_name=self._context.namenode.client_name,
                    settings=self._context.settings,
                )
                while (data := await reader.read()) is not None:
                    await sink(data)
                position = reader.position
            except ReplicaReadFailed as failure:
                if reader is not None:
                    position = reader.position
                failed[node.uuid] = failure.reason
                tried.append(f"{node.transfer_name} ({failure.reason})")
                self.failovers += 1
                log.info("read of %s from %s failed, trying another replica: %s", self._path, node, failure)
                if failure.corrupt:
                    await self._report_corrupt(located, node)
            finally:
                if reader is not None:
                    reader.abort()

    async def _read_locally(
        self, node: DatanodeInfo, located: LocatedBlock, position: int, end: int, sink: DataSink
    ) -> int:
        """Deliver what a short-circuit read of `node`'s replica can; the position reached (the rest
        is read over TCP)."""
        try:
            async for piece in self._context.short_circuit.pieces(node, located, position, end):
                await sink(piece)
                position += len(piece)
        except ShortCircuitUnavailable as reason:
            log.debug("short-circuit read of %s from %s: %s; reading over TCP", self._path, node, reason)
        return position

    def _choose(self, located: LocatedBlock, failed: dict[str, str]) -> DatanodeInfo | None:
        block_id = located.block.block_id
        for node in located.locations:
            if node.uuid not in failed and (block_id, node.uuid) not in self.corrupt_replicas:
                return node
        return None

    async def _report_corrupt(self, located: LocatedBlock, node: DatanodeInfo) -> None:
        self.corrupt_replicas.add((located.block.block_id, node.uuid))
        bad = LocatedBlock(located.block, located.offset, (node,), corrupt=True)
        try:
            await self._context.namenode.report_bad_blocks([bad])
        except HopsFSError as error:
            # The read goes on from another replica; the block scanner will find this one too.
            log.warning("reporting corrupt replica %s on %s failed: %s", located.block.name, node, error)

    def _missing(self, located: LocatedBlock, tried: list[str]) -> BlockMissing:
        block = located.block
        block_name = f"{block.pool_id}:{block.name}"
        detail = "tried " + "; ".join(tried) if tried else "no datanode holds a replica"
        return BlockMissing(
            f"Could not obtain block {block_name} of {self._path} (file offset {located.offset}): {detail}",
            block_name,
            tuple(tried),
        )
