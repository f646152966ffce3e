"""hopsfs through its native Python client (`hopsfs.connect`), one client per process.

Metadata calls exist today. File contents need the client's data streams (`Client.open`,
`Client.create`, `Client.read_bytes`, `Client.write_bytes`), which are being built: until the client
has them, this target lacks the `data` capability, so data workloads are skipped with a message and a
Spotify `read` is reported unsupported. A 0-byte create is `touch` (create + complete, no block), as
an HDFS client writes an empty file.
"""

from __future__ import annotations

from typing import Any, BinaryIO, cast

from bench.harness.errors import UnsupportedOperation, WrongAnswer
from bench.harness.targets.base import CHMOD, CHOWN, DATA, REPLICATION, PathInfo, Target

DATA_METHODS = ("open", "create", "read_bytes", "write_bytes")
CONNECT_TIMEOUT_S = 10.0
CALL_TIMEOUT_S = 60.0


def client_has_data_streams() -> bool:
    """Whether this checkout's client has the data stream API (decided by the class, no connection)."""
    from hopsfs.client import Client

    return all(callable(getattr(Client, name, None)) for name in DATA_METHODS)


class HopsfsTarget(Target):
    def __init__(self, url: str, user: str | None) -> None:
        from hopsfs.client import connect

        self.client: Any = connect(
            url, user=user, connect_timeout_s=CONNECT_TIMEOUT_S, call_timeout_s=CALL_TIMEOUT_S
        )
        data = {DATA} if client_has_data_streams() else set()
        self.capabilities = frozenset({CHMOD, CHOWN, REPLICATION} | data)

    def stat(self, path: str) -> PathInfo:
        status = self.client.stat(path)
        return PathInfo(status.is_directory, status.size)

    def list(self, path: str) -> int:
        return len(self.client.list(path))

    def mkdirs(self, path: str) -> None:
        self.client.mkdirs(path)

    def create(self, path: str, data: bytes) -> None:
        if not data:
            self.client.touch(path)
            return
        self._require_data("create")
        self.client.write_bytes(path, data, overwrite=False)

    def read(self, path: str) -> bytes:
        self._require_data("read")
        return cast(bytes, self.client.read_bytes(path))

    def open_write(self, path: str) -> BinaryIO:
        self._require_data("open_write")
        return cast(BinaryIO, self.client.create(path, overwrite=False))

    def open_read(self, path: str) -> BinaryIO:
        self._require_data("open_read")
        return cast(BinaryIO, self.client.open(path, "rb"))

    def rename(self, source: str, target: str) -> None:
        self.client.rename(source, target)

    def delete(self, path: str, recursive: bool = False) -> None:
        if not self.client.delete(path, recursive=recursive):  # HDFS answers false for a missing path
            raise FileNotFoundError(f"delete found no {path}")

    def chmod(self, path: str, mode: int) -> None:
        self.client.set_permission(path, mode)

    def chown(self, path: str) -> None:
        self.client.set_owner(path, owner=self.client.user)

    def set_replication(self, path: str, replication: int) -> None:
        if not self.client.set_replication(path, replication):
            raise WrongAnswer(f"setReplication of {path} answered false (not a file?)")

    def close(self) -> None:
        self.client.close()

    def missing(self, capability: str) -> str:
        if capability == DATA:
            return "the hopsfs client has no data streams yet (Client.open/create/read_bytes/write_bytes)"
        return super().missing(capability)

    def _require_data(self, operation: str) -> None:
        if DATA not in self.capabilities:
            raise UnsupportedOperation(operation, self.missing(DATA))
