"""The block manager's values as HDFS protos: blocks, datanodes, located blocks, datanode commands.

Shared by both front ends that speak about blocks: Hadoop IPC (clients) and gRPC (datanodes).
"""

from __future__ import annotations

from hopsfs.protocol.proto.datanode_namenode_pb2 import DatanodeCommandProto
from hopsfs.protocol.proto.hdfs_pb2 import (
    DatanodeInfoProto,
    ExtendedBlockProto,
    LocatedBlockProto,
    LocatedBlocksProto,
    StorageTypeProto,
)
from namenode.block_entities import Block, DatanodeCommand, DatanodeInfo, LocatedBlock, LocatedBlocks

_DISK = StorageTypeProto.Value("DISK")


def block_to_proto(block: Block, pool_id: str) -> ExtendedBlockProto:
    return ExtendedBlockProto(
        poolId=pool_id,
        blockId=block.block_id,
        generationStamp=block.generation_stamp,
        numBytes=block.num_bytes,
    )


def block_from_proto(proto: ExtendedBlockProto) -> Block:
    return Block(proto.blockId, proto.generationStamp, proto.numBytes)


def fill_datanode_proto(proto: DatanodeInfoProto, datanode: DatanodeInfo) -> None:
    identity = proto.id
    identity.ipAddr = datanode.host_name
    identity.hostName = datanode.host_name
    identity.datanodeUuid = datanode.uuid
    identity.xferPort = datanode.transfer_port
    identity.infoPort = datanode.info_port
    identity.ipcPort = 0  # no ClientDatanodeProtocol: clients never dial it
    proto.capacity = datanode.capacity
    proto.dfsUsed = datanode.used
    proto.remaining = datanode.remaining
    proto.blockPoolUsed = datanode.used
    proto.lastUpdate = datanode.last_heartbeat_ms
    proto.xceiverCount = datanode.active_transfers


def fill_located_block_proto(proto: LocatedBlockProto, located: LocatedBlock, pool_id: str) -> None:
    proto.b.CopyFrom(block_to_proto(located.block, pool_id))
    proto.offset = located.offset
    proto.corrupt = located.corrupt
    # Block tokens are off (no security on the data path yet): Hadoop sends an empty token.
    token = proto.blockToken
    token.identifier = b""
    token.password = b""
    token.kind = ""
    token.service = ""
    for datanode in located.locations:
        fill_datanode_proto(proto.locs.add(), datanode)
        proto.storageTypes.append(_DISK)
        proto.storageIDs.append(datanode.storage_id)
        proto.isCached.append(False)


def located_block_to_proto(located: LocatedBlock, pool_id: str) -> LocatedBlockProto:
    proto = LocatedBlockProto()
    fill_located_block_proto(proto, located, pool_id)
    return proto


def fill_located_blocks_proto(proto: LocatedBlocksProto, located: LocatedBlocks, pool_id: str) -> None:
    proto.fileLength = located.file_length
    proto.underConstruction = located.under_construction
    proto.isLastBlockComplete = located.last_block_complete
    for block in located.blocks:
        fill_located_block_proto(proto.blocks.add(), block, pool_id)
    if located.last_block is not None:
        fill_located_block_proto(proto.lastBlock, located.last_block, pool_id)


def command_to_proto(command: DatanodeCommand, pool_id: str) -> DatanodeCommandProto:
    proto = DatanodeCommandProto(kind=command.kind, commandId=command.command_id)  # type: ignore[arg-type]
    for block in command.blocks:
        proto.blocks.append(block_to_proto(block, pool_id))
    for target in command.targets:
        fill_datanode_proto(proto.targets.add(), target)
    if command.new_generation_stamp:
        proto.newGenerationStamp = command.new_generation_stamp
    if command.num_bytes is not None:
        proto.numBytes = command.num_bytes
    return proto
