"""ClientNamenodeProtocol on the namespace: each method parses its request, calls the engine once and
builds its response. No I/O here; the connection code decides which thread runs a method.

Methods are looked up by their wire name in `METHODS`. `read_only` marks the ones that never write
the store (the connection may run those on the event loop when the store answers in microseconds);
`walks_subtree` marks reads whose cost grows with the subtree below the path, which always go to a
handler thread: on the event loop they would stall every other connection for the whole walk.
HDFS answers "does not exist" with an absent field for getFileInfo, getFileLinkInfo and getListing,
and with FileNotFoundException everywhere else; so does this service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import Message

from hopsfs import limits
from hopsfs.errors import FileNotFound, InvalidArgument
from hopsfs.protocol import hdfs_values
from hopsfs.protocol.ipc_wire import AT_MOST_ONCE_METHODS, parse_proto
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.protocol.proto import hdfs_pb2, small_files_pb2, xattr_pb2
from hopsfs.types import Caller, RetryKey, XAttrSetFlag
from namenode import block_protos
from namenode.block_entities import LocatedBlocks
from namenode.engine.namespace import Namespace
from namenode.engine.read_provenance import ReadRecorder
from namenode.ipc import small_files_service
from namenode.ipc.request_paths import request_path

Handler = Callable[..., Message]


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    request_type: type[Message]
    handler: Handler
    read_only: bool
    walks_subtree: bool
    # Hadoop's @AtMostOnce methods: the handler takes the call's RetryKey and the engine answers a
    # re-sent call from its retry cache.
    at_most_once: bool


class ClientProtocolService:
    """The namespace behind one namenode process's ClientNamenodeProtocol front end."""

    def __init__(
        self,
        namespace: Namespace,
        *,
        block_size: int = limits.BLOCK_SIZE_BYTES_DEFAULT,
        replication: int = limits.REPLICATION_DEFAULT,
    ) -> None:
        self.namespace = namespace
        self.reads = ReadRecorder()
        self._pool_id = namespace.settings["block_pool_id"]
        self._server_defaults = hdfs_values.server_defaults(block_size=block_size, replication=replication)

    @property
    def server_defaults(self) -> hdfs_pb2.FsServerDefaultsProto:
        return self._server_defaults

    def call(
        self, caller: Caller, method: Method, request_bytes: bytes | memoryview, retry: RetryKey | None = None
    ) -> Message:
        """Run `method` for `caller`. Raises RemoteProtocolError for an unparsable request, else
        HopsFSError subclasses the front end maps to Java exception names."""
        request = parse_proto(method.request_type, request_bytes, f"{method.name} request")
        if method.at_most_once:
            return method.handler(self, caller, request, retry)
        return method.handler(self, caller, request)

    # -- reads ----------------------------------------------------------------------------------

    def get_file_info(self, caller: Caller, request: pb.GetFileInfoRequestProto) -> Message:
        try:
            status = self.namespace.stat(caller, _path(request.src))
        except FileNotFound:
            return pb.GetFileInfoResponseProto()
        return pb.GetFileInfoResponseProto(fs=hdfs_values.status_to_proto(status, local_name=False))

    def is_file_closed(self, caller: Caller, request: pb.IsFileClosedRequestProto) -> Message:
        status = self.namespace.stat(caller, _path(request.src))
        return pb.IsFileClosedResponseProto(result=not status.under_construction)

    def get_file_link_info(self, caller: Caller, request: pb.GetFileLinkInfoRequestProto) -> Message:
        try:
            status = self.namespace.stat(caller, _path(request.src))
        except FileNotFound:
            return pb.GetFileLinkInfoResponseProto()
        return pb.GetFileLinkInfoResponseProto(fs=hdfs_values.status_to_proto(status, local_name=False))

    def get_listing(self, caller: Caller, request: pb.GetListingRequestProto) -> Message:
        path = _path(request.src)
        try:
            start_after = request.startAfter.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument("startAfter is not UTF-8") from None
        located: dict[str, LocatedBlocks] = {}
        try:
            if request.needLocation:
                # Spark's listLocatedStatus: every file with its blocks' locations, in one snapshot.
                page, located = self.namespace.list_located(caller, path, start_after, caller.host)
            else:
                page = self.namespace.list(caller, path, start_after)
        except FileNotFound:
            return pb.GetListingResponseProto()
        response = pb.GetListingResponseProto()
        listing = response.dirList
        entries = listing.partialListing
        for entry in page.entries:
            # A file lists as itself, under an empty name (HDFS's EMPTY_NAME).
            proto = entries.add()
            hdfs_values.fill_status_proto(proto, entry, local_name=entry.path != path)
            if entry.path in located:
                block_protos.fill_located_blocks_proto(proto.locations, located[entry.path], self._pool_id)
        listing.remainingEntries = page.remaining
        return response

    def get_block_locations(self, caller: Caller, request: pb.GetBlockLocationsRequestProto) -> Message:
        located = self.namespace.get_block_locations(
            caller, _path(request.src), _offset(request.offset), _offset(request.length), caller.host
        )
        # An open for reading: counted in memory, written as one change-log row per file, user and
        # application every few seconds (namenode/engine/read_provenance.py).
        self.reads.record(located.inode_id, located.parent_id, located.name, caller.user, caller.app_id)
        response = pb.GetBlockLocationsResponseProto()
        block_protos.fill_located_blocks_proto(response.locations, located, self._pool_id)
        return response

    def get_content_summary(self, caller: Caller, request: pb.GetContentSummaryRequestProto) -> Message:
        summary = self.namespace.content_summary(caller, _path(request.path))
        return pb.GetContentSummaryResponseProto(summary=hdfs_values.summary_to_proto(summary))

    def get_link_target(self, caller: Caller, request: pb.GetLinkTargetRequestProto) -> Message:
        return pb.GetLinkTargetResponseProto(
            targetPath=self.namespace.get_link_target(caller, _path(request.path))
        )

    def get_server_defaults(self, caller: Caller, request: pb.GetServerDefaultsRequestProto) -> Message:
        return pb.GetServerDefaultsResponseProto(serverDefaults=self._server_defaults)

    def get_fs_stats(self, caller: Caller, request: pb.GetFsStatusRequestProto) -> Message:
        stats = self.namespace.cluster_stats()
        return pb.GetFsStatsResponseProto(
            capacity=stats.capacity,
            used=stats.used,
            remaining=stats.remaining,
            under_replicated=stats.under_replicated,
            corrupt_blocks=stats.corrupt_blocks,
            missing_blocks=stats.missing_blocks,
        )

    def get_xattrs(self, caller: Caller, request: xattr_pb2.GetXAttrsRequestProto) -> Message:
        names = [hdfs_values.xattr_name(entry) for entry in request.xAttrs] or None
        values = self.namespace.get_xattrs(caller, _path(request.src), names)
        return xattr_pb2.GetXAttrsResponseProto(
            xAttrs=[hdfs_values.xattr_to_proto(name, value) for name, value in values.items()]
        )

    def list_xattrs(self, caller: Caller, request: xattr_pb2.ListXAttrsRequestProto) -> Message:
        names = self.namespace.list_xattrs(caller, _path(request.src))
        return xattr_pb2.ListXAttrsResponseProto(xAttrs=[hdfs_values.xattr_to_proto(name) for name in names])

    def msync(self, caller: Caller, request: pb.MsyncRequestProto) -> Message:
        # Every namenode reads the one database: there is no standby state to catch up with.
        return pb.MsyncResponseProto()

    # -- writes ---------------------------------------------------------------------------------

    def mkdirs(self, caller: Caller, request: pb.MkdirsRequestProto) -> Message:
        created = self.namespace.mkdirs(
            caller, _path(request.src), request.masked.perm, create_parent=request.createParent
        )
        return pb.MkdirsResponseProto(result=created)

    def create(self, caller: Caller, request: pb.CreateRequestProto, retry: RetryKey | None) -> Message:
        flags = request.createFlag
        if flags & pb.APPEND:
            raise InvalidArgument("create with the APPEND flag is not supported: call append")
        if not flags & (pb.CREATE | pb.OVERWRITE):
            raise InvalidArgument(f"create flag {flags} asks neither to CREATE nor to OVERWRITE")
        status = self.namespace.create(
            caller,
            _path(request.src),
            request.masked.perm,
            overwrite=bool(flags & pb.OVERWRITE),
            create_parent=request.createParent,
            replication=request.replication,
            block_size=request.blockSize,
            holder=_text(request.clientName, "clientName"),
            retry=retry,
        )
        return pb.CreateResponseProto(fs=hdfs_values.status_to_proto(status, local_name=False))

    def complete(self, caller: Caller, request: pb.CompleteRequestProto) -> Message:
        last = block_protos.block_from_proto(request.last) if request.HasField("last") else None
        closed = self.namespace.complete(
            caller, _path(request.src), _text(request.clientName, "clientName"), last, request.fileId
        )
        return pb.CompleteResponseProto(result=closed)

    def add_block(self, caller: Caller, request: pb.AddBlockRequestProto) -> Message:
        previous = block_protos.block_from_proto(request.previous) if request.HasField("previous") else None
        located = self.namespace.add_block(
            caller,
            _path(request.src),
            _text(request.clientName, "clientName"),
            previous,
            {node.id.datanodeUuid for node in request.excludeNodes},
            request.fileId,
            tuple(request.favoredNodes),
            caller.host,
        )
        return pb.AddBlockResponseProto(block=block_protos.located_block_to_proto(located, self._pool_id))

    def abandon_block(self, caller: Caller, request: pb.AbandonBlockRequestProto) -> Message:
        self.namespace.abandon_block(
            caller,
            _path(request.src),
            _text(request.holder, "holder"),
            block_protos.block_from_proto(request.b),
            request.fileId,
        )
        return pb.AbandonBlockResponseProto()

    def append(self, caller: Caller, request: pb.AppendRequestProto, retry: RetryKey | None) -> Message:
        if request.HasField("flag") and request.flag & pb.NEW_BLOCK:
            raise InvalidArgument("append with NEW_BLOCK is not supported: the last block is filled first")
        status, last = self.namespace.append(
            caller, _path(request.src), _text(request.clientName, "clientName"), retry=retry
        )
        response = pb.AppendResponseProto(stat=hdfs_values.status_to_proto(status, local_name=False))
        if last is not None:
            block_protos.fill_located_block_proto(response.block, last, self._pool_id)
        return response

    def truncate(self, caller: Caller, request: pb.TruncateRequestProto) -> Message:
        done = self.namespace.truncate(
            caller,
            _path(request.src),
            hdfs_values.from_uint64(request.newLength),
            _text(request.clientName, "clientName"),
        )
        return pb.TruncateResponseProto(result=done)

    def fsync(self, caller: Caller, request: pb.FsyncRequestProto) -> Message:
        self.namespace.fsync(
            caller,
            _path(request.src),
            _text(request.client, "client"),
            request.lastBlockLength,
        )
        return pb.FsyncResponseProto()

    def update_block_for_pipeline(
        self, caller: Caller, request: pb.UpdateBlockForPipelineRequestProto
    ) -> Message:
        located = self.namespace.update_block_for_pipeline(
            caller, block_protos.block_from_proto(request.block), _text(request.clientName, "clientName")
        )
        return pb.UpdateBlockForPipelineResponseProto(
            block=block_protos.located_block_to_proto(located, self._pool_id)
        )

    def get_additional_datanode(
        self, caller: Caller, request: pb.GetAdditionalDatanodeRequestProto
    ) -> Message:
        located = self.namespace.get_additional_datanodes(
            caller,
            block_protos.block_from_proto(request.blk),
            _text(request.clientName, "clientName"),
            [node.id.datanodeUuid for node in request.existings],
            {node.id.datanodeUuid for node in request.excludes},
            request.numAdditionalNodes,
            caller.host,
        )
        return pb.GetAdditionalDatanodeResponseProto(
            block=block_protos.located_block_to_proto(located, self._pool_id)
        )

    def update_pipeline(
        self, caller: Caller, request: pb.UpdatePipelineRequestProto, retry: RetryKey | None
    ) -> Message:
        self.namespace.update_pipeline(
            caller,
            _text(request.clientName, "clientName"),
            block_protos.block_from_proto(request.oldBlock),
            block_protos.block_from_proto(request.newBlock),
            [node.datanodeUuid for node in request.newNodes],
            retry=retry,
        )
        return pb.UpdatePipelineResponseProto()

    def report_bad_blocks(self, caller: Caller, request: pb.ReportBadBlocksRequestProto) -> Message:
        reports = [
            (block_protos.block_from_proto(located.b), [node.id.datanodeUuid for node in located.locs])
            for located in request.blocks
        ]
        self.namespace.report_bad_blocks(caller, reports)
        return pb.ReportBadBlocksResponseProto()

    def recover_lease(self, caller: Caller, request: pb.RecoverLeaseRequestProto) -> Message:
        closed = self.namespace.recover_lease(
            caller, _path(request.src), _text(request.clientName, "clientName")
        )
        return pb.RecoverLeaseResponseProto(result=closed)

    def renew_lease(self, caller: Caller, request: pb.RenewLeaseRequestProto) -> Message:
        self.namespace.renew_lease(caller, _text(request.clientName, "clientName"))
        return pb.RenewLeaseResponseProto()

    def rename(self, caller: Caller, request: pb.RenameRequestProto, retry: RetryKey | None) -> Message:
        renamed = self.namespace.rename_legacy(caller, _path(request.src), _path(request.dst), retry=retry)
        return pb.RenameResponseProto(result=renamed)

    def rename2(self, caller: Caller, request: pb.Rename2RequestProto, retry: RetryKey | None) -> Message:
        self.namespace.rename(
            caller, _path(request.src), _path(request.dst), overwrite=request.overwriteDest, retry=retry
        )
        return pb.Rename2ResponseProto()

    def delete(self, caller: Caller, request: pb.DeleteRequestProto, retry: RetryKey | None) -> Message:
        deleted = self.namespace.delete(caller, _path(request.src), recursive=request.recursive, retry=retry)
        return pb.DeleteResponseProto(result=deleted)

    def set_permission(self, caller: Caller, request: pb.SetPermissionRequestProto) -> Message:
        self.namespace.set_permission(caller, _path(request.src), request.permission.perm)
        return pb.SetPermissionResponseProto()

    def set_owner(self, caller: Caller, request: pb.SetOwnerRequestProto) -> Message:
        owner = _text(request.username, "username") if request.HasField("username") else None
        group = _text(request.groupname, "groupname") if request.HasField("groupname") else None
        self.namespace.set_owner(caller, _path(request.src), owner, group)
        return pb.SetOwnerResponseProto()

    def set_times(self, caller: Caller, request: pb.SetTimesRequestProto) -> Message:
        self.namespace.set_times(
            caller,
            _path(request.src),
            hdfs_values.from_uint64(request.mtime),
            hdfs_values.from_uint64(request.atime),
        )
        return pb.SetTimesResponseProto()

    def set_replication(self, caller: Caller, request: pb.SetReplicationRequestProto) -> Message:
        changed = self.namespace.set_replication(caller, _path(request.src), request.replication)
        return pb.SetReplicationResponseProto(result=changed)

    def create_symlink(
        self, caller: Caller, request: pb.CreateSymlinkRequestProto, retry: RetryKey | None
    ) -> Message:
        self.namespace.create_symlink(
            caller,
            _text(request.target, "target"),
            _path(request.link),
            create_parent=request.createParent,
            retry=retry,
        )
        return pb.CreateSymlinkResponseProto()

    def set_xattr(
        self, caller: Caller, request: xattr_pb2.SetXAttrRequestProto, retry: RetryKey | None
    ) -> Message:
        if not request.HasField("xAttr"):
            raise InvalidArgument("setXAttr needs an xAttr")
        # Hadoop's client always sends the flag; an absent one means "create or replace".
        flags = XAttrSetFlag(request.flag) if request.flag else XAttrSetFlag.CREATE | XAttrSetFlag.REPLACE
        name = hdfs_values.xattr_name(request.xAttr)
        self.namespace.set_xattr(caller, _path(request.src), name, request.xAttr.value, flags, retry=retry)
        return xattr_pb2.SetXAttrResponseProto()

    def remove_xattr(
        self, caller: Caller, request: xattr_pb2.RemoveXAttrRequestProto, retry: RetryKey | None
    ) -> Message:
        if not request.HasField("xAttr"):
            raise InvalidArgument("removeXAttr needs an xAttr")
        name = hdfs_values.xattr_name(request.xAttr)
        self.namespace.remove_xattr(caller, _path(request.src), name, retry=retry)
        return xattr_pb2.RemoveXAttrResponseProto()


