"""Blocking file objects over the asyncio streams: what `hopsfs.Client.open` returns.

`InputStream` and `OutputStream` are `io.BufferedIOBase` subclasses, so they work wherever Python
expects a binary file (shutil.copyfileobj, io.TextIOWrapper, `with`, iteration by lines). Each call
runs the async stream's method on the client's event loop thread and waits for it; the read-ahead and
the data streamer keep working on that loop between calls.

A stream dropped without `close()` is closed in the background when it is garbage collected: an
input stream stops its read-ahead; an output stream is aborted, not completed (the file stays open
until the namenode's lease recovery), because completing means waiting on the network, which a
finalizer must not do.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hopsfs.client.input_stream import AsyncInputStream
from hopsfs.client.small_output_stream import WriteStream
from hopsfs.errors import PipelineFailed

_T = TypeVar("_T")
Runner = Callable[[Coroutine[Any, Any, Any]], Any]


class _LoopBound(io.BufferedIOBase):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _close_in_background(self, coroutine_factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._loop.is_closed():
            return
        # RuntimeError: the loop closed in the meantime; the client is gone and its connections with it.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(lambda: self._loop.create_task(coroutine_factory()))


class InputStream(_LoopBound):
    """A file on hopsfs open for reading (seekable)."""

    def __init__(self, stream: AsyncInputStream, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._stream = stream

    @property
    def name(self) -> str:
        return self._stream.path

    @property
    def length(self) -> int:
        return self._stream.length

    @property
    def async_stream(self) -> AsyncInputStream:
        return self._stream

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._run(self._stream.read(-1 if size is None else size))

    def read1(self, size: int = -1) -> bytes:
        return self._run(self._stream.read1(size))

    def readinto(self, buffer: Any) -> int:
        return self._run(self._stream.readinto(buffer))

    def readinto1(self, buffer: Any) -> int:
        return self.readinto(buffer)

    def read_at(self, offset: int, size: int) -> bytes:
        """A positional read: `size` bytes from `offset`, without moving the position."""
        return self._run(self._stream.read_at(offset, size))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def refresh(self) -> int:
        """Ask the namenode for the length again (a file being written grows); the length."""
        return self._run(self._stream.refresh())

    def close(self) -> None:
        if self.closed:
            return
        try:
            if not self._stream.closed:  # the client's close may have closed it already
                self._run(self._stream.close())
        finally:
            super().close()

    def __del__(self) -> None:
        if not self.closed and not self._stream.closed:
            self._close_in_background(self._stream.close)


class OutputStream(_LoopBound):
    """A file on hopsfs open for writing: bytes go out in packets through a datanode pipeline."""

    def __init__(self, stream: WriteStream, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._stream = stream

    @property
    def name(self) -> str:
        return self._stream.path

    @property
    def async_stream(self) -> WriteStream:
        return self._stream

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._run(self._stream.write(data))

    def flush(self) -> None:
        """Buffering only (HDFS semantics); hflush() makes the data visible to readers."""
        if not self._stream.closed:
            self._run(self._stream.flush())

    def hflush(self) -> None:
        self._run(self._stream.hflush())

    def hsync(self) -> None:
        self._run(self._stream.hsync())

    def tell(self) -> int:
        return self._stream.tell()

    def abort(self) -> None:
        """Stop without completing the file."""
        try:
            if not self._stream.closed:
                self._run(self._stream.abort())
        finally:
            super().close()

    def close(self) -> None:
        """Complete the file; raises (and leaves the file incomplete) if the write failed."""
        if self.closed:
            return
        try:
            if self._stream.closed:
                # Aborted already, perhaps by the client's close (whose event loop is gone now).
                if self._stream.abandoned_reason is not None:
                    raise PipelineFailed(f"{self.name} was not completed: {self._stream.abandoned_reason}")
            else:
                self._run(self._stream.close())
        finally:
            super().close()

    def __del__(self) -> None:
        if not self.closed and not self._stream.closed:
            self._close_in_background(self._stream.abort)
