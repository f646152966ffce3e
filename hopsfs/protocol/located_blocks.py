"""Blocks, datanodes and block locations as hopsfs values <-> the HDFS protobuf messages that carry them.

The client decodes what the namenode sends (`located_blocks_from_proto`, `located_block_from_proto`) into
the frozen values below, and encodes what it sends back (`ExtendedBlock.to_proto`,
`DatanodeInfo.to_proto`, `located_block_to_proto` for reportBadBlocks). The namenode's front end
encodes its answers with the same `located_block_to_proto` / `located_blocks_to_proto`: those accept any
object with the attributes of the `*Values` protocols, so the engine's own value types (which carry no
block pool id: it is passed alongside) go in without a copy and without the engine importing protobuf.

Wire rules kept here (HDFS-WIRE-FACTS.md): `locs`, `storageTypes`, `storageIDs` and `isCached` are
parallel lists, one entry per replica; a closed file's answer has underConstruction false and
isLastBlockComplete true; every LocatedBlockProto carries a (here empty) block token, a required field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hopsfs.invariants import check
from hopsfs.protocol.proto.hdfs_pb2 import (
    DISK,
    DatanodeIDProto,
    DatanodeInfoProto,
    ExtendedBlockProto,
    LocatedBlockProto,
    LocatedBlocksProto,
)
from hopsfs.protocol.proto.security_pb2 import TokenProto


@dataclass(frozen=True, slots=True)
class ExtendedBlock:
    """A block as clients and datanodes name it: pool, id, generation stamp, and a length whose meaning
    depends on the message (bytes written so far, or the final length when a block is committed)."""

    pool_id: str
    block_id: int
    generation_stamp: int
    num_bytes: int = 0

    def __post_init__(self) -> None:
        check(self.block_id >= 0, "a block id is a uint64 on the wire")
        check(self.num_bytes >= 0, "a block length is never negative")

    @property
    def name(self) -> str:
        """HDFS's way of naming a block in messages: blk_<id>_<generation stamp>."""
        return f"blk_{self.block_id}_{self.generation_stamp}"

    def with_length(self, num_bytes: int) -> ExtendedBlock:
        return dataclasses.replace(self, num_bytes=num_bytes)

    def with_generation_stamp(self, generation_stamp: int) -> ExtendedBlock:
        return dataclasses.replace(self, generation_stamp=generation_stamp)

    def to_proto(self) -> ExtendedBlockProto:
        return ExtendedBlockProto(
            poolId=self.pool_id,
            blockId=self.block_id,
            generationStamp=self.generation_stamp,
            numBytes=self.num_bytes,
        )

    @classmethod
    def from_proto(cls, proto: ExtendedBlockProto) -> ExtendedBlock:
        return cls(proto.poolId, proto.blockId, proto.generationStamp, proto.numBytes)


@dataclass(frozen=True, slots=True)
class DatanodeInfo:
    """One datanode as a location of a replica: how to reach its DataTransferProtocol port, and the
    storage the replica is on (`storage_id`, from the parallel storageIDs list)."""

    uuid: str
    ip_address: str
    host_name: str
    transfer_port: int
    info_port: int = 0
    ipc_port: int = 0
    storage_id: str = ""

    @property
    def transfer_address(self) -> tuple[str, int]:
        """Where its DataTransferProtocol server listens (HDFS clients connect to the IP by default)."""
        return self.ip_address, self.transfer_port

    @property
    def transfer_name(self) -> str:
        """ "ip:port", as HDFS writes a datanode in firstBadLink and in messages."""
        return f"{self.ip_address}:{self.transfer_port}"

    def id_to_proto(self) -> DatanodeIDProto:
        return DatanodeIDProto(
            ipAddr=self.ip_address,
            hostName=self.host_name,
            datanodeUuid=self.uuid,
            xferPort=self.transfer_port,
            infoPort=self.info_port,
            ipcPort=self.ipc_port,
        )

    def to_proto(self) -> DatanodeInfoProto:
        return DatanodeInfoProto(id=self.id_to_proto())

    @classmethod
    def from_proto(cls, proto: DatanodeInfoProto, storage_id: str = "") -> DatanodeInfo:
        node = proto.id
        return cls(
            uuid=node.datanodeUuid,
            ip_address=node.ipAddr,
            host_name=node.hostName,
            transfer_port=node.xferPort,
            info_port=node.infoPort,
            ipc_port=node.ipcPort,
            storage_id=storage_id,
        )


