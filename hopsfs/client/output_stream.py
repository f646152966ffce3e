"""Writing a file: `AsyncOutputStream`, the asyncio core of `hopsfs.Client.create` / `append` /
`open(path, "wb")`.

Bytes written are cut into packets (`write_packets`) and streamed through block pipelines by a
`DataStreamer` task; `write` returns once its packets are queued, waiting only when
`packets_in_flight_max` packets are already in flight. The lease is renewed in the background while
the stream is open.

- `flush()` only checks the stream: data stays buffered until a packet is full (as HDFS's flush).
- `hflush()` sends what is buffered and waits until every datanode of the pipeline acknowledged it,
  then records the block's length with the namenode (fsync) so new readers see it.
- `hsync()` does the same with the packet's syncBlock flag (datanodes sync it to disk).
- `close()` sends the rest and the end of the last block, waits for the acks, and completes the file
  (retrying while the namenode answers that the last block is not yet replicated: 400 ms doubling,
  `complete_retries_max` attempts, then NotEnoughReplicas). If the stream failed (PipelineFailed: no
  datanode left), `close()` raises that failure and the file is not completed: never a silently short
  file. `abort()` stops without completing (the namenode's lease recovery closes the file later).
"""

from __future__ import annotations

import asyncio

from hopsfs import limits
from hopsfs.client.data_context import DataContext
from hopsfs.client.data_streamer import DataStreamer
from hopsfs.client.write_packets import Packetizer
from hopsfs.errors import InvalidArgument, NotEnoughReplicas, PipelineFailed
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType
from hopsfs.protocol.located_blocks import ExtendedBlock, LocatedBlock
from hopsfs.types import FileStatus

PERMISSION_DEFAULT = 0o644