def _text(value: object, field: str) -> str:
    # upb hands a string field holding invalid UTF-8 back as bytes instead of failing the parse.
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} is not valid UTF-8")
    return value


def _offset(value: int) -> int:
    """A uint64 offset or length: Java's negative longs arrive as huge numbers."""
    signed = hdfs_values.from_uint64(value)
    if signed < 0:
        raise InvalidArgument(f"negative offset or length {signed}")
    return signed


_path = request_path


def _method(
    name: str,
    request_type: type[Message],
    handler: Handler,
    *,
    read_only: bool,
    walks_subtree: bool = False,
) -> Method:
    return Method(name, request_type, handler, read_only, walks_subtree, name in AT_MOST_ONCE_METHODS)


S = ClientProtocolService
METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        _method("getFileInfo", pb.GetFileInfoRequestProto, S.get_file_info, read_only=True),
        _method("getFileLinkInfo", pb.GetFileLinkInfoRequestProto, S.get_file_link_info, read_only=True),
        _method("isFileClosed", pb.IsFileClosedRequestProto, S.is_file_closed, read_only=True),
        _method("getListing", pb.GetListingRequestProto, S.get_listing, read_only=True),
        _method("getBlockLocations", pb.GetBlockLocationsRequestProto, S.get_block_locations, read_only=True),
        _method(
            "getContentSummary",
            pb.GetContentSummaryRequestProto,
            S.get_content_summary,
            read_only=True,
            walks_subtree=True,
        ),
        _method("getLinkTarget", pb.GetLinkTargetRequestProto, S.get_link_target, read_only=True),
        _method("getServerDefaults", pb.GetServerDefaultsRequestProto, S.get_server_defaults, read_only=True),
        _method("getFsStats", pb.GetFsStatusRequestProto, S.get_fs_stats, read_only=True),
        _method("getXAttrs", xattr_pb2.GetXAttrsRequestProto, S.get_xattrs, read_only=True),
        _method("listXAttrs", xattr_pb2.ListXAttrsRequestProto, S.list_xattrs, read_only=True),
        _method("msync", pb.MsyncRequestProto, S.msync, read_only=True),
        _method("mkdirs", pb.MkdirsRequestProto, S.mkdirs, read_only=False),
        _method("create", pb.CreateRequestProto, S.create, read_only=False),
        _method("complete", pb.CompleteRequestProto, S.complete, read_only=False),
        _method("addBlock", pb.AddBlockRequestProto, S.add_block, read_only=False),
        _method("abandonBlock", pb.AbandonBlockRequestProto, S.abandon_block, read_only=False),
        _method("append", pb.AppendRequestProto, S.append, read_only=False),
        _method("fsync", pb.FsyncRequestProto, S.fsync, read_only=False),
        _method("truncate", pb.TruncateRequestProto, S.truncate, read_only=False),
        _method(
            "updateBlockForPipeline",
            pb.UpdateBlockForPipelineRequestProto,
            S.update_block_for_pipeline,
            read_only=False,
        ),
        _method(
            "getAdditionalDatanode",
            pb.GetAdditionalDatanodeRequestProto,
            S.get_additional_datanode,
            read_only=False,
        ),
        _method("updatePipeline", pb.UpdatePipelineRequestProto, S.update_pipeline, read_only=False),
        _method("reportBadBlocks", pb.ReportBadBlocksRequestProto, S.report_bad_blocks, read_only=False),
        _method("recoverLease", pb.RecoverLeaseRequestProto, S.recover_lease, read_only=False),
        _method("renewLease", pb.RenewLeaseRequestProto, S.renew_lease, read_only=False),
        _method("rename", pb.RenameRequestProto, S.rename, read_only=False),
        _method("rename2", pb.Rename2RequestProto, S.rename2, read_only=False),
        _method("delete", pb.DeleteRequestProto, S.delete, read_only=False),
        _method("setPermission", pb.SetPermissionRequestProto, S.set_permission, read_only=False),
        _method("setOwner", pb.SetOwnerRequestProto, S.set_owner, read_only=False),
        _method("setTimes", pb.SetTimesRequestProto, S.set_times, read_only=False),
        _method("setReplication", pb.SetReplicationRequestProto, S.set_replication, read_only=False),
        _method(
            "createSymlink",
            pb.CreateSymlinkRequestProto,
            S.create_symlink,
            read_only=False,
        ),
        _method("setXAttr", xattr_pb2.SetXAttrRequestProto, S.set_xattr, read_only=False),
        # hopsfs extension: small files in the metadata store (small_files_service.py).
        _method(
            "createWithData",
            small_files_pb2.CreateWithDataRequestProto,
            small_files_service.create_with_data,
            read_only=False,
        ),
        _method(
            "readWithMetadata",
            small_files_pb2.ReadWithMetadataRequestProto,
            small_files_service.read_with_metadata,
            read_only=True,
        ),
        _method(
            "batchCreateWithData",
            small_files_pb2.BatchCreateWithDataRequestProto,
            small_files_service.batch_create_with_data,
            read_only=False,
        ),
        _method(
            "appendInline",
            small_files_pb2.AppendInlineRequestProto,
            small_files_service.append_inline,
            read_only=False,
        ),
        _method(
            "truncateToInline",
            small_files_pb2.TruncateToInlineRequestProto,
            small_files_service.truncate_to_inline,
            read_only=False,
        ),
        _method(
            "completeWithData",
            small_files_pb2.CompleteWithDataRequestProto,
            small_files_service.complete_with_data,
            read_only=False,
        ),
        _method(
            "setInlineThreshold",
            small_files_pb2.SetInlineThresholdRequestProto,
            small_files_service.set_inline_threshold,
            read_only=False,
        ),
        _method(
            "removeXAttr",
            xattr_pb2.RemoveXAttrRequestProto,
            S.remove_xattr,
            read_only=False,
        ),
    )
}
