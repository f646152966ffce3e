"""truncate for `AsyncClient`, a mixin like `SmallFileCalls`: HDFS truncate, plus the move of a block
file cut to a small size into the metadata store.

A cut to at most `inline_offer_bytes_max` bytes of a closed file in blocks first reads the bytes that
stay and offers them with truncateToInline (small_files.proto): the namenode stores them inline and
releases the blocks in one transaction, or refuses (the file changed since it was read, the bytes
exceed the directory's threshold, ...) and the client truncates the HDFS way. Truncate is idempotent
on the namenode (a re-sent cut answers as the first did), so the call is simply sent again on failure.

With `wait`, a cut inside a block (the namenode answered False: block recovery finishes it) is
followed until the file is closed, asking isFileClosed with a growing interval for at most
`TRUNCATE_WAIT_S` seconds (getFileInfo does not say whether a file is open).
"""

from __future__ import annotations

import asyncio
import time

from google.protobuf.message import Message

from hopsfs.client.data_context import DataContext
from hopsfs.client.input_stream import AsyncInputStream
from hopsfs.protocol import hdfs_values
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.protocol.proto import small_files_pb2

TRUNCATE_WAIT_S = 120.0  # block recovery takes a heartbeat or two and a housekeeping round
POLL_INTERVAL_S_MIN = 0.05
POLL_INTERVAL_S_MAX = 1.0


class TruncateCalls:
    client_name: str
    inline_offer_bytes_max: int

    async def _call(self, method: str, request: Message, response_type: type[Message]) -> Message:
        raise NotImplementedError

    async def _extension_call(
        self, method: str, request: Message, response_type: type[Message]
    ) -> Message | None:
        raise NotImplementedError

    def _data_context(self) -> DataContext:
        raise NotImplementedError

    async def truncate(
        self, path: str, length: int, *, wait: bool = True, wait_s: float = TRUNCATE_WAIT_S
    ) -> bool:
        """Cut the file at `path` to `length` bytes. True when it has its new length on return;
        False (only without `wait`) while block recovery finishes the cut: the file stays under
        construction until then. With `wait`, TimeoutError after `wait_s` seconds of recovery."""
        offer = self.inline_offer_bytes_max > 0 and 0 <= length <= self.inline_offer_bytes_max
        if offer and await self._truncate_to_inline(path, length):
            return True
        request = pb.TruncateRequestProto(
            src=path, newLength=hdfs_values.to_uint64(length), clientName=self.client_name
        )
        response = await self._call("truncate", request, pb.TruncateResponseProto)
        if response.result or not wait:
            return bool(response.result)
        await self.wait_until_closed(path, wait_s, f"truncate of {path} to {length} bytes")
        return True

    async def is_file_closed(self, path: str) -> bool:
        """HDFS isFileClosed: whether no writer (or recovery) holds the file open."""
        request = pb.IsFileClosedRequestProto(src=path)
        response = await self._call("isFileClosed", request, pb.IsFileClosedResponseProto)
        return bool(response.result)

    async def wait_until_closed(self, path: str, wait_s: float, what: str) -> None:
        """Ask isFileClosed with a growing interval until it says so, for at most `wait_s` seconds."""
        deadline = time.monotonic() + wait_s
        interval_s = POLL_INTERVAL_S_MIN
        while True:
            if await self.is_file_closed(path):
                return
            if time.monotonic() + interval_s > deadline:
                raise TimeoutError(
                    f"{what}: the file is still under construction after {wait_s:g} s of block "
                    "recovery; it closes at the new length once its datanodes answer"
                )
            await asyncio.sleep(interval_s)
            interval_s = min(interval_s * 2, POLL_INTERVAL_S_MAX)

    async def _truncate_to_inline(self, path: str, length: int) -> bool:
        """Offer the first `length` bytes of a closed block file to be stored inline; False when
        there is nothing to move or the namenode refused (nothing changed then)."""
        read = small_files_pb2.ReadWithMetadataRequestProto(src=path)
        found = await self._extension_call(
            "readWithMetadata", read, small_files_pb2.ReadWithMetadataResponseProto
        )
        if found is None or found.HasField("data"):
            return False  # no extension, or stored inline already: truncate cuts it in place
        status = hdfs_values.status_from_proto(found.fs, path)
        if status.under_construction or length >= status.size:
            return False  # the namenode answers these (an error, or True for the same length)
        data = await self._read_head(path, length)
        if len(data) != length:
            return False  # cut meanwhile: the namenode would refuse the changed file anyway
        request = small_files_pb2.TruncateToInlineRequestProto(
            src=path,
            data=data,
            fileId=status.inode_id,
            expectedSize=status.size,
            expectedModificationTime=hdfs_values.to_uint64(status.modification_time_ms),
        )
        response = await self._call(
            "truncateToInline", request, small_files_pb2.TruncateToInlineResponseProto
        )
        return bool(response.moved)

    async def _read_head(self, path: str, length: int) -> bytes:
        if length == 0:
            return b""
        stream = await AsyncInputStream.open(self._data_context(), path, read_ahead_bytes=0)
        try:
            return await stream.read_at(0, length)
        finally:
            await stream.close()