class AsyncOutputStream:
    def __init__(
        self,
        context: DataContext,
        status: FileStatus,
        *,
        block_size: int,
        append_block: LocatedBlock | None = None,
    ) -> None:
        self.path = status.path
        self.file_id = status.inode_id
        self._context = context
        checksum = ChecksumSpec(ChecksumType.CRC32C, context.settings.bytes_per_checksum)
        bytes_in_block = append_block.block.num_bytes if append_block is not None else 0
        self._packetizer = Packetizer(context.settings, checksum, block_size, bytes_in_block=bytes_in_block)
        self._streamer = DataStreamer(
            context,
            self.path,
            self.file_id,
            block_size=block_size,
            checksum=checksum,
            append_block=append_block,
        )
        self._position = status.size
        self._closed = False
        self._abandoned: str | None = None
        context.leases.register(self)
        context.open_streams.add(self)

    @classmethod
    async def create(
        cls,
        context: DataContext,
        path: str,
        *,
        overwrite: bool = False,
        replication: int | None = None,
        block_size: int | None = None,
        permission: int = PERMISSION_DEFAULT,
        create_parent: bool = True,
    ) -> AsyncOutputStream:
        """A new file at `path` open for writing. Replication and block size default to the
        namenode's (getServerDefaults)."""
        if replication is None or block_size is None:
            defaults = await context.namenode.server_defaults()
            replication = defaults["replication"] if replication is None else replication
            block_size = defaults["block_size"] if block_size is None else block_size
        check_block_size(block_size, context.settings.bytes_per_checksum)
        if not limits.REPLICATION_MIN <= replication <= limits.REPLICATION_MAX:
            raise InvalidArgument(
                f"replication {replication} is outside {limits.REPLICATION_MIN}..{limits.REPLICATION_MAX}"
            )
        status = await context.namenode.create_file(
            path,
            permission=permission,
            overwrite=overwrite,
            create_parent=create_parent,
            replication=replication,
            block_size=block_size,
        )
        return cls(context, status, block_size=block_size)

    @classmethod
    async def append(cls, context: DataContext, path: str) -> AsyncOutputStream:
        """The existing file at `path` reopened for writing at its end."""
        status, last = await context.namenode.reopen_for_append(path)
        check_block_size(status.block_size, context.settings.bytes_per_checksum)
        has_room = last is not None and last.block.num_bytes < status.block_size
        return cls(context, status, block_size=status.block_size, append_block=last if has_room else None)

    # -- state ------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def abandoned_reason(self) -> str | None:
        """Why the stream was aborted from outside (the client closing), or None."""
        return self._abandoned

    @property
    def recoveries(self) -> int:
        """Pipeline recoveries this stream went through (a datanode failed mid-block)."""
        return self._streamer.recoveries

    def tell(self) -> int:
        """The file offset the next write goes to."""
        return self._position

    # -- writes -----------------------------------------------------------------------------------

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue `data` for the pipeline; the number of bytes taken (all of them)."""
        self._check_open()
        size = memoryview(data).nbytes
        for packet in self._packetizer.write(data):
            await self._streamer.put(packet)
        self._position += size
        return size

    async def flush(self) -> None:
        """Buffering only, as HDFS's flush: use hflush() to make data visible to readers."""
        self._check_open()
        if self._streamer.failure is not None:
            raise self._streamer.failure

    async def hflush(self) -> None:
        """Send everything written so far and wait until every datanode acknowledged it."""
        await self._sync(sync_block=False)

    async def hsync(self) -> None:
        """hflush, and the datanodes sync the block to disk."""
        await self._sync(sync_block=True)

    async def close(self) -> None:
        """Finish the last block and complete the file; raises if any of it failed."""
        if self._abandoned is not None:
            raise PipelineFailed(f"{self.path} was not completed: {self._abandoned}")
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._packetizer.finish():
                await self._streamer.put(packet)
            last = await self._streamer.close()
            await self._complete(last)
        except BaseException:
            await self._streamer.abort()
            raise
        finally:
            self._forget()

    async def close_with_inline_data(self, data: bytes) -> bool:
        """Close a file nothing was written to yet with `data` stored in the metadata store, in one
        namenode call; False (the stream still open, nothing sent) when the namenode keeps files
        this size in blocks: then write `data` and close as usual."""
        self._check_open()
        check(self._position == 0, "an inline close needs a new file nothing was written to")
        if not await self._context.namenode.complete_with_data(self.path, self.file_id, bytes(data)):
            return False
        self._closed = True
        self._position = len(data)
        try:
            await self._streamer.close()  # nothing was queued: no block, no datanode
        finally:
            self._forget()
        return True

    async def abort(self, reason: str | None = None) -> None:
        """Stop writing without completing the file. With a `reason` (the client shutting down under
        an open stream), a later close() raises it instead of returning as if all went well."""
        if self._closed:
            return
        self._closed = True
        self._abandoned = reason
        try:
            await self._streamer.abort()
        finally:
            self._forget()

    async def __aenter__(self) -> AsyncOutputStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- internals --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("I/O operation on closed file")

    def _forget(self) -> None:
        self._context.leases.unregister(self)
        self._context.open_streams.discard(self)

    async def _sync(self, *, sync_block: bool) -> None:
        self._check_open()
        for packet in self._packetizer.flush(sync=sync_block):
            await self._streamer.put(packet)
        await self._streamer.wait_acked()
        length = self._streamer.current_block_length
        if length is not None:
            await self._context.namenode.fsync(self.path, self.file_id, length)

    async def _complete(self, last: ExtendedBlock | None) -> None:
        settings = self._context.settings
        delay_s = settings.complete_backoff_s
        for attempt in range(settings.complete_retries_max):
            if await self._context.namenode.complete(self.path, self.file_id, last):
                return
            if attempt + 1 < settings.complete_retries_max:
                await asyncio.sleep(delay_s)
                delay_s *= 2
        block = last.name if last is not None else "(none)"
        raise NotEnoughReplicas(
            f"Unable to close file {self.path} because the last block {block} does not have enough "
            f"replicas after {settings.complete_retries_max} attempts"
        )


def check_block_size(block_size: int, bytes_per_checksum: int) -> None:
    """InvalidArgument unless `block_size` is a positive multiple of the checksum chunk (HDFS's rule)."""
    if block_size <= 0 or block_size % bytes_per_checksum:
        raise InvalidArgument(f"block size {block_size} is not a positive multiple of {bytes_per_checksum}")
