"""The namenode's transfer server: small files stored inline, read over DataTransferProtocol the way
an HDFS client reads any block (ops/inline_blocks.py, namenode/inline_block_server.py), against a
real cluster on both metadata backends; and what it answers to reads it must refuse."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest
from support.data_cluster import DataCluster, payload
from support.raw_ipc import RawIpcClient

from hopsfs.protocol.dtp_client import DataTransferClientConnection
from hopsfs.protocol.dtp_events import ClientEvent, OperationResponse, PacketReceived
from hopsfs.protocol.dtp_wire import ERROR, ERROR_INVALID, ERROR_UNSUPPORTED, SUCCESS, Opcode, encode_op
from hopsfs.protocol.located_blocks import LocatedBlock
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.protocol.proto import datatransfer_pb2 as dt
from hopsfs.protocol.proto.hdfs_pb2 import CHECKSUM_CRC32C, ExtendedBlockProto

SOCKET_TIMEOUT_S = 10.0


@dataclass
class RawRead:
    status: int
    message: str
    chunk_offset: int = 0
    checksum_type: int = 0
    bytes_per_checksum: int = 0
    data: bytes = b""


class TransferConnection:
    """One blocking DataTransferProtocol connection to the namenode's transfer server."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S)
        self.codec = DataTransferClientConnection()
        self.pending: list[ClientEvent] = []

    def close(self) -> None:
        self.sock.close()

    def next_event(self) -> ClientEvent:
        while not self.pending:
            self.pending.extend(self.codec.receive_data(self.sock.recv(65536)))
        return self.pending.pop(0)

    def read(self, block: ExtendedBlockProto, offset: int, length: int, checksums: bool = True) -> RawRead:
        header = dt.ClientOperationHeaderProto(
            baseHeader=dt.BaseHeaderProto(block=block), clientName="DFSClient_raw"
        )
        request = dt.OpReadBlockProto(header=header, offset=offset, len=length, sendChecksums=checksums)
        self.sock.sendall(self.codec.send_read_block(request))
        response = self.next_event()
        assert isinstance(response, OperationResponse), response
        result = RawRead(response.response.status, response.response.message)
        if result.status != SUCCESS:
            return result
        checksum_info = response.response.readOpChecksumInfo
        result.chunk_offset = checksum_info.chunkOffset
        result.checksum_type = checksum_info.checksum.type
        result.bytes_per_checksum = checksum_info.checksum.bytesPerChecksum
        parts = []
        while True:
            event = self.next_event()
            assert isinstance(event, PacketReceived), event
            if event.header.last_packet_in_block:
                break
            parts.append(bytes(event.data))
        result.data = b"".join(parts)
        self.sock.sendall(self.codec.send_read_status())
        return result


def inline_block(data_cluster: DataCluster, path: str) -> LocatedBlock:
    with data_cluster.connect() as client:
        located = client.get_block_locations(path)
    (block,) = located.blocks
    return block


def block_proto(
    located: LocatedBlock, block_id: int | None = None, pool_id: str | None = None
) -> ExtendedBlockProto:
    block = located.block
    return ExtendedBlockProto(
        poolId=block.pool_id if pool_id is None else pool_id,
        blockId=block.block_id if block_id is None else block_id,
        generationStamp=block.generation_stamp,
        numBytes=block.num_bytes,
    )


def test_inline_file_is_one_block_on_the_namenode_read_in_any_range(data_cluster: DataCluster) -> None:
    # Catches: a small file HDFS clients cannot read (no block, a location that is a datanode, a
    # wrong length), ranges that are cut or shifted, checksums that do not match the bytes.
    data = payload(5_000, seed=3)
    with data_cluster.connect() as client:
        client.write_bytes("/small/a", data)
        assert client.inline_bytes("/small/a") == data
    located = inline_block(data_cluster, "/small/a")
    assert located.offset == 0 and located.block.num_bytes == len(data)
    (location,) = located.locations
    datanode_ports = {data_cluster.datanode_port(index) for index in data_cluster.datanode_indexes()}
    assert location.transfer_port not in datanode_ports
    connection = TransferConnection(location.transfer_port)
    try:
        for offset, length in [
            (0, 5_000),
            (0, 1),
            (511, 2),
            (512, 512),
            (4_999, 1),
            (1_000, 0),
            (100, 4_900),
        ]:
            result = connection.read(block_proto(located), offset, length)
            assert result.status == SUCCESS, result.message
            assert result.chunk_offset == offset - offset % 512
            start = result.chunk_offset
            assert result.data[offset - start : offset - start + length] == data[offset : offset + length]
        without_checksums = connection.read(block_proto(located), 0, 5_000, checksums=False)
        assert without_checksums.data == data
    finally:
        connection.close()
    with data_cluster.connect() as client:
        # The client's own block path reads it the same way (a ranged read skips readWithMetadata).
        assert client.read_bytes("/small/a", 1_000, 1_100) == data[1_000:1_100]


