"""The namenode's block calls over Hadoop IPC: `AsyncClient`'s implementation of `BlockNamenode`.

A mixin so that `core.py` keeps the connection, retry and namespace logic and this module the
translation of block calls between hopsfs values and ClientNamenodeProtocol messages. Every call goes
through `AsyncClient._call` (failover, retries, at-most-once call ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar, cast

from google.protobuf.message import Message

from hopsfs.errors import FileNotFound
from hopsfs.invariants import check
from hopsfs.protocol import hdfs_values
from hopsfs.protocol.located_blocks import (
    DatanodeInfo,
    ExtendedBlock,
    LocatedBlock,
    LocatedBlocks,
    located_block_from_proto,
    located_block_to_proto,
    located_blocks_from_proto,
)
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.types import FileStatus

_ResponseT = TypeVar("_ResponseT", bound=Message)

# HDFS's CreateFlag bits.
CREATE_FLAG_CREATE = pb.CREATE
CREATE_FLAG_OVERWRITE = pb.OVERWRITE
APPEND_FLAG_APPEND = pb.APPEND


class BlockCalls:
    """Block calls for a class that provides `_call`, `client_name` and `umask` (AsyncClient)."""

    client_name: str
    umask: int

    async def _call(self, method: str, request: Message, response_type: type[Message]) -> Message:
        raise NotImplementedError

    async def _typed_call(self, method: str, request: Message, response_type: type[_ResponseT]) -> _ResponseT:
        response = await self._call(method, request, response_type)
        check(isinstance(response, response_type), f"{method} answered with its response type")
        return cast(_ResponseT, response)

    async def create_file(
        self,
        path: str,
        *,
        permission: int,
        overwrite: bool,
        create_parent: bool,
        replication: int,
        block_size: int,
    ) -> FileStatus:
        """create: a new empty file under this client's lease; the client's umask applies."""
        request = pb.CreateRequestProto(
            src=path,
            masked=hdfs_values.permission(permission & ~self.umask),
            clientName=self.client_name,
            createFlag=CREATE_FLAG_CREATE | (CREATE_FLAG_OVERWRITE if overwrite else 0),
            createParent=create_parent,
            replication=replication,
            blockSize=block_size,
        )
        response = await self._typed_call("create", request, pb.CreateResponseProto)
        if not response.HasField("fs"):
            raise FileNotFound(f"create of {path} answered without a file status")
        return hdfs_values.status_from_proto(response.fs, path)

    async def reopen_for_append(self, path: str) -> tuple[FileStatus, LocatedBlock | None]:
        request = pb.AppendRequestProto(src=path, clientName=self.client_name, flag=APPEND_FLAG_APPEND)
        response = await self._typed_call("append", request, pb.AppendResponseProto)
        if not response.HasField("stat"):
            raise FileNotFound(f"append to {path} answered without a file status")
        status = hdfs_values.status_from_proto(response.stat, path)
        last = located_block_from_proto(response.block) if response.HasField("block") else None
        return status, last

    async def get_block_locations(self, path: str, offset: int = 0, length: int = 2**62) -> LocatedBlocks:
        """Where the blocks overlapping [offset, offset + length) of the file are."""
        request = pb.GetBlockLocationsRequestProto(src=path, offset=offset, length=length)
        response = await self._typed_call("getBlockLocations", request, pb.GetBlockLocationsResponseProto)
        if not response.HasField("locations"):
            raise FileNotFound(f"File does not exist: {path}")
        return located_blocks_from_proto(response.locations)

    async def add_block(
        self,
        path: str,
        file_id: int,
        previous: ExtendedBlock | None,
        exclude: Sequence[DatanodeInfo],
    ) -> LocatedBlock:
        request = pb.AddBlockRequestProto(
            src=path,
            clientName=self.client_name,
            fileId=file_id,
            excludeNodes=[node.to_proto() for node in exclude],
        )
        if previous is not None:
            request.previous.CopyFrom(previous.to_proto())
        response = await self._typed_call("addBlock", request, pb.AddBlockResponseProto)
        return located_block_from_proto(response.block)

    async def abandon_block(self, path: str, file_id: int, block: ExtendedBlock) -> None:
        request = pb.AbandonBlockRequestProto(
            b=block.to_proto(), src=path, holder=self.client_name, fileId=file_id
        )
        await self._call("abandonBlock", request, pb.AbandonBlockResponseProto)

    async def complete(self, path: str, file_id: int, last: ExtendedBlock | None) -> bool:
        request = pb.CompleteRequestProto(src=path, clientName=self.client_name, fileId=file_id)
        if last is not None:
            request.last.CopyFrom(last.to_proto())
        response = await self._typed_call("complete", request, pb.CompleteResponseProto)
        return bool(response.result)

    async def update_block_for_pipeline(self, block: ExtendedBlock) -> LocatedBlock:
        request = pb.UpdateBlockForPipelineRequestProto(block=block.to_proto(), clientName=self.client_name)
        response = await self._typed_call(
            "updateBlockForPipeline", request, pb.UpdateBlockForPipelineResponseProto
        )
        return located_block_from_proto(response.block)

    async def update_pipeline(
        self, old_block: ExtendedBlock, new_block: ExtendedBlock, nodes: Sequence[DatanodeInfo]
    ) -> None:
        request = pb.UpdatePipelineRequestProto(
            clientName=self.client_name,
            oldBlock=old_block.to_proto(),
            newBlock=new_block.to_proto(),
            newNodes=[node.id_to_proto() for node in nodes],
            storageIDs=[node.storage_id for node in nodes],
        )
        await self._call("updatePipeline", request, pb.UpdatePipelineResponseProto)

    async def fsync(self, path: str, file_id: int, last_block_length: int) -> None:
        request = pb.FsyncRequestProto(
            src=path, client=self.client_name, lastBlockLength=last_block_length, fileId=file_id
        )
        await self._call("fsync", request, pb.FsyncResponseProto)

    async def report_bad_blocks(self, blocks: Sequence[LocatedBlock]) -> None:
        request = pb.ReportBadBlocksRequestProto(
            blocks=[located_block_to_proto(located, located.block.pool_id) for located in blocks]
        )
        await self._call("reportBadBlocks", request, pb.ReportBadBlocksResponseProto)

    async def recover_lease(self, path: str) -> bool:
        """Start recovering the lease of a file another (dead) writer left open; True once it is closed."""
        request = pb.RecoverLeaseRequestProto(src=path, clientName=self.client_name)
        response = await self._typed_call("recoverLease", request, pb.RecoverLeaseResponseProto)
        return bool(response.result)
