"""Any fsspec URL (`memory://`, `file://`, `hdfs://` through hdfs-native, `s3://`, ...) through the
fsspec API only, so every driver is measured the same way.

fsspec has no chown or replication call, and only some drivers have chmod: those operations are
reported unsupported for the driver. `memory://` lives in each process, so its clients never see
each other's files: a shared namespace is refused for it (see `runner`).

Instances stay out of fsspec's instance cache (`skip_instance_cache`): fsspec clears that cache in
every forked child (an at-fork hook), and dropping a cached hdfs-native filesystem there hangs the
child, which a later `subprocess` start with a `preexec_fn` (the cluster launcher's) would be.
"""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from bench.harness.errors import UnsupportedOperation
from bench.harness.targets.base import CHMOD, CHOWN, DATA, REPLICATION, PathInfo, Target


class FsspecTarget(Target):
    def __init__(self, url: str) -> None:
        import fsspec.core

        self.filesystem, _ = fsspec.core.url_to_fs(url, skip_instance_cache=True)
        self.protocol = url.partition("://")[0]
        self._chmod = getattr(self.filesystem, "chmod", None)
        self.capabilities = frozenset({DATA} | ({CHMOD} if self._chmod is not None else set()))

    def stat(self, path: str) -> PathInfo:
        info: dict[str, Any] = self.filesystem.info(path)
        return PathInfo(info["type"] == "directory", int(info.get("size") or 0))

    def list(self, path: str) -> int:
        return len(self.filesystem.ls(path, detail=False))

    def mkdirs(self, path: str) -> None:
        self.filesystem.makedirs(path, exist_ok=True)

    def create(self, path: str, data: bytes) -> None:
        self.filesystem.pipe_file(path, data)

    def read(self, path: str) -> bytes:
        return cast(bytes, self.filesystem.cat_file(path))

    def open_write(self, path: str) -> BinaryIO:
        return cast(BinaryIO, self.filesystem.open(path, "wb"))

    def open_read(self, path: str) -> BinaryIO:
        return cast(BinaryIO, self.filesystem.open(path, "rb"))

    def rename(self, source: str, target: str) -> None:
        self.filesystem.mv(source, target)

    def delete(self, path: str, recursive: bool = False) -> None:
        if recursive:
            self.filesystem.rm(path, recursive=True)
        else:
            self.filesystem.rm_file(path)

    def chmod(self, path: str, mode: int) -> None:
        if self._chmod is None:
            raise UnsupportedOperation("chmod", self.missing(CHMOD))
        self._chmod(path, mode)

    def close(self) -> None:
        self.filesystem = None  # drop the driver's client here, in this process, not in a fork

    def missing(self, capability: str) -> str:
        if capability in (CHMOD, CHOWN, REPLICATION):
            return f"fsspec's {self.protocol}:// driver has no {capability} call"
        return super().missing(capability)
