"""A directory through plain `os` calls: local disk, tmpfs, or any FUSE mount.

This is also the local-disk baseline every report compares against. Nothing is fsynced, as HDFS
clients do not sync on close either (they wait for the datanodes' acknowledgements, not the disks).
A filesystem without replication has no set_replication: it is reported unsupported, not faked.
"""

from __future__ import annotations

import os
import shutil
import stat
from typing import BinaryIO

from bench.harness.targets.base import CHMOD, CHOWN, DATA, REPLICATION, PathInfo, Target


class LocalTarget(Target):
    capabilities = frozenset({DATA, CHMOD, CHOWN})

    def __init__(self) -> None:
        self._user_id = os.getuid()
        self._group_id = os.getgid()

    def stat(self, path: str) -> PathInfo:
        status = os.stat(path)
        return PathInfo(stat.S_ISDIR(status.st_mode), status.st_size)

    def list(self, path: str) -> int:
        try:
            with os.scandir(path) as entries:
                return sum(1 for _ in entries)
        except NotADirectoryError:
            os.lstat(path)  # `ls FILE` shows the file itself
            return 1

    def mkdirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def create(self, path: str, data: bytes) -> None:
        with open(path, "xb", buffering=0) as stream:
            if data:
                stream.write(data)

    def read(self, path: str) -> bytes:
        with open(path, "rb", buffering=0) as stream:
            return stream.readall()

    def open_write(self, path: str) -> BinaryIO:
        return open(path, "xb")

    def open_read(self, path: str) -> BinaryIO:
        return open(path, "rb")

    def rename(self, source: str, target: str) -> None:
        os.rename(source, target)

    def delete(self, path: str, recursive: bool = False) -> None:
        if recursive:
            shutil.rmtree(path)
        else:
            os.unlink(path)

    def chmod(self, path: str, mode: int) -> None:
        os.chmod(path, mode)

    def chown(self, path: str) -> None:
        os.chown(path, self._user_id, self._group_id)

    def missing(self, capability: str) -> str:
        if capability == REPLICATION:
            return "a local directory has no replication factor"
        return super().missing(capability)
