"""The one interface every target implements: the calls a workload makes, nothing else.

Paths are absolute on the target. `create` makes a new file with its whole content (the workloads
never create over an existing path, so a target need not spend a call checking; fsspec's `pipe_file`
would overwrite, os and hopsfs refuse); `list` of a file lists the file itself (as `ls FILE` and
HDFS getListing do); `chown` gives a path to the target's own user (what any owner may do; giving
it away needs a superuser).
Calls a target cannot make raise `UnsupportedOperation`; `capabilities` says in advance which of the
optional ones it has, so the runner can skip a workload that needs one with a message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import BinaryIO

from bench.harness.errors import UnsupportedOperation

DATA = "data"  # file contents: create with bytes, read, streams
CHMOD = "chmod"
CHOWN = "chown"
REPLICATION = "replication"
CAPABILITIES = (DATA, CHMOD, CHOWN, REPLICATION)


@dataclass(frozen=True, slots=True)
class PathInfo:
    is_directory: bool
    size: int


class Target(ABC):
    """A filesystem opened in one client process."""

    capabilities: frozenset[str] = frozenset()

    @abstractmethod
    def stat(self, path: str) -> PathInfo: ...

    @abstractmethod
    def list(self, path: str) -> int:
        """How many entries `path` lists (1 for a file)."""

    @abstractmethod
    def mkdirs(self, path: str) -> None:
        """Create the directory and any missing parents; an existing directory is fine."""

    @abstractmethod
    def create(self, path: str, data: bytes) -> None:
        """A new file holding `data` (never called for an existing path)."""

    @abstractmethod
    def rename(self, source: str, target: str) -> None: ...

    @abstractmethod
    def delete(self, path: str, recursive: bool = False) -> None:
        """Remove a file; with `recursive`, a directory and everything below it."""

    def read(self, path: str) -> bytes:
        raise UnsupportedOperation("read", self.missing(DATA))

    def open_write(self, path: str) -> BinaryIO:
        raise UnsupportedOperation("open_write", self.missing(DATA))

    def open_read(self, path: str) -> BinaryIO:
        raise UnsupportedOperation("open_read", self.missing(DATA))

    def chmod(self, path: str, mode: int) -> None:
        raise UnsupportedOperation("chmod", self.missing(CHMOD))

    def chown(self, path: str) -> None:
        raise UnsupportedOperation("chown", self.missing(CHOWN))

    def set_replication(self, path: str, replication: int) -> None:
        raise UnsupportedOperation("set_replication", self.missing(REPLICATION))

    def close(self) -> None:
        return None

    def missing(self, capability: str) -> str:
        """Why this target has no `capability` (subclasses say more where they know more)."""
        return f"{type(self).__name__} has no {capability} operation"
