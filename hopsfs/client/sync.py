"""The blocking hopsfs client: `AsyncClient` run on a private event loop in a daemon thread.

Scripts, the CLI and notebooks call plain methods; the asynchronous core keeps one connection per
namenode underneath, shared by every thread that uses this client.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from hopsfs import limits
from hopsfs.client.core import AsyncClient
from hopsfs.client.event_loop import new_event_loop
from hopsfs.client.input_stream import AsyncInputStream
from hopsfs.client.output_stream import PERMISSION_DEFAULT
from hopsfs.client.sync_streams import InputStream, OutputStream
from hopsfs.protocol.located_blocks import LocatedBlocks
from hopsfs.types import ContentSummary, FileStatus, XAttrSetFlag

# Text modes wrap the binary stream in io.TextIOWrapper; "b" modes return the stream itself.
_BINARY_MODES = {"r": "rb", "w": "wb", "x": "xb", "a": "ab"}

_T = TypeVar("_T")


class Client:
    def __init__(self, url: str | None = None, **options: Any) -> None:
        self._loop = new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hopsfs-client", daemon=True)
        self._thread.start()
        self.async_client = AsyncClient(url, **options)

    @property
    def user(self) -> str:
        return self.async_client.user

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return self.async_client.addresses

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self.async_client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    # -- reads ----------------------------------------------------------------------------------

    def stat(self, path: str) -> FileStatus:
        return self._run(self.async_client.stat(path))

    def exists(self, path: str) -> bool:
        return self._run(self.async_client.exists(path))

    def list(self, path: str) -> list[FileStatus]:
        return self._run(self.async_client.list(path))

    def walk(self, path: str) -> list[FileStatus]:
        """Every entry below `path`, depth first, directories before their contents."""

        async def collect() -> list[FileStatus]:
            return [entry async for entry in self.async_client.walk(path)]

        return self._run(collect())

    def content_summary(self, path: str) -> ContentSummary:
        return self._run(self.async_client.content_summary(path))

    def link_target(self, path: str) -> str:
        return self._run(self.async_client.link_target(path))

    def get_xattrs(self, path: str, names: list[str] | None = None) -> dict[str, bytes]:
        return self._run(self.async_client.get_xattrs(path, names))

    def list_xattrs(self, path: str) -> list[str]:
        return self._run(self.async_client.list_xattrs(path))

    def server_defaults(self) -> dict[str, int]:
        return self._run(self.async_client.server_defaults())

    def fs_stats(self) -> dict[str, int]:
        return self._run(self.async_client.fs_stats())

    def msync(self) -> None:
        self._run(self.async_client.msync())

    # -- writes ---------------------------------------------------------------------------------

    def mkdirs(self, path: str, permission: int = 0o777, *, create_parent: bool = True) -> bool:
        return self._run(self.async_client.mkdirs(path, permission, create_parent=create_parent))

    def touch(
        self,
        path: str,
        permission: int = 0o666,
        *,
        overwrite: bool = False,
        create_parent: bool = True,
        replication: int = limits.REPLICATION_DEFAULT,
        block_size: int = limits.BLOCK_SIZE_BYTES_DEFAULT,
    ) -> FileStatus:
        return self._run(
            self.async_client.touch(
                path,
                permission,
                overwrite=overwrite,
                create_parent=create_parent,
                replication=replication,
                block_size=block_size,
            )
        )

    def rename(self, source: str, destination: str, *, overwrite: bool = False) -> None:
        self._run(self.async_client.rename(source, destination, overwrite=overwrite))

    def rename_legacy(self, source: str, destination: str) -> bool:
        return self._run(self.async_client.rename_legacy(source, destination))

    def delete(self, path: str, *, recursive: bool = False) -> bool:
        return self._run(self.async_client.delete(path, recursive=recursive))

    def set_permission(self, path: str, permission: int) -> None:
        self._run(self.async_client.set_permission(path, permission))

    def set_owner(self, path: str, owner: str | None = None, group: str | None = None) -> None:
        self._run(self.async_client.set_owner(path, owner, group))

    def set_times(self, path: str, modification_time_ms: int = -1, access_time_ms: int = -1) -> None:
        self._run(self.async_client.set_times(path, modification_time_ms, access_time_ms))

    def set_replication(self, path: str, replication: int) -> bool:
        return self._run(self.async_client.set_replication(path, replication))

    def set_xattr(
        self,
        path: str,
        name: str,
        value: bytes,
        flags: XAttrSetFlag = XAttrSetFlag.CREATE | XAttrSetFlag.REPLACE,
    ) -> None:
        self._run(self.async_client.set_xattr(path, name, value, flags))

    def remove_xattr(self, path: str, name: str) -> None:
        self._run(self.async_client.remove_xattr(path, name))

    def create_symlink(self, target: str, link: str, *, create_parent: bool = False) -> None:
        self._run(self.async_client.create_symlink(target, link, create_parent=create_parent))

    def renew_lease(self) -> None:
        self._run(self.async_client.renew_lease())

    # -- file data ------------------------------------------------------------------------------

    def open(
        self,
        path: str,
        mode: str = "rb",
        *,
        buffer_size: int | None = None,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> InputStream | OutputStream | io.TextIOWrapper:
        """A file object on `path`. "rb" reads (seekable; `buffer_size` bytes of read-ahead, 4 MiB
        by default); "wb" creates or truncates; "xb" creates, FileAlreadyExists if it exists; "ab"
        appends, creating a missing file. "r", "w", "x", "a" are the same in text (UTF-8 unless
        `encoding` says otherwise). Close what you open: an output stream completes the file on
        close(), and raises there if the write failed."""
        binary_mode = _BINARY_MODES.get(mode.replace("t", ""), mode)
        stream = self._run(self.async_client.open(path, binary_mode, buffer_size=buffer_size))
        wrapped: InputStream | OutputStream
        if isinstance(stream, AsyncInputStream):
            wrapped = InputStream(stream, self._loop)
        else:
            wrapped = OutputStream(stream, self._loop)
        if "b" in mode:
            return wrapped
        return io.TextIOWrapper(wrapped, encoding=encoding or "utf-8", errors=errors, newline=newline)

    def create(
        self,
        path: str,
        *,
        overwrite: bool = False,
        replication: int | None = None,
        block_size: int | None = None,
        permission: int = PERMISSION_DEFAULT,
        create_parent: bool = True,
    ) -> OutputStream:
        """A new file open for writing; replication and block size default to the namenode's."""
        stream = self._run(
            self.async_client.create(
                path,
                overwrite=overwrite,
                replication=replication,
                block_size=block_size,
                permission=permission,
                create_parent=create_parent,
            )
        )
        return OutputStream(stream, self._loop)

    def create_inline_first(
        self,
        path: str,
        *,
        overwrite: bool = False,
        replication: int | None = None,
        block_size: int | None = None,
        permission: int = PERMISSION_DEFAULT,
        create_parent: bool = True,
    ) -> OutputStream:
        """`create`, with a file that stays within the inline offer (64 KiB) completed with its
        bytes stored in the metadata store instead of going to datanodes."""
        stream = self._run(
            self.async_client.create_inline_first(
                path,
                overwrite=overwrite,
                replication=replication,
                block_size=block_size,
                permission=permission,
                create_parent=create_parent,
            )
        )
        return OutputStream(stream, self._loop)

    def append(self, path: str) -> OutputStream:
        """The existing file open for writing at its end (FileNotFound if missing)."""
        return OutputStream(self._run(self.async_client.append(path)), self._loop)

    def read_bytes(self, path: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes [start, end) of a file (to its end when `end` is None)."""
        return self._run(self.async_client.read_bytes(path, start, end))

    def write_bytes(self, path: str, data: bytes | bytearray | memoryview, *, overwrite: bool = True) -> None:
        """Write `data` as the whole content of `path`."""
        self._run(self.async_client.write_bytes(path, data, overwrite=overwrite))

    def create_with_data(self, path: str, data: bytes, *, overwrite: bool = False) -> FileStatus | None:
        """A small file created with its bytes in one call; None when its directory keeps files of
        this size in blocks (nothing created)."""
        return self._run(self.async_client.create_with_data(path, data, overwrite=overwrite))

    def read_with_metadata(self, path: str) -> tuple[FileStatus, bytes | None]:
        """The file's status and, if it is stored in the metadata store, its bytes."""
        return self._run(self.async_client.read_with_metadata(path))

    def inline_bytes(self, path: str) -> bytes | None:
        """The bytes of a small file stored in the metadata store; None for a file in blocks."""
        return self._run(self.async_client.inline_bytes(path))

    def batch_create_with_data(
        self, files: list[tuple[str, bytes]], *, overwrite: bool = False
    ) -> list[FileStatus] | None:
        """Up to 1000 small files in one call, all or none (None: one exceeded its threshold)."""
        return self._run(self.async_client.batch_create_with_data(files, overwrite=overwrite))

    def set_inline_threshold(self, path: str, threshold_bytes: int | None) -> None:
        """The directory's small-file threshold (0: blocks only; None: inherit again)."""
        self._run(self.async_client.set_inline_threshold(path, threshold_bytes))

    def truncate(self, path: str, length: int, *, wait: bool = True) -> bool:
        """Cut the file to `length` bytes; with `wait`, return once block recovery closed it."""
        return self._run(self.async_client.truncate(path, length, wait=wait))

    def is_file_closed(self, path: str) -> bool:
        return self._run(self.async_client.is_file_closed(path))

    def recover_lease(self, path: str) -> bool:
        """Ask the namenode to close a file its writer left open; True once it is closed."""
        return self._run(self.async_client.recover_lease(path))

    def get_block_locations(self, path: str, offset: int = 0, length: int = 2**62) -> LocatedBlocks:
        return self._run(self.async_client.get_block_locations(path, offset, length))


def connect(url: str | None = None, **options: Any) -> Client:
    """A blocking client for the namenodes `url` names (`hopsfs://host:port[,host:port...]`).

    Without a URL: HOPSFS_URL, else hopsfs://127.0.0.1:8020. Options: user (default HADOOP_USER_NAME
    or the OS user), connect_timeout_s, call_timeout_s, attempts_max, umask, app_id, and
    stream_settings (a `hopsfs.client.StreamSettings`: the data path's timeouts, windows, buffers).
    """
    return Client(url, **options)
