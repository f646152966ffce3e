"""`HopsFileSystem`: the `hopsfs://` fsspec driver, asynchronous over `hopsfs.client.AsyncClient`.

fsspec's `AsyncFileSystem` pattern: the methods here are coroutines (`_ls`, `_info`, `_rm`...);
fsspec mirrors each into its blocking form (`ls`, `info`, `rm`...) running on the driver's loop
thread (`loop_thread`), and derives walk, find, glob, expand_path, copy, get and put from them.
Methods fsspec does not mirror (`mv`, `touch`, `modified`, xattrs) are mirrored here the same way.

One `AsyncClient` per event loop does the work (connections, datanode pool, lease renewal belong to
the loop that made them): the blocking API always uses the driver's thread, an `asynchronous=True`
instance the caller's loop. Where the cluster is: `host`/`port` (or `url`) if given, a URL's
authority (`hopsfs://host:port/path`), else the client defaults (`hopsfs.client_config`).

HDFS semantics the fsspec API shows: directories are real (`mkdir` on an existing path raises
FileExistsError, empty directories list); `mv` is one atomic rename, also for a whole directory;
`rm(recursive=True)` is one recursive delete per top-level path; `du(total=True)` is one content
summary; HDFS keeps no creation time, so `created` raises NotImplementedError. Errors are builtins
(`hopsfs.fsspec.errors`).
"""

from __future__ import annotations

import asyncio
import errno
import time
import weakref
from datetime import datetime
from glob import has_magic
from typing import Any, ClassVar

from fsspec.asyn import AsyncFileSystem, _run_coros_in_chunks, sync, sync_wrapper

from hopsfs.client import AsyncClient
from hopsfs.client_config import ClientConfig, resolve_client_config
from hopsfs.errors import HopsFSError
from hopsfs.fsspec import paths
from hopsfs.fsspec.entries import checksum_of, entry_of, modified_of
from hopsfs.fsspec.errors import builtin_error, translated
from hopsfs.fsspec.files import HopsFile
from hopsfs.fsspec.loop_thread import driver_loop
from hopsfs.fsspec.transfers import Transfers
from hopsfs.types import XAttrSetFlag

CLOSE_TIMEOUT_S = 5.0
# Files one bulk call (cat, pipe, put, get, copy, rm) works on at once, unless `batch_size` says
# otherwise. fsspec's own default follows the open-file limit (thousands); a datanode serves 256
# connections (its xceivers) and refuses the rest, and each write holds one on each of the three
# datanodes of its pipeline: 1,000 concurrent small writes got refused connections until the client
# excluded every datanode. 32 keeps well inside that with room for other clients.
BULK_IN_FLIGHT_MAX = 32


