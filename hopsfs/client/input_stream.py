"""Reading a file: `AsyncInputStream`, the asyncio core of `hopsfs.Client.open(path)`.

Sequential reads go through a read-ahead task: from the current position it reads block after block
(with replica failover, `replica_reads`) into a buffer of up to `read_ahead_bytes`, and fetches the
next window of block locations in the background when it starts on the last cached block, so the
caller consumes while the network works. A seek inside what is buffered skips ahead in the buffer;
any other seek stops the task and the next read starts a new one at the new position.

`read_at(offset, size)` is a positional read: it fetches exactly that range, touching neither the
position nor the read-ahead. A file being written is readable up to the length the namenode reported
when the stream opened (`refresh()` asks again).

Semantics follow Python's binary files: `read()` / `read(-1)` reads to the end, reads at or past the
end return b"", seeking past the end is allowed, a negative position is a ValueError, and so is any
operation on a closed stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections import deque

from hopsfs.client.block_locations import BlockLocations
from hopsfs.client.data_context import DataContext
from hopsfs.client.replica_reads import ReplicaReads
from hopsfs.invariants import check


class AsyncInputStream:
    def __init__(self, context: DataContext, path: str, read_ahead_bytes: int) -> None:
        if read_ahead_bytes < 0:
            raise ValueError(f"read_ahead_bytes must be >= 0, not {read_ahead_bytes}")
        self.path = path
        self._context = context
        self._locations = BlockLocations(context.namenode, path, context.settings)
        self._replicas = ReplicaReads(context, path, self._locations)
        self._read_ahead_bytes = read_ahead_bytes
        self._position = 0
        self._read_ahead: _ReadAhead | None = None
        self._closed = False
        context.open_streams.add(self)

    @classmethod
    async def open(
        cls, context: DataContext, path: str, *, read_ahead_bytes: int | None = None
    ) -> AsyncInputStream:
        """Open `path` for reading: its first window of block locations is fetched now, so a missing
        file or a directory fails here (FileNotFound / the namenode's error)."""
        chosen = context.settings.read_ahead_bytes if read_ahead_bytes is None else read_ahead_bytes
        stream = cls(context, path, chosen)
        await stream._locations.refresh()
        return stream

    # -- state ------------------------------------------------------------------------------------

    @property
    def length(self) -> int:
        """The file's readable length (as of opening, or of the last `refresh`)."""
        return self._locations.length

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def read_ahead_buffered_bytes(self) -> int:
        """Bytes read ahead of the position and not yet consumed."""
        return self._read_ahead.buffered_bytes if self._read_ahead is not None else 0

    @property
    def failovers(self) -> int:
        """Replica reads of this stream that failed and moved on to another replica."""
        return self._replicas.failovers

    @property
    def location_fetches(self) -> int:
        """getBlockLocations calls this stream made (the open's, windows, refetches)."""
        return self._locations.fetches

    @property
    def corrupt_replicas(self) -> set[tuple[int, str]]:
        """(block id, datanode uuid) of replicas this stream found corrupt and reported."""
        return set(self._replicas.corrupt_replicas)

    def tell(self) -> int:
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (SEEK_SET, SEEK_CUR or SEEK_END); the new position."""
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = self.length + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._position = target
        return target

    async def refresh(self) -> int:
        """Ask the namenode for the file's length again (a file being written grows); the length."""
        self._check_open()
        await self._stop_read_ahead()
        return await self._locations.refresh()

    # -- reads ------------------------------------------------------------------------------------

    async def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes from the position (all the rest when negative); b"" at the end."""
        self._check_open()
        remaining = max(self.length - self._position, 0)
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        if wanted == 0:
            return b""
        parts: list[bytes | memoryview] = []
        gathered = 0
        while gathered < wanted:
            piece = await self._take(wanted - gathered)
            parts.append(piece)
            gathered += len(piece)
            self._position += len(piece)
        return b"".join(parts)

    async def read1(self, size: int = -1) -> bytes:
        """At most one buffered piece (at least one byte unless at the end)."""
        self._check_open()
        remaining = max(self.length - self._position, 0)
        wanted = remaining if size is None or size < 0 else min(size, remaining)
        if wanted == 0:
            return b""
        piece = await self._take(wanted)
        self._position += len(piece)
        return bytes(piece)

    async def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill `buffer` from the position as far as the file goes; the number of bytes read."""
        self._check_open()
        target = memoryview(buffer).cast("B")
        wanted = min(len(target), max(self.length - self._position, 0))
        filled = 0
        while filled < wanted:
            piece = await self._take(wanted - filled)
            target[filled : filled + len(piece)] = piece
            filled += len(piece)
            self._position += len(piece)
        return filled

    async def read_at(self, offset: int, size: int) -> bytes:
        """`size` bytes from file offset `offset` (fewer at the end of the file); the position and
        read-ahead are left alone."""
        self._check_open()
        if offset < 0 or size < 0:
            raise ValueError(f"a positional read needs offset >= 0 and size >= 0, not {offset}, {size}")
        end = min(offset + size, self.length)
        collected = bytearray()

        async def collect(data: memoryview) -> None:
            collected.extend(data)

        position = offset
        while position < end:
            located = await self._locations.block_at(position)
            stop = min(end, located.end)
            await self._replicas.read(located, position - located.offset, stop - position, collect)
            position = stop
        check(len(collected) == max(end - offset, 0), "a positional read returns the whole range")
        return bytes(collected)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._context.open_streams.discard(self)
        await self._stop_read_ahead()
        await self._locations.close()

    async def abort(self, reason: str | None = None) -> None:
        """The same as close(): a reader has nothing to abandon."""
        await self.close()

    async def __aenter__(self) -> AsyncInputStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- internals --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("I/O operation on closed file")

    async def _take(self, size: int) -> memoryview:
        """The next at most `size` bytes at the position, from the read-ahead (started or moved as
        the position requires)."""
        read_ahead = self._read_ahead
        if read_ahead is not None and not read_ahead.skip_to(self._position):
            await self._stop_read_ahead()
            read_ahead = None
        if read_ahead is None:
            read_ahead = _ReadAhead(self._locations, self._replicas, self._position, self._read_ahead_bytes)
            self._read_ahead = read_ahead
        try:
            return await read_ahead.take(size)
        except Exception:
            # A failed read-ahead is not kept: reading again retries from the position.
            await self._stop_read_ahead()
            raise

    async def _stop_read_ahead(self) -> None:
        read_ahead, self._read_ahead = self._read_ahead, None
        if read_ahead is not None:
            await read_ahead.stop()


class _ReadAhead:
    """A task reading the file sequentially from `start` into a bounded buffer."""

    def __init__(
        self, locations: BlockLocations, replicas: ReplicaReads, start: int, capacity_bytes: int
    ) -> None:
        self._locations = locations
        self._replicas = replicas
        # Offset of the first buffered byte, and of the byte after the last one.
        self._start = start
        self._end = start
        self._pieces: deque[memoryview] = deque()
        # At least one packet is always fetched ahead, even with no read-ahead configured.
        self._capacity_bytes = max(capacity_bytes, 1)
        self._error: BaseException | None = None
        self._finished = False
        self._data_ready = asyncio.Event()
        self._space_free = asyncio.Event()
        self._space_free.set()
        self._task = asyncio.get_running_loop().create_task(self._run(start), name="hopsfs-read-ahead")

    @property
    def buffered_bytes(self) -> int:
        return self._end - self._start

    def skip_to(self, position: int) -> bool:
        """Drop buffered bytes before `position`; False when `position` is not in what this task has
        buffered or will deliver next."""
        if not self._start <= position <= self._end:
            return False
        if self._finished and position == self._end:
            return False  # it stopped at the length it knew; the file may have grown since
        self._consume(position - self._start)
        return True

    async def take(self, size: int) -> memoryview:
        """At most `size` bytes at the start of the buffer (at least one); waits for the task."""
        while not self._pieces:
            if self._error is not None:
                raise self._error
            if self._finished:
                raise EOFError("read past the end the read-ahead reached")  # callers stop at length
            self._data_ready.clear()
            await self._data_ready.wait()
        first = self._pieces[0]
        piece = first[:size]
        self._consume(len(piece))
        return piece

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._pieces.clear()

    def _consume(self, count: int) -> None:
        while count > 0:
            first = self._pieces[0]
            if len(first) <= count:
                self._pieces.popleft()
                count -= len(first)
                self._start += len(first)
            else:
                self._pieces[0] = first[count:]
                self._start += count
                count = 0
        if self._end - self._start < self._capacity_bytes:
            self._space_free.set()

    async def _run(self, start: int) -> None:
        try:
            offset = start
            while offset < self._locations.length:
                located = await self._locations.block_at(offset)
                self._locations.prefetch_after(located)
                stop = min(self._locations.length, located.end)
                await self._replicas.read(located, offset - located.offset, stop - offset, self._store)
                offset = stop
            self._finished = True
        except asyncio.CancelledError:
            raise
        except Exception as error:  # delivered to the reader, which raises it
            self._error = error
        finally:
            self._data_ready.set()

    async def _store(self, data: memoryview) -> None:
        while self._end - self._start >= self._capacity_bytes:
            self._space_free.clear()
            await self._space_free.wait()
        self._pieces.append(data)
        self._end += len(data)
        self._data_ready.set()
