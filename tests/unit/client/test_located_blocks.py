"""Block locations survive the trip through the HDFS protobuf messages both ways: the namenode's front
end encodes (engine-style values without a pool id, or the client's own), the client decodes."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from hopsfs.protocol.located_blocks import (
    DatanodeInfo,
    ExtendedBlock,
    LocatedBlock,
    LocatedBlocks,
    located_block_from_proto,
    located_block_to_proto,
    located_blocks_from_proto,
    located_blocks_to_proto,
)
from hopsfs.protocol.proto.hdfs_pb2 import DISK, LocatedBlocksProto

uint63 = st.integers(min_value=0, max_value=2**63 - 1)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@st.composite
def datanodes(draw: st.DrawFn) -> DatanodeInfo:
    ip = draw(st.sampled_from(["127.0.0.1", "10.0.0.7", "::1"]))
    return DatanodeInfo(
        uuid=draw(text),
        ip_address=ip,
        host_name=draw(text),
        transfer_port=draw(st.integers(min_value=1, max_value=65535)),
        info_port=draw(st.integers(min_value=0, max_value=65535)),
        ipc_port=draw(st.integers(min_value=0, max_value=65535)),
        storage_id=draw(text),
    )


@st.composite
def located_block_values(draw: st.DrawFn) -> LocatedBlock:
    block = ExtendedBlock("BP-1", draw(uint63), draw(uint63), draw(uint63))
    return LocatedBlock(
        block, draw(uint63), tuple(draw(st.lists(datanodes(), max_size=4))), draw(st.booleans())
    )


@given(located_block_values())
def test_a_located_block_decodes_to_what_was_encoded(located: LocatedBlock) -> None:
    proto = located_block_to_proto(located, "BP-1")
    assert list(proto.storageTypes) == [DISK] * len(located.locations)
    assert list(proto.isCached) == [False] * len(located.locations)
    assert located_block_from_proto(type(proto).FromString(proto.SerializeToString())) == located


@given(st.lists(located_block_values(), max_size=5), st.booleans(), uint63)
def test_located_blocks_decode_in_file_order(
    blocks: list[LocatedBlock], open_file: bool, length: int
) -> None:
    ordered = tuple(sorted(blocks, key=lambda block: block.offset))
    value = LocatedBlocks(length, ordered, open_file, ordered[-1] if ordered else None, not open_file)
    wire = LocatedBlocksProto.FromString(located_blocks_to_proto(value, "BP-1").SerializeToString())
    decoded = located_blocks_from_proto(wire)
    assert [block.offset for block in decoded.blocks] == [block.offset for block in ordered]
    assert (decoded.file_length, decoded.under_construction, decoded.last_block_complete) == (
        length,
        open_file,
        not open_file,
    )
    assert decoded.last_block == value.last_block


@dataclass(frozen=True)
class EngineBlock:
    block_id: int
    generation_stamp: int
    num_bytes: int


@dataclass(frozen=True)
class EngineDatanode:
    uuid: str
    storage_id: str
    host_name: str
    transfer_port: int
    info_port: int


@dataclass(frozen=True)
class EngineLocatedBlock:
    block: EngineBlock
    offset: int
    locations: list[EngineDatanode]
    corrupt: bool


def test_engine_values_encode_with_the_pool_id_passed_alongside() -> None:
    node = EngineDatanode("uuid-1", "DS-1", "127.0.0.1", 9866, 9864)
    located = EngineLocatedBlock(EngineBlock(7, 1001, 4096), 0, [node], False)
    decoded = located_block_from_proto(located_block_to_proto(located, "BP-42"))
    assert decoded.block == ExtendedBlock("BP-42", 7, 1001, 4096)
    assert decoded.locations == (DatanodeInfo("uuid-1", "127.0.0.1", "127.0.0.1", 9866, 9864, 0, "DS-1"),)
    assert decoded.locations[0].transfer_address == ("127.0.0.1", 9866)


def test_the_visible_length_of_a_file_being_written_includes_its_last_block() -> None:
    last = LocatedBlock(ExtendedBlock("BP", 2, 5, 300), 1024, ())
    first = LocatedBlock(ExtendedBlock("BP", 1, 5, 1024), 0, ())
    open_file = LocatedBlocks(1024, (first,), True, last, False)
    assert open_file.visible_length == 1324
    assert open_file.all_blocks() == (first, last)
    closed = LocatedBlocks(1324, (first, last), False, last, True)
    assert closed.visible_length == 1324
    assert closed.all_blocks() == (first, last)
