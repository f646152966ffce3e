"""The in-memory namespace served over real Hadoop IPC (the codec's server side), so the blocking client,
its RPC implementation of the block calls and `hopsfs dfs` run end to end against fake datanodes.

A test peer speaking the real wire protocol while the namenode's block methods are being built; its
answers are encoded with the same `hopsfs.protocol.located_blocks` / `hdfs_values` functions the
namenode's front end uses.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message
from memory_namenode import POOL_ID, MemoryNamespace

from hopsfs.errors import HopsFSError, hadoop_exception_class
from hopsfs.protocol import hdfs_values
from hopsfs.protocol.ipc_codec import Call, ConnectionClosed, SaslMessage, ServerConnection
from hopsfs.protocol.located_blocks import (
    DatanodeInfo,
    ExtendedBlock,
    located_block_from_proto,
    located_block_to_proto,
    located_blocks_to_proto,
)
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.protocol.proto.hdfs_pb2 import DirectoryListingProto

Handler = Callable[[MemoryNamespace, Any], Message]


class FakeIpcNamenode:
    def __init__(self, namespace: MemoryNamespace) -> None:
        self.namespace = namespace
        self.lease_renewals = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"hopsfs://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        codec = ServerConnection()
        try:
            while True:
                data = await reader.read(65536)
                for event in codec.receive_data(data):
                    if isinstance(event, ConnectionClosed):
                        return
                    if isinstance(event, SaslMessage):
                        writer.write(codec.answer_sasl_simple(event))
                    elif isinstance(event, Call):
                        writer.write(self._answer(codec, event))
                if not data:
                    return
        except (OSError, HopsFSError):
            pass
        finally:
            writer.close()

    def _answer(self, codec: ServerConnection, call: Call) -> bytes:
        if call.method_name == "renewLease":
            self.lease_renewals += 1
        entry = HANDLERS.get(call.method_name)
        if entry is None:
            return codec.error_response(
                call.call_id, "org.apache.hadoop.ipc.RpcNoSuchMethodException", call.method_name
            )
        request_type, handler = entry
        request = request_type.FromString(call.request_bytes)
        try:
            response = handler(self.namespace, request)
        except HopsFSError as error:
            return codec.error_response(call.call_id, hadoop_exception_class(error), str(error))
        return codec.success_response(call.call_id, response)


def _file_info(namespace: MemoryNamespace, request: pb.GetFileInfoRequestProto) -> Message:
    status = namespace.stat(request.src)
    if status is None:
        return pb.GetFileInfoResponseProto()
    return pb.GetFileInfoResponseProto(fs=hdfs_values.status_to_proto(status, local_name=False))


def _listing(namespace: MemoryNamespace, request: pb.GetListingRequestProto) -> Message:
    status = namespace.stat(request.src)
    if status is None:
        return pb.GetListingResponseProto()
    if not status.is_directory:
        entries = [hdfs_values.status_to_proto(status, local_name=False)]
    else:
        after = request.startAfter.decode()
        entries = [
            hdfs_values.status_to_proto(entry, local_name=True)
            for entry in namespace.list(request.src)
            if entry.name > after
        ]
    return pb.GetListingResponseProto(
        dirList=DirectoryListingProto(partialListing=entries, remainingEntries=0)
    )


def _create(namespace: MemoryNamespace, request: pb.CreateRequestProto) -> Message:
    status = namespace.create(
        request.src,
        request.clientName,
        permission=request.masked.perm,
        overwrite=bool(request.createFlag & pb.OVERWRITE),
        create_parent=request.createParent,
        replication=request.replication,
        block_size=request.blockSize,
    )
    return pb.CreateResponseProto(fs=hdfs_values.status_to_proto(status, local_name=False))


def _append(namespace: MemoryNamespace, request: pb.AppendRequestProto) -> Message:
    status, last = namespace.append(request.src, request.clientName)
    response = pb.AppendResponseProto(stat=hdfs_values.status_to_proto(status, local_name=False))
    if last is not None:
        response.block.CopyFrom(located_block_to_proto(last, POOL_ID))
    return response


def _add_block(namespace: MemoryNamespace, request: pb.AddBlockRequestProto) -> Message:
    previous = ExtendedBlock.from_proto(request.previous) if request.HasField("previous") else None
    exclude = [DatanodeInfo.from_proto(node) for node in request.excludeNodes]
    located = namespace.add_block(request.src, request.clientName, previous, exclude)
    return pb.AddBlockResponseProto(block=located_block_to_proto(located, POOL_ID))


def _complete(namespace: MemoryNamespace, request: pb.CompleteRequestProto) -> Message:
    last = ExtendedBlock.from_proto(request.last) if request.HasField("last") else None
    return pb.CompleteResponseProto(result=namespace.complete(request.src, request.clientName, last))


def _block_locations(namespace: MemoryNamespace, request: pb.GetBlockLocationsRequestProto) -> Message:
    located = namespace.block_locations(request.src, request.offset, request.length)
    return pb.GetBlockLocationsResponseProto(locations=located_blocks_to_proto(located, POOL_ID))


def _update_block(namespace: MemoryNamespace, request: pb.UpdateBlockForPipelineRequestProto) -> Message:
    located = namespace.update_block_for_pipeline(ExtendedBlock.from_proto(request.block), request.clientName)
    return pb.UpdateBlockForPipelineResponseProto(block=located_block_to_proto(located, POOL_ID))


def _update_pipeline(namespace: MemoryNamespace, request: pb.UpdatePipelineRequestProto) -> Message:
    namespace.update_pipeline(
        request.clientName,
        ExtendedBlock.from_proto(request.oldBlock),
        ExtendedBlock.from_proto(request.newBlock),
        [node.datanodeUuid for node in request.newNodes],
    )
    return pb.UpdatePipelineResponseProto()


def _abandon(namespace: MemoryNamespace, request: pb.AbandonBlockRequestProto) -> Message:
    namespace.abandon_block(request.src, request.holder, ExtendedBlock.from_proto(request.b))
    return pb.AbandonBlockResponseProto()


def _set_times(namespace: MemoryNamespace, request: pb.SetTimesRequestProto) -> Message:
    namespace.set_times(
        request.src, hdfs_values.from_uint64(request.mtime), hdfs_values.from_uint64(request.atime)
    )
    return pb.SetTimesResponseProto()


HANDLERS: dict[str, tuple[type[Message], Handler]] = {
    "getFileInfo": (pb.GetFileInfoRequestProto, _file_info),
    "getListing": (pb.GetListingRequestProto, _listing),
    "mkdirs": (
        pb.MkdirsRequestProto,
        lambda ns, r: pb.MkdirsResponseProto(result=ns.mkdirs(r.src, r.masked.perm, r.createParent)),
    ),
    "create": (pb.CreateRequestProto, _create),
    "append": (pb.AppendRequestProto, _append),
    "addBlock": (pb.AddBlockRequestProto, _add_block),
    "complete": (pb.CompleteRequestProto, _complete),
    "abandonBlock": (pb.AbandonBlockRequestProto, _abandon),
    "getBlockLocations": (pb.GetBlockLocationsRequestProto, _block_locations),
    "updateBlockForPipeline": (pb.UpdateBlockForPipelineRequestProto, _update_block),
    "updatePipeline": (pb.UpdatePipelineRequestProto, _update_pipeline),
    "reportBadBlocks": (
        pb.ReportBadBlocksRequestProto,
        lambda ns, r: (
            ns.report_bad_blocks([located_block_from_proto(b) for b in r.blocks])
            or pb.ReportBadBlocksResponseProto()
        ),
    ),
    "fsync": (
        pb.FsyncRequestProto,
        lambda ns, r: ns.fsync(r.src, r.client, r.lastBlockLength) or pb.FsyncResponseProto(),
    ),
    "renewLease": (pb.RenewLeaseRequestProto, lambda ns, r: pb.RenewLeaseResponseProto()),
    "getServerDefaults": (
        pb.GetServerDefaultsRequestProto,
        lambda ns, r: pb.GetServerDefaultsResponseProto(
            serverDefaults=hdfs_values.server_defaults(
                block_size=ns.block_size_default, replication=ns.replication_default
            )
        ),
    ),
    "delete": (
        pb.DeleteRequestProto,
        lambda ns, r: pb.DeleteResponseProto(result=ns.delete(r.src, r.recursive)),
    ),
    "rename2": (
        pb.Rename2RequestProto,
        lambda ns, r: ns.rename(r.src, r.dst, r.overwriteDest) or pb.Rename2ResponseProto(),
    ),
    "setReplication": (
        pb.SetReplicationRequestProto,
        lambda ns, r: pb.SetReplicationResponseProto(result=ns.set_replication(r.src, r.replication)),
    ),
    "setTimes": (pb.SetTimesRequestProto, _set_times),
    "setPermission": (
        pb.SetPermissionRequestProto,
        lambda ns, r: ns.set_permission(r.src, r.permission.perm) or pb.SetPermissionResponseProto(),
    ),
    "recoverLease": (
        pb.RecoverLeaseRequestProto,
        lambda ns, r: pb.RecoverLeaseResponseProto(result=ns.recover_lease(r.src)),
    ),
}