@dataclass(frozen=True, slots=True)
class LocatedBlock:
    """A block of a file, where it starts in the file, and the datanodes holding a replica (best first)."""

    block: ExtendedBlock
    offset: int
    locations: tuple[DatanodeInfo, ...]
    corrupt: bool = False

    def __post_init__(self) -> None:
        check(self.offset >= 0, "a block starts at a non-negative file offset")

    @property
    def end(self) -> int:
        """The file offset just after the block's last byte (as far as its length is known)."""
        return self.offset + self.block.num_bytes


@dataclass(frozen=True, slots=True)
class LocatedBlocks:
    """getBlockLocations' answer: the blocks overlapping the asked range, in file order.

    For a file being written, `file_length` counts the completed blocks; the last block (`last_block`,
    not complete) may hold more bytes that readers can already see (`visible_length`)."""

    file_length: int
    blocks: tuple[LocatedBlock, ...]
    under_construction: bool
    last_block: LocatedBlock | None
    last_block_complete: bool

    @property
    def visible_length(self) -> int:
        """Bytes a reader may read: the file length, or for a file being written up to the end of its
        last block as the namenode knows it (HDFS asks a datanode; hopsfs trusts what fsync recorded)."""
        if self.under_construction and self.last_block is not None and not self.last_block_complete:
            return max(self.file_length, self.last_block.end)
        return self.file_length

    def all_blocks(self) -> tuple[LocatedBlock, ...]:
        """`blocks` plus the last block when the namenode sent it only as `last_block`."""
        last = self.last_block
        if last is None or any(located.block.block_id == last.block.block_id for located in self.blocks):
            return self.blocks
        if self.blocks and last.offset < self.blocks[-1].end:
            return self.blocks  # not the next block after those listed: a partial window
        return (*self.blocks, last)


# -- what the namenode's front end encodes (engine values need only these attributes) --------------


class BlockValues(Protocol):
    @property
    def block_id(self) -> int: ...
    @property
    def generation_stamp(self) -> int: ...
    @property
    def num_bytes(self) -> int: ...


class DatanodeValues(Protocol):
    @property
    def uuid(self) -> str: ...
    @property
    def storage_id(self) -> str: ...
    @property
    def host_name(self) -> str: ...
    @property
    def transfer_port(self) -> int: ...
    @property
    def info_port(self) -> int: ...


class LocatedBlockValues(Protocol):
    @property
    def block(self) -> BlockValues: ...
    @property
    def offset(self) -> int: ...
    @property
    def locations(self) -> Sequence[DatanodeValues]: ...
    @property
    def corrupt(self) -> bool: ...


class LocatedBlocksValues(Protocol):
    @property
    def file_length(self) -> int: ...
    @property
    def blocks(self) -> Sequence[LocatedBlockValues]: ...
    @property
    def under_construction(self) -> bool: ...
    @property
    def last_block(self) -> LocatedBlockValues | None: ...
    @property
    def last_block_complete(self) -> bool: ...


def block_to_proto(block: BlockValues, pool_id: str) -> ExtendedBlockProto:
    """An ExtendedBlockProto for an engine block (which does not know its pool) or an ExtendedBlock."""
    return ExtendedBlockProto(
        poolId=pool_id,
        blockId=block.block_id,
        generationStamp=block.generation_stamp,
        numBytes=block.num_bytes,
    )


