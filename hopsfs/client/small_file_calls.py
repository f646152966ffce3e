"""Small-file calls of `AsyncClient` (the hopsfs extension protocol, small_files.proto): a small
file is created with its bytes, or read with its status, in one namenode round trip, and many small
files are created in one call. A mixin like `BlockCalls`; it needs `_call` and `umask`.

The namenode decides what is stored inline (the directory's threshold); a refused call creates
nothing and says so (None), and the caller writes through blocks instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from google.protobuf.message import Message

from hopsfs.errors import RemoteError
from hopsfs.protocol import hdfs_values, small_file_wire
from hopsfs.protocol.proto import small_files_pb2 as pb
from hopsfs.types import FileStatus

# Data above this many bytes is never offered inline (the namenode's default threshold; a directory
# may set a lower one, which costs a refused call, or a higher one up to 1 MiB, which this client
# does not use yet).
INLINE_OFFER_BYTES_MAX = 64 * 1024
# Files and bytes per batchCreateWithData call (the namenode refuses more: 1000 files, 32 MiB).
BATCH_FILES_MAX = 1000
BATCH_BYTES_MAX = 16 * 1024 * 1024
_Entry = TypeVar("_Entry")
# What a namenode without the small-file methods answers (an HDFS namenode, an older hopsfs).
NO_SUCH_METHOD = "org.apache.hadoop.ipc.RpcNoSuchMethodException"


class SmallFileCalls:
    umask: int
    client_name: str
    # False once a namenode answered that it has no such method (an HDFS namenode, an older hopsfs):
    # from then on this client writes and reads every file the HDFS way.
    small_file_extension = True

    async def _call(self, method: str, request: Message | bytes, response_type: type[Message]) -> Message:
        raise NotImplementedError

    async def _extension_call(
        self, method: str, request: Message | bytes, response_type: type[Message]
    ) -> Message | None:
        """`_call` for a small-file method; None when the namenode does not speak the extension."""
        if not self.small_file_extension:
            return None
        try:
            return await self._call(method, request, response_type)
        except RemoteError as error:
            if error.java_class != NO_SUCH_METHOD:
                raise
            self.small_file_extension = False
            return None

    async def create_with_data(
        self, path: str, data: bytes, *, overwrite: bool = False, permission: int = 0o644
    ) -> FileStatus | None:
        """create + write + close of a small file in one call; None when the namenode keeps files
        of this size in blocks, or has no small-file extension (nothing was created)."""
        request = pb.CreateWithDataRequestProto(
            src=path, data=bytes(data), permission=permission & ~self.umask, overwrite=overwrite
        )
        response = await self._extension_call("createWithData", request, pb.CreateWithDataResponseProto)
        if response is None or not response.HasField("fs"):
            return None
        return hdfs_values.status_from_proto(response.fs, path)

    async def complete_with_data(self, path: str, file_id: int, data: bytes) -> bool:
        """Close this client's open file, which has no block yet, with `data` stored inline; False
        when the namenode keeps files this size in blocks or has no small-file extension (the file
        is still open: write `data` through blocks and complete it)."""
        request = pb.CompleteWithDataRequestProto(
            src=path, clientName=self.client_name, fileId=file_id, data=bytes(data)
        )
        response = await self._extension_call("completeWithData", request, pb.CompleteWithDataResponseProto)
        return response is not None and bool(response.stored)

    async def read_with_metadata(self, path: str) -> tuple[FileStatus, bytes | None]:
        """The file's status and, when it is stored inline, its bytes (None: read its blocks)."""
        request = pb.ReadWithMetadataRequestProto(src=path)
        response = await self._call("readWithMetadata", request, pb.ReadWithMetadataResponseProto)
        status = hdfs_values.status_from_proto(response.fs, path)
        return status, (response.data if response.HasField("data") else None)

    async def inline_bytes(self, path: str) -> bytes | None:
        """The bytes of a small file stored in the metadata store, in one call; None for a file in
        blocks, or when the namenode has no small-file extension (read the file the HDFS way)."""
        request = pb.ReadWithMetadataRequestProto(src=path)
        response = await self._extension_call("readWithMetadata", request, pb.ReadWithMetadataResponseProto)
        if response is None or not response.HasField("data"):
            return None
        return response.data

    async def batch_create_with_data(
        self, files: Sequence[tuple[str, bytes]], *, overwrite: bool = False, permission: int = 0o644
    ) -> list[FileStatus] | None:
        """Create up to BATCH_FILES_MAX small files in one call and one transaction: all or none.
        None when one exceeds its directory's threshold, or the namenode has no small-file extension
        (then none was created)."""
        if not 0 < len(files) <= BATCH_FILES_MAX:
            raise ValueError(f"a batch holds 1 to {BATCH_FILES_MAX} files, not {len(files)}")
        request = small_file_wire.batch_create_request(
            files, permission=permission & ~self.umask, overwrite=overwrite
        )
        response = await self._extension_call(
            "batchCreateWithData", request, pb.BatchCreateWithDataResponseProto
        )
        if response is None or not response.fs:
            return None
        return [
            hdfs_values.status_from_proto(proto, path)
            for proto, (path, _) in zip(response.fs, files, strict=True)
        ]

    async def append_inline(self, path: str) -> tuple[FileStatus | None, bytes | None]:
        """Reopen a small file for appending under this client's lease, with its bytes; a file in
        blocks is left alone (bytes None): append to it the HDFS way (as to every file when the
        namenode has no small-file extension: status None)."""
        request = pb.AppendInlineRequestProto(src=path, clientName=self.client_name)
        response = await self._extension_call("appendInline", request, pb.AppendInlineResponseProto)
        if response is None:
            return None, None
        status = hdfs_values.status_from_proto(response.fs, path)
        return status, (response.data if response.HasField("data") else None)

    async def set_inline_threshold(self, path: str, threshold_bytes: int | None) -> None:
        """Files created below the directory `path` with at most `threshold_bytes` are stored inline
        (0: never); None removes the setting, so the directory inherits its parent's again."""
        request = pb.SetInlineThresholdRequestProto(src=path)
        if threshold_bytes is not None:
            request.thresholdBytes = threshold_bytes
        await self._call("setInlineThreshold", request, pb.SetInlineThresholdResponseProto)


def small_file_batches(
    entries: Iterable[_Entry], size_of: Callable[[_Entry], int] = lambda entry: len(entry[1])
) -> Iterator[list[_Entry]]:
    """`entries` (by default (path, bytes) pairs), in order and lazily, cut into batches within
    BATCH_FILES_MAX files and BATCH_BYTES_MAX bytes each."""
    batch: list[_Entry] = []
    batch_bytes = 0
    for entry in entries:
        size = size_of(entry)
        if batch and (len(batch) == BATCH_FILES_MAX or batch_bytes + size > BATCH_BYTES_MAX):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(entry)
        batch_bytes += size
    if batch:
        yield batch
