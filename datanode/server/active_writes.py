"""Writes in progress, by block: what a replica being written has acknowledged, and how to stop it.

A reader of a replica being written sees only the bytes its pipeline acknowledged (Hadoop's visible
length); pipeline recovery, a RECOVER command or an INVALIDATE stops the old writer, and waits for
it to let go of the replica, before changing it. Used from the event loop only.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from datanode.storage.errors import ReplicaNotWritable
from hopsfs.invariants import check

LOGGER = logging.getLogger("hopsfs.datanode.writes")
STOP_TIMEOUT_S = 30.0


@dataclass(slots=True)
class ActiveWrite:
    block_id: int
    task: asyncio.Task[object] | None
    bytes_acked: int
    finished: asyncio.Event = field(default_factory=asyncio.Event)


class ActiveWrites:
    def __init__(self) -> None:
        self._writes: dict[int, ActiveWrite] = {}

    def __len__(self) -> int:
        return len(self._writes)

    def begin(self, block_id: int, bytes_acked: int) -> ActiveWrite:
        """Register the current task as the writer of `block_id`; ReplicaNotWritable while another
        write of it runs (two recoveries racing: the later one loses)."""
        check(bytes_acked >= 0, "acknowledged lengths are never negative")
        if block_id in self._writes:
            raise ReplicaNotWritable(f"blk_{block_id} is being written by another pipeline")
        write = ActiveWrite(block_id, asyncio.current_task(), bytes_acked)
        self._writes[block_id] = write
        return write

    def end(self, write: ActiveWrite) -> None:
        if self._writes.get(write.block_id) is write:
            del self._writes[write.block_id]
        write.finished.set()

    def acked_length(self, block_id: int) -> int | None:
        """Bytes the write of `block_id` acknowledged, or None when no write is in progress."""
        write = self._writes.get(block_id)
        return None if write is None else write.bytes_acked

    async def stop(self, block_id: int) -> None:
        """Cancel the writer of `block_id`, if any, and wait until it has released the replica."""
        write = self._writes.get(block_id)
        if write is None:
            return
        current = asyncio.current_task()
        check(write.task is not current, "a write never stops itself")
        LOGGER.info("stopping the writer of blk_%d", block_id)
        if write.task is not None:
            write.task.cancel()
        try:
            await asyncio.wait_for(write.finished.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            LOGGER.error("writer of blk_%d did not stop within %s s", block_id, STOP_TIMEOUT_S)
            raise
        self._writes.pop(block_id, None)
