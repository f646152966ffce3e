"""The asynchronous hopsfs client: namespace calls to the namenodes over Hadoop IPC.

One `AsyncClient` keeps one connection per namenode address, shared by all its concurrent calls.
Failures are retried the way HDFS clients do it:
- a namenode that refuses or drops connections is failed over to the next address (round robin);
- every attempt of a call carries the same call id and a growing retry count, so an at-most-once call
  (create, rename, delete, ...) that already ran is answered from the namenodes' retry cache instead
  of running again (`AT_MOST_ONCE_METHODS`); the others are idempotent and simply sent again;
- when every attempt failed and an at-most-once call may have reached a namenode, `OutcomeUnknown`
  tells the caller to check; otherwise `NamenodeUnavailable`;
- RetriableException from the server (a transaction that kept conflicting) is retried with backoff.
Errors the namenode reports come back as the matching `hopsfs.errors` class (FileNotFound, ...).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import time
import uuid
from collections.abc import AsyncIterator

from google.protobuf.message import Message

from hopsfs import limits
from hopsfs.client.address import namenode_addresses
from hopsfs.client.block_calls import BlockCalls
from hopsfs.client.data_context import DataContext
from hopsfs.client.file_streams import FileStreams
from hopsfs.client.rpc import ConnectionLost, RpcConnection
from hopsfs.client.small_file_calls import INLINE_OFFER_BYTES_MAX, SmallFileCalls
from hopsfs.client.stream_settings import DEFAULT_STREAM_SETTINGS, StreamSettings
from hopsfs.client.truncate_calls import TruncateCalls
from hopsfs.config import current_user
from hopsfs.errors import FileNotFound, NamenodeUnavailable, OutcomeUnknown, TransientError
from hopsfs.protocol import hdfs_values
from hopsfs.protocol.ipc_wire import AT_MOST_ONCE_METHODS, CALL_ID_MAX
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.protocol.proto import xattr_pb2
from hopsfs.types import ContentSummary, FileStatus, XAttrSetFlag

CONNECT_TIMEOUT_S = 5.0
CALL_TIMEOUT_S = 60.0
ATTEMPTS_MAX = 6
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0
# Close a connection idle this long before reusing it: well under the server's idle timeout, so a
# call never races the server hanging up.
CONNECTION_IDLE_S = 10.0
UMASK_DEFAULT = 0o022
# The datanodes' domain socket pattern for short-circuit reads (see hopsfs/client/short_circuit.py).
DOMAIN_SOCKET_ENV = "HOPSFS_DOMAIN_SOCKET"
# getServerDefaults answers are reused this long (dfs.client.server-defaults.validity.period.ms).
SERVER_DEFAULTS_VALIDITY_S = 3600.0


class AsyncClient(BlockCalls, SmallFileCalls, TruncateCalls, FileStreams):
    def __init__(
        self,
        url: str | None = None,
        *,
        user: str | None = None,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        call_timeout_s: float = CALL_TIMEOUT_S,
        attempts_max: int = ATTEMPTS_MAX,
        umask: int = UMASK_DEFAULT,
        app_id: str | None = None,
        stream_settings: StreamSettings = DEFAULT_STREAM_SETTINGS,
        domain_socket: str | None = None,
        inline_offer_bytes_max: int = INLINE_OFFER_BYTES_MAX,
    ) -> None:
        self.addresses = namenode_addresses(url)
        self.user = user or current_user()
        # Recorded with every change this client makes (provenance); HOPSFS_APP_ID by default.
        self.app_id = app_id if app_id is not None else os.environ.get("HOPSFS_APP_ID") or None
        self.client_id = uuid.uuid4().bytes
        # HDFS's lease holder name; unique per client so two clients never share a lease.
        self.client_name = f"DFSClient_hopsfs_{self.client_id.hex()[:16]}"
        self.connect_timeout_s = connect_timeout_s
        self.call_timeout_s = call_timeout_s
        self.attempts_max = attempts_max
        self.umask = umask
        # write_bytes offers data up to this size to the namenode as a small file (createWithData);
        # 0 sends everything through blocks.
        self.inline_offer_bytes_max = inline_offer_bytes_max
        self._connections: dict[tuple[str, int], RpcConnection] = {}
        self._connecting: dict[tuple[str, int], asyncio.Future[RpcConnection]] = {}
        self._preferred = 0
        self._next_call_id = 0
        # Short-circuit reads: the datanodes' domain socket pattern, from the option or HOPSFS_DOMAIN_SOCKET.
        domain_socket = domain_socket or os.environ.get(DOMAIN_SOCKET_ENV) or None
        if domain_socket is not None and stream_settings.domain_socket_path is None:
            stream_settings = dataclasses.replace(stream_settings, domain_socket_path=domain_socket)
        self.stream_settings = stream_settings
        # The data path (datanode connections, lease renewal), built on first use inside the loop.
        self._data: DataContext | None = None
        self._server_defaults: tuple[float, dict[str, int]] | None = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._data is not None:
            await self._data.close()
            self._data = None
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    # -- reads ----------------------------------------------------------------------------------

    async def stat(self, path: str) -> FileStatus:
        """The file status of `path`; FileNotFound if nothing is there."""
        response = await self._call(
            "getFileInfo", pb.GetFileInfoRequestProto(src=path), pb.GetFileInfoResponseProto
        )
        if not response.HasField("fs"):
            raise FileNotFound(f"File does not exist: {path}")
        return hdfs_values.status_from_proto(response.fs, path)

    async def exists(self, path: str) -> bool:
        try:
            await self.stat(path)
        except FileNotFound:
            return False
        return True

    async def list_pages(self, path: str) -> AsyncIterator[list[FileStatus]]:
        """The entries of a directory page by page (each page one consistent read); a file lists as
        itself."""
        start_after = b""
        while True:
            request = pb.GetListingRequestProto(src=path, startAfter=start_after, needLocation=False)
            response = await self._call("getListing", request, pb.GetListingResponseProto)
            if not response.HasField("dirList"):
                raise FileNotFound(f"File does not exist: {path}")
            entries = list(response.dirList.partialListing)
            if len(entries) == 1 and not entries[0].path:
                yield [hdfs_values.status_from_proto(entries[0], path)]  # a file: its own status
                return
            yield [hdfs_values.status_from_proto(entry, path) for entry in entries]
            if not response.dirList.remainingEntries or not entries:
                return
            start_after = entries[-1].path

    async def list(self, path: str) -> list[FileStatus]:
        """Every entry of a directory, sorted by name."""
        entries: list[FileStatus] = []
        async for page in self.list_pages(path):
            entries.extend(page)
        return entries

    async def walk(self, path: str) -> AsyncIterator[FileStatus]:
        """Every entry below `path`, depth first, directories before their contents. Symlinks are
        reported, not followed."""
        # An explicit stack: depth is bounded by the path limit, not by Python's recursion limit.
        pending = [iter(await self.list(path))]
        while pending:
            entry = next(pending[-1], None)
            if entry is None:
                pending.pop()
                continue
            yield entry
            if entry.is_directory:
                pending.append(iter(await self.list(entry.path)))

    async def content_summary(self, path: str) -> ContentSummary:
        response = await self._call(
            "getContentSummary",
            pb.GetContentSummaryRequestProto(path=path),
            pb.GetContentSummaryResponseProto,
        )
        return hdfs_values.summary_from_proto(response.summary)

    async def link_target(self, path: str) -> str:
        response = await self._call(
            "getLinkTarget", pb.GetLinkTargetRequestProto(path=path), pb.GetLinkTargetResponseProto
        )
        return response.targetPath

    async def get_xattrs(self, path: str, names: list[str] | None = None) -> dict[str, bytes]:
        request = xattr_pb2.GetXAttrsRequestProto(
            src=path, xAttrs=[hdfs_values.xattr_to_proto(name) for name in names or ()]
        )
        response = await self._call("getXAttrs", request, xattr_pb2.GetXAttrsResponseProto)
        return {hdfs_values.xattr_name(entry): entry.value for entry in response.xAttrs}

    async def list_xattrs(self, path: str) -> list[str]:
        response = await self._call(
            "listXAttrs", xattr_pb2.ListXAttrsRequestProto(src=path), xattr_pb2.ListXAttrsResponseProto
        )
        return [hdfs_values.xattr_name(entry) for entry in response.xAttrs]

    async def server_defaults(self) -> dict[str, int]:
        """The namenode's defaults for new files (block size, replication, ...), cached for an hour."""
        cached = self._server_defaults
        if cached is not None and time.monotonic() - cached[0] < SERVER_DEFAULTS_VALIDITY_S:
            return dict(cached[1])
        response = await self._call(
            "getServerDefaults", pb.GetServerDefaultsRequestProto(), pb.GetServerDefaultsResponseProto
        )
        defaults = response.serverDefaults
        values = {
            "block_size": defaults.blockSize,
            "bytes_per_checksum": defaults.bytesPerChecksum,
            "write_packet_size": defaults.writePacketSize,
            "replication": defaults.replication,
            "file_buffer_size": defaults.fileBufferSize,
        }
        self._server_defaults = (time.monotonic(), values)
        return dict(values)

    async def fs_stats(self) -> dict[str, int]:
        response = await self._call("getFsStats", pb.GetFsStatusRequestProto(), pb.GetFsStatsResponseProto)
        return {field.name: value for field, value in response.ListFields()}

    async def msync(self) -> None:
        await self._call("msync", pb.MsyncRequestProto(), pb.MsyncResponseProto)

    # -- writes ---------------------------------------------------------------------------------

    async def mkdirs(self, path: str, permission: int = 0o777, *, create_parent: bool = True) -> bool:
        """Create a directory (and its missing parents); True if it exists afterwards. The client's
        umask applies, as in HDFS (0o777 & ~0o022 = 0o755)."""
        request = pb.MkdirsRequestProto(
            src=path, masked=hdfs_values.permission(permission & ~self.umask), createParent=create_parent
        )
        response = await self._call("mkdirs", request, pb.MkdirsResponseProto)
        return response.result

    async def touch(
        self,
        path: str,
        permission: int = 0o666,
        *,
        overwrite: bool = False,
        create_parent: bool = True,
        replication: int = limits.REPLICATION_DEFAULT,
        block_size: int = limits.BLOCK_SIZE_BYTES_DEFAULT,
    ) -> FileStatus:
        """Create an empty file (create, then complete, as `hdfs dfs -touchz` does)."""
        flags = pb.CREATE | (pb.OVERWRITE if overwrite else 0)
        request = pb.CreateRequestProto(
            src=path,
            masked=hdfs_values.permission(permission & ~self.umask),
            clientName=self.client_name,
            createFlag=flags,
            createParent=create_parent,
            replication=replication,
            blockSize=block_size,
        )
        response = await self._call("create", request, pb.CreateResponseProto)
        file_id = response.fs.fileId
        complete = pb.CompleteRequestProto(src=path, clientName=self.client_name, fileId=file_id)
        await self._call("complete", complete, pb.CompleteResponseProto)
        return await self.stat(path)

    async def rename(self, source: str, destination: str, *, overwrite: bool = False) -> None:
        """Move `source` to exactly `destination` (HDFS rename2); raises on every refusal."""
        request = pb.Rename2RequestProto(src=source, dst=destination, overwriteDest=overwrite)
        await self._call("rename2", request, pb.Rename2ResponseProto)

    async def rename_legacy(self, source: str, destination: str) -> bool:
        """HDFS's old rename: into `destination` if it is a directory; False instead of most errors."""
        response = await self._call(
            "rename", pb.RenameRequestProto(src=source, dst=destination), pb.RenameResponseProto
        )
        return response.result

    async def delete(self, path: str, *, recursive: bool = False) -> bool:
        """Delete `path`; False if it did not exist. A non-empty directory needs recursive=True."""
        response = await self._call(
            "delete", pb.DeleteRequestProto(src=path, recursive=recursive), pb.DeleteResponseProto
        )
        return response.result

    async def set_permission(self, path: str, permission: int) -> None:
        request = pb.SetPermissionRequestProto(src=path, permission=hdfs_values.permission(permission))
        await self._call("setPermission", request, pb.SetPermissionResponseProto)

    async def set_owner(self, path: str, owner: str | None = None, group: str | None = None) -> None:
        request = pb.SetOwnerRequestProto(src=path)
        if owner is not None:
            request.username = owner
        if group is not None:
            request.groupname = group
        await self._call("setOwner", request, pb.SetOwnerResponseProto)

    async def set_times(self, path: str, modification_time_ms: int = -1, access_time_ms: int = -1) -> None:
        """Set the times in milliseconds since the epoch; -1 leaves one unchanged."""
        request = pb.SetTimesRequestProto(
            src=path,
            mtime=hdfs_values.to_uint64(modification_time_ms),
            atime=hdfs_values.to_uint64(access_time_ms),
        )
        await self._call("setTimes", request, pb.SetTimesResponseProto)

    async def set_replication(self, path: str, replication: int) -> bool:
        request = pb.SetReplicationRequestProto(src=path, replication=replication)
        response = await self._call("setReplication", request, pb.SetReplicationResponseProto)
        return response.result

    async def set_xattr(
        self,
        path: str,
        name: str,
        value: bytes,
        flags: XAttrSetFlag = XAttrSetFlag.CREATE | XAttrSetFlag.REPLACE,
    ) -> None:
        request = xattr_pb2.SetXAttrRequestProto(
            src=path, xAttr=hdfs_values.xattr_to_proto(name, value), flag=int(flags)
        )
        await self._call("setXAttr", request, xattr_pb2.SetXAttrResponseProto)

    async def remove_xattr(self, path: str, name: str) -> None:
        request = xattr_pb2.RemoveXAttrRequestProto(src=path, xAttr=hdfs_values.xattr_to_proto(name))
        await self._call("removeXAttr", request, xattr_pb2.RemoveXAttrResponseProto)

    async def create_symlink(self, target: str, link: str, *, create_parent: bool = False) -> None:
        request = pb.CreateSymlinkRequestProto(
            target=target,
            link=link,
            dirPerm=hdfs_values.permission(0o777 & ~self.umask),
            createParent=create_parent,
        )
        await self._call("createSymlink", request, pb.CreateSymlinkResponseProto)

    async def renew_lease(self) -> None:
        await self._call(
            "renewLease", pb.RenewLeaseRequestProto(clientName=self.client_name), pb.RenewLeaseResponseProto
        )

    def _data_context(self) -> DataContext:
        if self._data is None:
            self._data = DataContext.create(self, self.stream_settings)
        return self._data

    # -- calls, retries, failover ---------------------------------------------------------------

    async def _call(self, method: str, request: Message | bytes, response_type: type[Message]) -> Message:
        idempotent = method not in AT_MOST_ONCE_METHODS
        # One id for every attempt of this call: the namenodes' retry cache recognizes a re-sent
        # at-most-once call by (client id, call id) and answers it without running it twice.
        call_id = self._allocate_call_id()
        last_failure: BaseException | None = None
        maybe_ran = False
        for attempt in range(self.attempts_max):
            if attempt:
                await asyncio.sleep(_backoff(attempt))
            address = self.addresses[self._preferred % len(self.addresses)]
            try:
                connection = await self._connection(address)
            except (OSError, TimeoutError) as error:
                last_failure = error
                self._fail_over(address)
                continue
            try:
                return await connection.call(
                    method, request, response_type, self.call_timeout_s, call_id=call_id, retry_count=attempt
                )
            except ConnectionLost as lost:
                last_failure = lost
                maybe_ran = maybe_ran or lost.sent
                self._forget(address, connection)
                self._fail_over(address)
            except TransientError as busy:
                last_failure = busy  # the server rolled back: safe to send again
        if maybe_ran and not idempotent:
            raise OutcomeUnknown(
                f"{method} may or may not have run: no answer in {self.attempts_max} attempts "
                f"({last_failure}). Check the namespace before retrying."
            ) from last_failure
        raise NamenodeUnavailable(
            f"{method} failed on every namenode ({_addresses_text(self.addresses)}) after "
            f"{self.attempts_max} attempts: {last_failure}"
        ) from last_failure

    def _allocate_call_id(self) -> int:
        # Unique per client across all its connections (Hadoop's clients share one counter too).
        call_id = self._next_call_id
        self._next_call_id = 0 if call_id == CALL_ID_MAX else call_id + 1
        return call_id

    async def _connection(self, address: tuple[str, int]) -> RpcConnection:
        connection = self._connections.get(address)
        if connection is not None:
            idle = time.monotonic() - connection.last_used
            if connection.is_open and (connection.calls_in_flight or idle < CONNECTION_IDLE_S):
                return connection
            self._forget(address, connection)
        pending = self._connecting.get(address)
        if pending is None:
            pending = asyncio.ensure_future(
                RpcConnection.open(
                    address,
                    user=self.user,
                    client_id=self.client_id,
                    timeout_s=self.connect_timeout_s,
                    caller_context=self.app_id,
                )
            )
            self._connecting[address] = pending
            try:
                connection = await pending
            finally:
                del self._connecting[address]
            self._connections[address] = connection
            return connection
        return await asyncio.shield(pending)

    def _forget(self, address: tuple[str, int], connection: RpcConnection) -> None:
        if self._connections.get(address) is connection:
            del self._connections[address]
        connection.close()

    def _fail_over(self, address: tuple[str, int]) -> None:
        if self.addresses[self._preferred % len(self.addresses)] == address:
            self._preferred += 1


def _backoff(attempt: int) -> float:
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))


def _addresses_text(addresses: list[tuple[str, int]]) -> str:
    return ", ".join(f"{host}:{port}" for host, port in addresses)