class HopsFileSystem(Transfers, AsyncFileSystem):
    protocol: ClassVar[str] = paths.PROTOCOL
    root_marker: ClassVar[str] = paths.ROOT

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        url: str | None = None,
        user: str | None = None,
        client_options: dict[str, Any] | None = None,
        asynchronous: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        """`host` may carry the port and list several namenodes ("nn1:8020,nn2:8020"); `url` is
        the same as a `hopsfs://` URL; `client_options` go to `AsyncClient` (timeouts, umask...)."""
        if loop is None and not asynchronous:
            loop = driver_loop()
        super().__init__(
            asynchronous=asynchronous, loop=loop, batch_size=batch_size or BULK_IN_FLIGHT_MAX, **kwargs
        )
        try:
            self.config: ClientConfig = resolve_client_config(url or paths.namenode_url(host, port), user)
        except HopsFSError as error:
            raise builtin_error(error) from error
        self._client_options = dict(client_options or {})
        self._slot = _ClientSlot()
        weakref.finalize(self, self._slot.close_soon)

    # -- paths ------------------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(each) for each in path]
        return paths.strip_protocol(str(path))

    @staticmethod
    def _get_kwargs_from_urls(path: str) -> dict[str, Any]:
        return paths.kwargs_from_url(path)

    def unstrip_protocol(self, name: str) -> str:
        """A URL that reaches this path on this filesystem's cluster, from any process."""
        if name.startswith(paths.URL_PREFIX):
            return name
        return f"{paths.URL_PREFIX}{paths.authority_of(self.config.url)}{paths.strip_protocol(name)}"

    # -- the client -------------------------------------------------------------------------------

    def _client(self) -> AsyncClient:
        """The client of the running loop (made on first use in that loop)."""
        loop = asyncio.get_running_loop()
        if self._slot.client is None or self._slot.loop is not loop:
            client = AsyncClient(self.config.url, user=self.config.user, **self._client_options)
            self._slot.client, self._slot.loop = client, loop
        return self._slot.client

    async def _close(self) -> None:
        """Close the client (connections, datanode pool); the next call opens a new one."""
        client, self._slot.client = self._slot.client, None
        if client is not None:
            await client.close()

    close = sync_wrapper(_close)

    # -- namespace reads --------------------------------------------------------------------------

    async def _info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        with translated(path):
            status = await self._client().stat(path)
        return entry_of(status, path)

    async def _ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        entries = []
        with translated(path):
            async for page in self._client().list_pages(path):
                entries.extend(entry_of(status, status.path) for status in page)
        return entries if detail else [entry["name"] for entry in entries]

    async def _exists(self, path: str, **kwargs: Any) -> bool:
        try:
            await self._info(path)
        except (FileNotFoundError, NotADirectoryError):
            return False  # as os.path.exists: a path through a file does not exist
        return True

    async def _du(
        self,
        path: str,
        total: bool = True,
        maxdepth: int | None = None,
        withdirs: bool = False,
        **kwargs: Any,
    ) -> Any:
        if not total or maxdepth is not None or withdirs:
            return await super()._du(path, total=total, maxdepth=maxdepth, withdirs=withdirs, **kwargs)
        path = self._strip_protocol(path)
        with translated(path):
            summary = await self._client().content_summary(path)
        return summary.length

    async def _modified(self, path: str) -> datetime:
        return modified_of(await self._info(path))

    async def _checksum(self, path: str) -> int:
        return checksum_of(await self._info(path))

    def created(self, path: str) -> datetime:
        raise NotImplementedError("HopsFS, like HDFS, records no creation time; use modified()")

    modified = sync_wrapper(_modified)
    checksum = sync_wrapper(_checksum)

    # -- namespace changes ------------------------------------------------------------------------

    async def _mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        client = self._client()
        with translated(path):
            if await client.exists(path):
                raise FileExistsError(errno.EEXIST, "File exists", path)
            await client.mkdirs(path, create_parent=create_parents)

    async def _makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        client = self._client()
        with translated(path):
            if not exist_ok and await client.exists(path):
                raise FileExistsError(errno.EEXIST, "File exists", path)
            await client.mkdirs(path, create_parent=True)

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        await self._delete(self._strip_protocol(path), recursive=False)

    async def _rmdir(self, path: str) -> None:
        path = self._strip_protocol(path)
        if (await self._info(path))["type"] != "directory":
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
        await self._delete(path, recursive=False)

    rmdir = sync_wrapper(_rmdir)

    async def _rm(
        self,
        path: str | list[str],
        recursive: bool = False,
        batch_size: int | None = None,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        if maxdepth is not None:
            # Only part of the tree goes: fsspec's file-by-file form is the one that can do that.
            await super()._rm(path, recursive=recursive, batch_size=batch_size, maxdepth=maxdepth)
            return
        found = sorted(set(await self._expand_path(path, recursive=False)))
        if recursive:
            # One recursive delete per top-level path; what lies below one goes with it.
            tops: set[str] = set()
            for each in found:  # sorted: an ancestor comes before what lies below it
                if not _below_any(each, tops):
                    tops.add(each)
            await _run_coros_in_chunks(
                [self._delete(top, recursive=True) for top in tops],
                batch_size=batch_size or self.batch_size,
                nofiles=True,
            )
            return
        for each in reversed(found):  # deepest first, so a listed parent is empty when its turn comes
            await self._delete(each, recursive=False)

    async def _delete(self, path: str, *, recursive: bool) -> None:
        with translated(path):
            deleted = await self._client().delete(path, recursive=recursive)
        if not deleted:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)

    async def _mv(
        self, path1: str | list[str], path2: str | list[str], recursive: bool = False, **kwargs: Any
    ) -> None:
        """Rename: atomic, whole directories included (`recursive` changes nothing). Into `path2`
        when it is an existing directory (or ends with "/"), as `mv` does; replaces a file there."""
        if isinstance(path1, str) and isinstance(path2, str) and not has_magic(path1):
            target = self._strip_protocol(path2)
            if path2.endswith("/") or await self._isdir(target):
                target = paths.join(target, paths.basename(self._strip_protocol(path1)))
            await self._rename(self._strip_protocol(path1), target)
            return
        sources = await self._expand_path(path1, recursive=False)
        if isinstance(path2, list):
            targets = [self._strip_protocol(each) for each in path2]
        else:
            directory = self._strip_protocol(path2)
            await self._makedirs(directory, exist_ok=True)
            targets = [paths.join(directory, paths.basename(source)) for source in sources]
        if len(sources) != len(targets):
            raise ValueError(f"{len(sources)} sources but {len(targets)} targets")
        for source, target in zip(sources, targets, strict=True):
            await self._rename(source, target)

    async def _rename(self, source: str, target: str) -> None:
        if source == target:
            return
        with translated(source):
            await self._client().rename(source, target, overwrite=True)

    mv = sync_wrapper(_mv)

    async def _touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        """Create an empty file (replacing one when `truncate`), or else set its mtime to now."""
        path = self._strip_protocol(path)
        client = self._client()
        with translated(path):
            if truncate or not await client.exists(path):
                await client.touch(path, overwrite=True)
            else:
                await client.set_times(path, modification_time_ms=int(time.time() * 1000))

    touch = sync_wrapper(_touch)

    # -- extended attributes (named as in Python's os module) -------------------------------------

    async def _getxattr(self, path: str, attribute: str) -> bytes:
        path = self._strip_protocol(path)
        # All of them, then pick: asking for a missing one by name comes back as a bare
        # IOException the client cannot tell from other failures (see docs/fsspec.md).
        with translated(path):
            values = await self._client().get_xattrs(path)
        if attribute not in values:
            raise OSError(errno.ENODATA, f"No such attribute {attribute!r}", path)
        return values[attribute]

    async def _getxattrs(self, path: str) -> dict[str, bytes]:
        path = self._strip_protocol(path)
        with translated(path):
            return await self._client().get_xattrs(path)

    async def _listxattr(self, path: str) -> list[str]:
        path = self._strip_protocol(path)
        with translated(path):
            return await self._client().list_xattrs(path)

    async def _setxattr(
        self,
        path: str,
        attribute: str,
        value: bytes | str,
        flags: XAttrSetFlag = XAttrSetFlag.CREATE | XAttrSetFlag.REPLACE,
    ) -> None:
        """Set `attribute` ("user.name": HDFS namespaces) to `value` (str is stored as UTF-8).
        `flags`: CREATE alone fails if it exists, REPLACE alone if it does not."""
        path = self._strip_protocol(path)
        data = value.encode() if isinstance(value, str) else bytes(value)
        with translated(path):
            await self._client().set_xattr(path, attribute, data, flags)

    async def _removexattr(self, path: str, attribute: str) -> None:
        path = self._strip_protocol(path)
        client = self._client()
        with translated(path):
            if attribute not in await client.list_xattrs(path):  # see _getxattr
                raise OSError(errno.ENODATA, f"No such attribute {attribute!r}", path)
            await client.remove_xattr(path, attribute)

    getxattr = sync_wrapper(_getxattr)
    getxattrs = sync_wrapper(_getxattrs)
    listxattr = sync_wrapper(_listxattr)
    setxattr = sync_wrapper(_setxattr)
    removexattr = sync_wrapper(_removexattr)

    # -- files ------------------------------------------------------------------------------------

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = "default",
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> HopsFile:
        return HopsFile(
            self,
            self._strip_protocol(path),
            mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )


def _below_any(path: str, ancestors: set[str]) -> bool:
    """Whether a proper ancestor of normalized `path` is in `ancestors` (a walk up, not a scan)."""
    parent = path
    while parent != paths.ROOT:
        parent = parent.rsplit("/", 1)[0] or paths.ROOT
        if parent in ancestors:
            return True
    return False


class _ClientSlot:
    """The filesystem's current client and its loop; closes the client when the filesystem is
    collected (a finalizer must not hold the filesystem itself)."""

    def __init__(self) -> None:
        self.client: AsyncClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def close_soon(self) -> None:
        client, loop, self.client = self.client, self.loop, None
        if client is None or loop is None or loop.is_closed() or not loop.is_running():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(client.close())
            return
        try:
            sync(loop, client.close, timeout=CLOSE_TIMEOUT_S)
        except Exception:  # the process is going away or the loop stopped: nothing left to release
            return
