"""OP_READ_BLOCK against an in-process datanode over a real socket: ranges, several operations on one
connection, checksums as stored, reads of a replica being written."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from datanode_harness import (
    CRC32C,
    DtpClient,
    InProcessDatanode,
    read_request,
    write_request,
    write_whole_block,
)
from support.fake_namenode_grpc import FakeNamenode

from datanode.config import READ_PACKET_BYTES_DEFAULT
from hopsfs.protocol.dtp_checksum import compute_checksums
from hopsfs.protocol.dtp_codec import DataTransferClientConnection
from hopsfs.protocol.proto import datatransfer_pb2 as dt
from hopsfs.protocol.proto import hdfs_pb2

DATA = random.Random(11).randbytes(300_000)  # 585 whole chunks and a partial one


@pytest.fixture
def written(datanode: InProcessDatanode) -> InProcessDatanode:
    write_whole_block(datanode.port, 1001, 7, DATA)
    return datanode


@pytest.mark.parametrize(
    ("offset", "length"),
    [
        (0, len(DATA)),  # all of it
        (0, 512),  # one aligned chunk
        (1024, 70_000),  # aligned start, more than a packet
        (700, 1000),  # unaligned both ends
        (513, 0),  # empty, unaligned
        (512, 0),  # empty, aligned
        (len(DATA) - 1, 1),  # the last byte
        (len(DATA), 0),  # at the end
        (299_800, 200),  # inside the partial last chunk
    ],
)
def test_read_ranges_come_back_byte_for_byte(written: InProcessDatanode, offset: int, length: int) -> None:
    with DtpClient(written.port) as client:
        result = client.read(read_request(1001, 7, offset, length))
    assert result.response.status == dt.SUCCESS
    assert result.chunk_offset == offset - offset % 512
    start = offset - result.chunk_offset
    assert result.data[start : start + length] == DATA[offset : offset + length]
    # Whole chunks from the chunk offset: never past the replica, never short of the range.
    assert result.chunk_offset + len(result.data) >= offset + length
    assert result.chunk_offset + len(result.data) <= len(DATA)
    for packet in result.packets:
        assert len(packet.data) <= READ_PACKET_BYTES_DEFAULT
        assert bytes(packet.checksums) == compute_checksums(CRC32C, packet.data)


def test_several_operations_share_one_connection(written: InProcessDatanode) -> None:
    with DtpClient(written.port) as client:
        for offset, length in [(0, 10), (5000, 100_000), (299_999, 1), (0, len(DATA))]:
            assert client.read_bytes(1001, 7, offset, length) == DATA[offset : offset + length]
        # A write after reads on the same connection, then the write ends the connection.
        response, acks = client.write_block(write_request(1002, 1), DATA[:1000])
    assert response is not None and response.status == dt.SUCCESS
    assert [ack.ok for ack in acks] == [True, True]
    with DtpClient(written.port) as client:
        assert client.read_bytes(1002, 1, 0, 1000) == DATA[:1000]


def test_a_reader_that_skips_checksums_gets_none(written: InProcessDatanode) -> None:
    with DtpClient(written.port) as client:
        result = client.read(read_request(1001, 7, 100, 5000, checksums=False))
    assert result.response.readOpChecksumInfo.checksum.type == hdfs_pb2.CHECKSUM_NULL
    assert all(len(packet.checksums) == 0 for packet in result.packets)
    assert result.data[100:5100] == DATA[100:5100]


def test_an_older_stamp_reads_a_newer_replica(written: InProcessDatanode) -> None:
    with DtpClient(written.port) as client:
        assert client.read_bytes(1001, 3, 0, 100) == DATA[:100]


def test_a_replica_being_written_is_read_up_to_its_acknowledged_bytes(datanode: InProcessDatanode) -> None:
    writer = DtpClient(datanode.port)
    try:
        response = writer.start_write(write_request(1003, 1))
        assert response is not None and response.status == dt.SUCCESS
        writer.send_data(DATA[:1300], packet_bytes=1300)  # ends inside a chunk, like an hflush
        assert [ack.ok for ack in writer.collect_acks()] == [True]
        with DtpClient(datanode.port) as reader:
            assert reader.read_bytes(1003, 1, 0, 1300) == DATA[:1300]
            assert reader.read_bytes(1003, 1, 1100, 200) == DATA[1100:1300]
            past = reader.read(read_request(1003, 1, 0, 1301))
            assert past.response.status == dt.ERROR_INVALID
        # The writer goes on past the partial chunk; readers see the new acknowledged end.
        writer.send_data(DATA[1300:5000], start_offset=1300)
        assert [ack.ok for ack in writer.collect_acks()] == [True]
        with DtpClient(datanode.port) as reader:
            assert reader.read_bytes(1003, 1, 1000, 4000) == DATA[1000:5000]
        assert [ack.ok for ack in writer.finish_write(5000)] == [True]
    finally:
        writer.close()


def test_a_reader_reporting_a_checksum_error_makes_the_datanode_check_its_replica(
    written: InProcessDatanode, fake_namenode: FakeNamenode, tmp_path: Path
) -> None:
    with DtpClient(written.port) as client:  # the replica is fine: the reader's error is its own
        client.read(read_request(1001, 7, 0, 1000), status=dt.ERROR_CHECKSUM)
        assert client.read_bytes(1001, 7, 0, 10) == DATA[:10]
    (data_file,) = tmp_path.rglob("blk_1001")
    with data_file.open("r+b") as stream:
        stream.seek(70_000)
        stream.write(bytes([DATA[70_000] ^ 0xFF]))
    with DtpClient(written.port) as client:
        client.codec = DataTransferClientConnection(verify_checksums=False)  # sees the bad bytes as-is
        result = client.read(read_request(1001, 7, 65_536, 10_000), status=dt.ERROR_CHECKSUM)
        assert result.data[70_000 - 65_536] != DATA[70_000]
    fake_namenode.wait_for(lambda: fake_namenode.bad_blocks() == [1001] or None)
    with DtpClient(written.port) as client:
        assert client.read(read_request(1001, 7, 0, 10)).response.status == dt.ERROR
