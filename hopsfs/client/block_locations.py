"""Where the blocks of one file being read are: getBlockLocations in windows, cached per stream.

A window covers `location_window_blocks` blocks from an offset (HDFS's prefetch size: 10 blocks).
A reader asks for the block holding an offset; a window that does not cover it is fetched then, and
`prefetch` fetches the next window in the background while the current one is read. `refetch`
replaces one block's locations when every replica listed failed (they may be stale: a datanode died,
the block was re-replicated).

The file's length is what the first answer made visible (for a file being written, up to the end of
its last block as the namenode knows it); `refresh` asks again.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging

from hopsfs.client.block_namenode import BlockNamenode
from hopsfs.client.stream_settings import StreamSettings
from hopsfs.errors import BlockMissing, HopsFSError
from hopsfs.invariants import check
from hopsfs.protocol.located_blocks import LocatedBlock, LocatedBlocks

log = logging.getLogger(__name__)

# Cached blocks per stream; past this the cache restarts from the newest window.
CACHED_BLOCKS_MAX = 4096


class BlockLocations:
    def __init__(self, namenode: BlockNamenode, path: str, settings: StreamSettings) -> None:
        self._namenode = namenode
        self._path = path
        self._settings = settings
        self._offsets: list[int] = []  # sorted block offsets, parallel to _blocks
        self._blocks: list[LocatedBlock] = []
        self._window_bytes = settings.first_location_window_bytes
        self._prefetch: asyncio.Task[None] | None = None
        self.length = 0
        self.under_construction = False
        self.fetches = 0

    async def refresh(self) -> int:
        """Fetch from the start of the file again; the visible length, which a file being written
        may have grown."""
        located = await self._fetch(0)
        self.length = located.visible_length
        self.under_construction = located.under_construction
        return self.length

    async def block_at(self, offset: int) -> LocatedBlock:
        """The block holding file offset `offset` (< length); fetched when no cached window has it."""
        check(0 <= offset < self.length, "only offsets inside the file have a block")
        located = self._cached(offset)
        if located is None and self._prefetch is not None:
            with contextlib.suppress(HopsFSError):
                await asyncio.shield(self._prefetch)
            located = self._cached(offset)
        if located is None:
            await self._fetch(offset)
            located = self._cached(offset)
        if located is None:
            raise BlockMissing(f"the namenode lists no block at offset {offset} of {self._path}")
        return located

    async def refetch(self, stale: LocatedBlock) -> LocatedBlock:
        """Fresh locations for the block `stale` names (when every replica it listed failed)."""
        await self._fetch(stale.offset)
        located = self._cached(stale.offset)
        if located is None:
            raise BlockMissing(f"the namenode no longer lists block {stale.block.name} of {self._path}")
        return located

    def prefetch_after(self, current: LocatedBlock) -> None:
        """Fetch the window after `current` in the background when `current` is the last one cached."""
        following = current.end
        if following >= self.length or self._cached(following) is not None:
            return
        if self._prefetch is not None and not self._prefetch.done():
            return
        self._prefetch = asyncio.get_running_loop().create_task(self._prefetch_quietly(following))

    async def close(self) -> None:
        task, self._prefetch = self._prefetch, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, HopsFSError):
                await task

    # -- internals -------------------------------------------------------------------------------

    async def _prefetch_quietly(self, offset: int) -> None:
        try:
            await self._fetch(offset)
        except HopsFSError as error:
            # The reader fetches again itself when it gets there and reports what fails then.
            log.debug("prefetching locations of %s at %d failed: %s", self._path, offset, error)

    async def _fetch(self, offset: int) -> LocatedBlocks:
        located = await self._namenode.get_block_locations(self._path, offset, self._window_bytes)
        self.fetches += 1
        blocks = located.all_blocks()
        if blocks:
            block_size = max(block.block.num_bytes for block in blocks)
            if block_size > 0:
                self._window_bytes = block_size * self._settings.location_window_blocks
        self._insert(blocks)
        return located

    def _insert(self, blocks: tuple[LocatedBlock, ...]) -> None:
        if len(self._blocks) + len(blocks) > CACHED_BLOCKS_MAX:
            self._offsets.clear()
            self._blocks.clear()
        for located in blocks:
            index = bisect.bisect_left(self._offsets, located.offset)
            if index < len(self._offsets) and self._offsets[index] == located.offset:
                self._blocks[index] = located
            else:
                self._offsets.insert(index, located.offset)
                self._blocks.insert(index, located)
        check(len(self._offsets) == len(self._blocks), "offsets and blocks stay parallel")

    def _cached(self, offset: int) -> LocatedBlock | None:
        index = bisect.bisect_right(self._offsets, offset) - 1
        if index < 0:
            return None
        located = self._blocks[index]
        return located if offset < located.end else None
