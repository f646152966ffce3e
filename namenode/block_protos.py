"""The block manager's values as HDFS protos, for both front ends that speak about blocks: Hadoop IPC
(clients) and gRPC (datanodes).

The encoding of blocks and located blocks is the shared one in hopsfs/protocol/located_blocks.py
(the client encodes the same messages for reportBadBlocks); the namenode adds each datanode's load
figures to every location it sends.
"""

from __future__ import annotations

from hopsfs.protocol import located_blocks
from hopsfs.protocol.located_blocks import block_to_proto
from hopsfs.protocol.proto.datanode_namenode_pb2 import DatanodeCommandProto
from hopsfs.protocol.proto.hdfs_pb2 import (
    DatanodeInfoProto,
    ExtendedBlockProto,
    LocatedBlockProto,
    LocatedBlocksProto,
)
from namenode.block_entities import Block, DatanodeCommand, DatanodeInfo, LocatedBlock, LocatedBlocks


def block_from_proto(proto: ExtendedBlockProto) -> Block:
    return Block(proto.blockId, proto.generationStamp, proto.numBytes)


def fill_datanode_proto(proto: DatanodeInfoProto, datanode: DatanodeInfo) -> None:
    located_blocks.fill_datanode_proto(proto, datanode)
    proto.capacity = datanode.capacity
    proto.dfsUsed = datanode.used
    proto.remaining = datanode.remaining
    proto.blockPoolUsed = datanode.used
    proto.lastUpdate = datanode.last_heartbeat_ms
    proto.xceiverCount = datanode.active_transfers


def fill_located_block_proto(proto: LocatedBlockProto, located: LocatedBlock, pool_id: str) -> None:
    located_blocks.fill_located_block_proto(proto, located, pool_id, fill_datanode_proto)


def located_block_to_proto(located: LocatedBlock, pool_id: str) -> LocatedBlockProto:
    return located_blocks.located_block_to_proto(located, pool_id, fill_datanode_proto)


def fill_located_blocks_proto(proto: LocatedBlocksProto, located: LocatedBlocks, pool_id: str) -> None:
    located_blocks.fill_located_blocks_proto(proto, located, pool_id, fill_datanode_proto)


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
