"""File data methods of `AsyncClient`: open, create, append, read_bytes, write_bytes (the last two
use the small-file calls, small_file_calls.py, for files stored in the metadata store).

Small wrappers over the stream classes; a mixin so `core.py` keeps to connections and namespace
calls. They need `_data_context()` (the client's shared pool, lease renewer and settings).
"""

from __future__ import annotations

from hopsfs.client.data_context import DataContext
from hopsfs.client.inline_input_stream import InlineInputStream
from hopsfs.client.input_stream import AsyncInputStream
from hopsfs.client.output_stream import PERMISSION_DEFAULT, AsyncOutputStream, check_block_size
from hopsfs.client.small_output_stream import SmallFileOutputStream, WriteStream
from hopsfs.errors import FileAlreadyExists, FileNotFound
from hopsfs.types import FileStatus

READ_MODES = frozenset({"rb"})
WRITE_MODES = frozenset({"wb", "xb", "ab"})
# Appending to a file that another client keeps creating and deleting gives up after this many rounds.
APPEND_OR_CREATE_ATTEMPTS_MAX = 3


class FileStreams:
    inline_offer_bytes_max: int

    def _data_context(self) -> DataContext:
        raise NotImplementedError

    async def create_with_data(
        self, path: str, data: bytes, *, overwrite: bool = False, permission: int = PERMISSION_DEFAULT
    ) -> FileStatus | None:
        raise NotImplementedError

    async def inline_bytes(self, path: str) -> bytes | None:
        raise NotImplementedError

    async def append_inline(self, path: str) -> tuple[FileStatus | None, bytes | None]:
        raise NotImplementedError

    async def open(
        self, path: str, mode: str = "rb", *, buffer_size: int | None = None
    ) -> AsyncInputStream | WriteStream:
        """A stream on `path`: "rb" reads (buffer_size = read-ahead bytes, default 4 MiB); "wb"
        creates or truncates; "xb" creates and fails if the file exists; "ab" appends, creating the
        file if it does not exist (as Python's open does). "wb" and "xb" hold back up to
        `inline_offer_bytes_max` bytes: a file that small is completed with them stored in the
        metadata store (small_output_stream.py); a larger one goes to blocks as it grows."""
        if mode in READ_MODES:
            return await self.open_input(path, buffer_size=buffer_size)
        if mode in ("wb", "xb"):
            return await self.create_inline_first(path, overwrite=mode == "wb")
        if mode == "ab":
            return await self._append_or_create(path)
        raise ValueError(f"invalid mode {mode!r}: use 'rb', 'wb', 'xb' or 'ab'")

    async def open_input(self, path: str, *, buffer_size: int | None = None) -> AsyncInputStream:
        """`path` open for reading, with `buffer_size` bytes of read-ahead (None: the default). A
        small file stored in the metadata store arrives whole with the open (readWithMetadata)."""
        inline = await self.inline_bytes(path)
        if inline is not None:
            return InlineInputStream(self._data_context(), path, inline)
        return await AsyncInputStream.open(self._data_context(), path, read_ahead_bytes=buffer_size)

    async def create(
        self,
        path: str,
        *,
        overwrite: bool = False,
        replication: int | None = None,
        block_size: int | None = None,
        permission: int = PERMISSION_DEFAULT,
        create_parent: bool = True,
    ) -> AsyncOutputStream:
        """A new file open for writing (the client's umask applies to `permission`); replication and
        block size default to the namenode's. FileAlreadyExists unless `overwrite`."""
        return await AsyncOutputStream.create(
            self._data_context(),
            path,
            overwrite=overwrite,
            replication=replication,
            block_size=block_size,
            permission=permission,
            create_parent=create_parent,
        )

    async def create_inline_first(
        self,
        path: str,
        *,
        overwrite: bool = False,
        replication: int | None = None,
        block_size: int | None = None,
        permission: int = PERMISSION_DEFAULT,
        create_parent: bool = True,
    ) -> WriteStream:
        """`create`, with the bytes held back while they fit `inline_offer_bytes_max`: a file that
        stays that small is completed with them stored in the metadata store, one call and no
        datanode (small_output_stream.py); a larger one goes to blocks as it grows."""
        stream = await self.create(
            path,
            overwrite=overwrite,
            replication=replication,
            block_size=block_size,
            permission=permission,
            create_parent=create_parent,
        )
        if self.inline_offer_bytes_max <= 0:
            return stream
        return SmallFileOutputStream(stream, offer_bytes_max=self.inline_offer_bytes_max)

    async def append(self, path: str) -> AsyncOutputStream:
        """The existing file `path` open for writing at its end (FileNotFound if it does not exist).
        A small file stored in the metadata store moves to blocks: its bytes come back with the
        reopen (appendInline) and are written first; completing the file drops them from the store,
        and a writer that never completes leaves the file as it was (lease recovery)."""
        status, inline = await self.append_inline(path)
        if status is None or inline is None:
            return await AsyncOutputStream.append(self._data_context(), path)
        check_block_size(status.block_size, self._data_context().settings.bytes_per_checksum)
        stream = AsyncOutputStream(self._data_context(), status, block_size=status.block_size)
        try:
            await stream.write(inline)
        except BaseException:
            await stream.abort()
            raise
        return stream

    async def read_bytes(self, path: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes [start, end) of the file (to its end when `end` is None), in one positional read."""
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid range [{start}, {end})")
        # One round trip for a small file stored in the namenode's database; a file in blocks costs
        # this one metadata call more before its block locations are asked for.
        inline = await self.inline_bytes(path)
        if inline is not None:
            return inline[start:end]
        stream = await AsyncInputStream.open(self._data_context(), path, read_ahead_bytes=0)
        try:
            stop = stream.length if end is None else min(end, stream.length)
            return await stream.read_at(start, max(stop - start, 0))
        finally:
            await stream.close()

    async def write_bytes(
        self, path: str, data: bytes | bytearray | memoryview, *, overwrite: bool = True
    ) -> None:
        """Write `data` as the whole content of `path` (replacing it when `overwrite`). Data up to
        `inline_offer_bytes_max` goes as one createWithData call; the namenode stores it in its
        database unless the directory's threshold is lower, and then it goes through blocks."""
        small = len(data) <= self.inline_offer_bytes_max
        if small and await self.create_with_data(path, bytes(data), overwrite=overwrite) is not None:
            return
        stream = await self.create(path, overwrite=overwrite)
        try:
            await stream.write(data)
        except BaseException:
            await stream.abort()
            raise
        await stream.close()

    async def _append_or_create(self, path: str) -> AsyncOutputStream:
        for _ in range(APPEND_OR_CREATE_ATTEMPTS_MAX):
            try:
                return await self.append(path)
            except FileNotFound:
                pass
            try:
                return await self.create(path, overwrite=False)
            except FileAlreadyExists:
                continue  # created by someone else in between: append to it
        raise FileAlreadyExists(f"{path} kept appearing and disappearing; could not open it for append")
