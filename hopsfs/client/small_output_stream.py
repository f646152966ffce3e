"""open(path, "wb") / "xb" for files that may be small, HopsFS style: the file is created at open,
as HDFS does (the lease is taken, and a create's errors come at open), and the bytes written are
held back while they fit the client's inline offer (64 KiB by default). Close then completes the
file with them stored in the metadata store, one completeWithData call, so a small file never
touches a datanode.

The held bytes go to the block pipeline as soon as they outgrow the offer, on hflush/hsync (readers
must see them, which only an open block file allows), or when the directory's threshold refuses
them at close; from then on it is an ordinary block stream.
"""

from __future__ import annotations

from hopsfs.client.output_stream import AsyncOutputStream


class SmallFileOutputStream:
    """The write side of open(): the same methods as AsyncOutputStream, which it drives."""

    def __init__(self, blocks: AsyncOutputStream, *, offer_bytes_max: int) -> None:
        self.path = blocks.path
        self._blocks = blocks
        self._offer_bytes_max = offer_bytes_max
        self._held: bytearray | None = bytearray()  # None once the bytes go through blocks

    @property
    def closed(self) -> bool:
        return self._blocks.closed

    @property
    def abandoned_reason(self) -> str | None:
        return self._blocks.abandoned_reason

    @property
    def recoveries(self) -> int:
        return self._blocks.recoveries

    @property
    def in_blocks(self) -> bool:
        """Whether the bytes go through a block pipeline (the stream outgrew the offer, or synced)."""
        return self._held is None

    def tell(self) -> int:
        return self._blocks.tell() if self._held is None else len(self._held)

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._held is None or self._blocks.closed:
            return await self._blocks.write(data)
        self._held += data
        if len(self._held) > self._offer_bytes_max:
            await self._release()
        return memoryview(data).nbytes

    async def flush(self) -> None:
        """Buffering only, as HDFS's flush."""
        await self._blocks.flush()

    async def hflush(self) -> None:
        await self._release()
        await self._blocks.hflush()

    async def hsync(self) -> None:
        await self._release()
        await self._blocks.hsync()

    async def close(self) -> None:
        """Complete the file, with its bytes inline when they stayed small; raises if that failed."""
        held = self._held
        if held is not None and not self._blocks.closed:
            self._held = None
            try:
                if await self._blocks.close_with_inline_data(held):
                    return
            except BaseException:
                await self._blocks.abort()
                raise
            await self._write_held(held)  # the directory keeps files this size in blocks
        await self._blocks.close()

    async def abort(self, reason: str | None = None) -> None:
        """Stop without completing the file (lease recovery closes it, empty)."""
        self._held = None
        await self._blocks.abort(reason)

    async def __aenter__(self) -> SmallFileOutputStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _release(self) -> None:
        """Send the held bytes through the pipeline; from now on every write goes there."""
        held = self._held
        if held is None:
            return
        self._held = None
        await self._write_held(held)

    async def _write_held(self, held: bytearray) -> None:
        try:
            await self._blocks.write(held)
        except BaseException:
            await self._blocks.abort()
            raise


# What open() hands out for writing.
WriteStream = AsyncOutputStream | SmallFileOutputStream
