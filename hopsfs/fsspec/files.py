"""`HopsFile`: the file object `HopsFileSystem.open` returns, on fsspec's buffered file.

fsspec's `AbstractBufferedFile` owns buffering, seek/tell and the read cache (`cache_type`:
"readahead" by default, "blockcache", "bytes", ...); this class supplies the transfers:
- reading: one input stream opened with the file (so a missing file or a directory fails at open),
  and `_fetch_range` as a positional read on it (`read_at`: no read-ahead task, no position);
- writing ("wb", "xb", "ab"): the output stream is opened with the file, so "xb" on an existing file
  raises FileExistsError there and not at the first flush; each buffer of `block_size` bytes goes
  to the stream, and close completes the file (or aborts it when completing fails). "wb" and "xb"
  create a small file with its bytes in one call at close (hopsfs/client/small_output_stream.py).
Every call runs on the filesystem's loop; errors come back as builtins (`hopsfs.fsspec.errors`).
`autocommit=False` (fsspec transactions) is refused: a hopsfs write goes straight to its file.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from fsspec.asyn import sync
from fsspec.spec import AbstractBufferedFile

from hopsfs.client import AsyncClient, AsyncInputStream
from hopsfs.client.small_output_stream import WriteStream
from hopsfs.errors import HopsFSError
from hopsfs.fsspec.errors import translated

if TYPE_CHECKING:
    from hopsfs.fsspec.filesystem import HopsFileSystem

MODES = frozenset({"rb", "wb", "xb", "ab"})
# fsspec's default buffer (5 MiB) rounded up to whole 1 MiB: fewer loop hops per megabyte.
BLOCK_SIZE_BYTES_DEFAULT = 8 * 1024 * 1024

_T = TypeVar("_T")
# Closes started on the loop thread itself; held here so the loop does not lose them mid-way.
_background_closes: set[asyncio.Task[None]] = set()


class HopsFile(AbstractBufferedFile):
    DEFAULT_BLOCK_SIZE = BLOCK_SIZE_BYTES_DEFAULT

    def __init__(
        self,
        fs: HopsFileSystem,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = "default",
        autocommit: bool = True,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"invalid mode {mode!r}: hopsfs files open as {sorted(MODES)}")
        if not autocommit:
            raise NotImplementedError("hopsfs writes go straight to their file: autocommit=False is refused")
        self._stream: AsyncInputStream | WriteStream = sync(fs.loop, _open_stream, fs, path, mode)
        size = self._stream.length if isinstance(self._stream, AsyncInputStream) else None
        try:
            super().__init__(
                fs, path, mode, block_size, autocommit, cache_type, cache_options, size=size, **kwargs
            )
        except BaseException:
            self._run(self._stream.abort())
            raise
        if not isinstance(self._stream, AsyncInputStream):
            self.loc = self._stream.tell()  # "ab" continues at the file's end

    def _fetch_range(self, start: int, end: int) -> bytes:
        stream = self._stream
        if not isinstance(stream, AsyncInputStream):
            raise ValueError("File not in read mode")
        return self._run(_read_at(stream, start, end - start))

    def _initiate_upload(self) -> None:
        """Nothing to do: the stream was created when the file was opened."""

    def _upload_chunk(self, final: bool = False) -> bool:
        stream = self._stream
        if isinstance(stream, AsyncInputStream):
            raise ValueError("File not in write mode")
        self._run(_write(stream, self.buffer.getvalue(), final))
        return True

    def close(self) -> None:
        if self.closed:
            return
        if _running_loop() is self.fs.loop:
            self._close_in_background()
            return
        try:
            super().close()
        finally:
            # Completed already when the final chunk went out; otherwise this releases the stream
            # (a reader's connections, a failed writer's pipeline) without completing anything.
            if not self._stream.closed:
                self._run(self._stream.abort())

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return sync(self.fs.loop, lambda: coroutine)

    def _close_in_background(self) -> None:
        """Close from the loop's own thread (a garbage collection there dropped an unclosed file):
        blocking on the loop would deadlock, so the rest runs as a task of that loop."""
        self.closed = True
        stream = self._stream
        if not isinstance(stream, AsyncInputStream) and not self.forced:
            finish = _write(stream, self.buffer.getvalue(), final=True)
        else:
            finish = stream.abort()
        task = self.fs.loop.create_task(finish)
        _background_closes.add(task)
        task.add_done_callback(_background_closes.discard)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _open_stream(fs: HopsFileSystem, path: str, mode: str) -> AsyncInputStream | WriteStream:
    return await open_stream(fs._client(), path, mode)


async def open_stream(
    client: AsyncClient, path: str, mode: str, *, buffer_size: int | None = None
) -> AsyncInputStream | WriteStream:
    """`client.open(path, mode)` with builtin errors, and IsADirectoryError for a directory where
    the namenode answers as HDFS does (reading one: FileNotFound "Path is not a file"; overwriting
    one: FileAlreadyExists). Only a failed open pays the extra stat."""
    try:
        with translated(path):
            return await client.open(path, mode, buffer_size=buffer_size)
    except (FileNotFoundError, FileExistsError) as error:
        # "xb" on a directory is FileExistsError in Python too.
        if mode != "xb" and await _is_directory(client, path):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path) from error
        raise


async def _is_directory(client: AsyncClient, path: str) -> bool:
    try:
        return (await client.stat(path)).is_directory
    except HopsFSError:
        return False


async def _read_at(stream: AsyncInputStream, offset: int, size: int) -> bytes:
    with translated(stream.path):
        return await stream.read_at(offset, size)


async def _write(stream: WriteStream, data: bytes, final: bool) -> None:
    with translated(stream.path):
        if data:
            await stream.write(data)
        if final:
            await stream.close()