def test_listing_with_locations_places_inline_files_on_the_namenode(data_cluster: DataCluster) -> None:
    # Catches: Spark's listLocatedStatus failing on a directory that holds a small file.
    with data_cluster.connect() as client:
        client.write_bytes("/mixed/small", b"x" * 100)
        client.write_bytes("/mixed/empty", b"")
        big = payload(200_000, seed=4)
        client.write_bytes("/mixed/big", big)
        assert client.inline_bytes("/mixed/big") is None
    with RawIpcClient(namenode_address(data_cluster)) as raw:
        raw.handshake()
        listing = raw.call(
            "getListing", pb.GetListingRequestProto(src="/mixed", startAfter=b"", needLocation=True)
        ).message(pb.GetListingResponseProto)
    entries = {entry.path.decode(): entry for entry in listing.dirList.partialListing}
    small = entries["small"].locations
    assert small.fileLength == 100 and small.isLastBlockComplete
    assert [block.b.numBytes for block in small.blocks] == [100]
    assert entries["empty"].locations.fileLength == 0 and not entries["empty"].locations.blocks
    assert sum(block.b.numBytes for block in entries["big"].locations.blocks) == len(big)
    namenode_port = small.blocks[0].locs[0].id.xferPort
    assert all(loc.id.xferPort != namenode_port for loc in entries["big"].locations.blocks[0].locs)


def test_transfer_server_refuses_what_it_cannot_serve_and_keeps_serving(data_cluster: DataCluster) -> None:
    # Catches: a transfer server that crashes, hangs or answers SUCCESS on bad input, or serves a
    # file that has moved to blocks from stale bytes.
    data = payload(3_000, seed=5)
    with data_cluster.connect() as client:
        client.write_bytes("/refuse/a", data)
    located = inline_block(data_cluster, "/refuse/a")
    port = located.locations[0].transfer_port

    def read_once(block: ExtendedBlockProto, offset: int, length: int) -> RawRead:
        connection = TransferConnection(port)
        try:
            return connection.read(block, offset, length)
        finally:
            connection.close()

    past_end = read_once(block_proto(located), 2_000, 1_001)
    assert past_end.status == ERROR_INVALID and "past the end" in past_end.message
    assert read_once(block_proto(located), 2**64 - 1, 1).status == ERROR_INVALID  # Java's -1
    wrong_pool = read_once(block_proto(located, pool_id="BP-other"), 0, 10)
    assert wrong_pool.status == ERROR and "BP-other" in wrong_pool.message
    not_inline = read_once(block_proto(located, block_id=12345), 0, 10)
    assert not_inline.status == ERROR and "not an inline file" in not_inline.message
    missing = read_once(block_proto(located, block_id=located.block.block_id + 10_000), 0, 10)
    assert missing.status == ERROR and "no longer exists" in missing.message

    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(
            encode_op(
                Opcode.WRITE_BLOCK,
                dt.OpWriteBlockProto(
                    header=dt.ClientOperationHeaderProto(
                        baseHeader=dt.BaseHeaderProto(block=block_proto(located)), clientName="DFSClient_raw"
                    ),
                    stage=dt.OpWriteBlockProto.PIPELINE_SETUP_CREATE,
                    pipelineSize=1,
                    minBytesRcvd=0,
                    maxBytesRcvd=0,
                    latestGenerationStamp=1,
                    requestedChecksum=dt.ChecksumProto(type=2, bytesPerChecksum=512),
                ),
            )
        )
        response = _response_after_op(sock)
        assert response.status == ERROR_UNSUPPORTED
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_S) as sock:
        sock.sendall(b"\x00\x1c\x51" + b"\xff" * 40)  # READ_BLOCK with a body that is no proto
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass

    # Moved to blocks by an append: the old inline block is gone, the file reads from datanodes.
    with data_cluster.connect() as client, client.append("/refuse/a") as stream:
        stream.write(b"more")
    moved = read_once(block_proto(located), 0, 10)
    assert moved.status == ERROR and "no longer stored inline" in moved.message
    assert (
        read_once(block_proto(inline_block_or_none(data_cluster, "/refuse/b", data)), 0, 3_000).data == data
    )


def inline_block_or_none(data_cluster: DataCluster, path: str, data: bytes) -> LocatedBlock:
    with data_cluster.connect() as client:
        client.write_bytes(path, data)
    return inline_block(data_cluster, path)


def namenode_address(data_cluster: DataCluster) -> tuple[str, int]:
    host, port = data_cluster.url.removeprefix("hopsfs://").rsplit(":", 1)
    return host, int(port)


def _response_after_op(sock: socket.socket) -> dt.BlockOpResponseProto:
    """The varint-prefixed BlockOpResponseProto a refused operation gets, then end of stream."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    length, shift, position = 0, 0, 0
    while True:
        byte = received[position]
        length |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            break
        shift += 7
    return dt.BlockOpResponseProto.FromString(received[position : position + length])


@pytest.mark.parametrize("size", [1, 512, 4_096, 65_536])
def test_checksums_sent_are_crc32c_of_each_chunk(data_cluster: DataCluster, size: int) -> None:
    # Catches: checksums an HDFS client would reject (wrong type, chunking or byte order).
    data = payload(size, seed=size)
    with data_cluster.connect() as client:
        client.write_bytes(f"/crc/{size}", data)
    located = inline_block(data_cluster, f"/crc/{size}")
    connection = TransferConnection(located.locations[0].transfer_port)
    try:
        # The codec verifies every packet's checksums as it receives them; a mismatch raises.
        result = connection.read(block_proto(located), 0, size)
    finally:
        connection.close()
    assert (result.checksum_type, result.bytes_per_checksum) == (CHECKSUM_CRC32C, 512)
    assert result.data == data