def fill_datanode_proto(proto: DatanodeInfoProto, node: DatanodeValues) -> None:
    """A datanode's identity; an engine datanode registered one address, used as IP and host name."""
    if isinstance(node, DatanodeInfo):
        proto.CopyFrom(node.to_proto())
        return
    identity = proto.id
    identity.ipAddr = node.host_name
    identity.hostName = node.host_name
    identity.datanodeUuid = node.uuid
    identity.xferPort = node.transfer_port
    identity.infoPort = node.info_port
    identity.ipcPort = 0  # no ClientDatanodeProtocol: clients never dial it


def datanode_to_proto(node: DatanodeValues) -> DatanodeInfoProto:
    proto = DatanodeInfoProto()
    fill_datanode_proto(proto, node)
    return proto


# Fills one location's DatanodeInfoProto; the namenode adds its load figures (fill_datanode_proto first).
FillDatanode = Callable[[DatanodeInfoProto, Any], None]


def fill_located_block_proto(
    proto: LocatedBlockProto,
    located: LocatedBlockValues,
    pool_id: str,
    fill_datanode: FillDatanode = fill_datanode_proto,
) -> None:
    """Set `proto` in place (a listing fills entries made by `repeated.add()`)."""
    proto.b.CopyFrom(block_to_proto(located.block, pool_id))
    proto.offset = located.offset
    proto.corrupt = located.corrupt
    # Block tokens are off (no security on the data path yet): Hadoop sends an empty token.
    proto.blockToken.CopyFrom(TokenProto(identifier=b"", password=b"", kind="", service=""))
    for node in located.locations:
        fill_datanode(proto.locs.add(), node)
        proto.storageTypes.append(DISK)
        proto.storageIDs.append(node.storage_id)
        proto.isCached.append(False)
    check(len(proto.locs) == len(proto.storageIDs), "locations and storage ids are parallel lists")


def located_block_to_proto(
    located: LocatedBlockValues, pool_id: str, fill_datanode: FillDatanode = fill_datanode_proto
) -> LocatedBlockProto:
    proto = LocatedBlockProto()
    fill_located_block_proto(proto, located, pool_id, fill_datanode)
    return proto


def fill_located_blocks_proto(
    proto: LocatedBlocksProto,
    located: LocatedBlocksValues,
    pool_id: str,
    fill_datanode: FillDatanode = fill_datanode_proto,
) -> None:
    proto.fileLength = located.file_length
    proto.underConstruction = located.under_construction
    proto.isLastBlockComplete = located.last_block_complete
    for block in located.blocks:
        fill_located_block_proto(proto.blocks.add(), block, pool_id, fill_datanode)
    if located.last_block is not None:
        fill_located_block_proto(proto.lastBlock, located.last_block, pool_id, fill_datanode)


def located_blocks_to_proto(
    located: LocatedBlocksValues, pool_id: str, fill_datanode: FillDatanode = fill_datanode_proto
) -> LocatedBlocksProto:
    proto = LocatedBlocksProto()
    fill_located_blocks_proto(proto, located, pool_id, fill_datanode)
    return proto


# -- what the client decodes -----------------------------------------------------------------------


def located_block_from_proto(proto: LocatedBlockProto) -> LocatedBlock:
    storage_ids = list(proto.storageIDs)
    # Older servers may omit storage ids; a missing one is "unknown", not a reason to refuse.
    padded = storage_ids + [""] * (len(proto.locs) - len(storage_ids))
    locations = tuple(DatanodeInfo.from_proto(node, padded[index]) for index, node in enumerate(proto.locs))
    return LocatedBlock(ExtendedBlock.from_proto(proto.b), proto.offset, locations, proto.corrupt)


def _offset(located: LocatedBlock) -> int:
    return located.offset


def located_blocks_from_proto(proto: LocatedBlocksProto) -> LocatedBlocks:
    blocks = tuple(sorted((located_block_from_proto(block) for block in proto.blocks), key=_offset))
    last_block = located_block_from_proto(proto.lastBlock) if proto.HasField("lastBlock") else None
    return LocatedBlocks(
        file_length=proto.fileLength,
        blocks=blocks,
        under_construction=proto.underConstruction,
        last_block=last_block,
        last_block_complete=proto.isLastBlockComplete,
    )
