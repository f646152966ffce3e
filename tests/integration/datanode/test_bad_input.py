"""Bad input to a datanode: each gets a typed error response (or error ack), a log line, nothing stored,
and the server goes on serving every other connection."""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable

import pytest
from datanode_harness import (
    DtpClient,
    InProcessDatanode,
    read_request,
    write_request,
    write_whole_block,
)

from datanode.storage.errors import ReplicaNotFound
from hopsfs.protocol import dtp_wire
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType
from hopsfs.protocol.ipc_wire import decode_varint32
from hopsfs.protocol.proto import datatransfer_pb2 as dt

DATA = random.Random(5).randbytes(100_000)
NEGATIVE_ONE = 2**64 - 1  # what a Java client's -1L looks like in the uint64 field


@pytest.fixture
def written(datanode: InProcessDatanode) -> InProcessDatanode:
    write_whole_block(datanode.port, 42, 3, DATA)
    return datanode


@pytest.mark.parametrize(
    ("block_id", "genstamp", "offset", "length", "status", "words"),
    [
        (43, 3, 0, 10, dt.ERROR, "ReplicaNotFound"),
        (42, 4, 0, 10, dt.ERROR, "GenerationStampMismatch"),
        (42, 3, NEGATIVE_ONE, 10, dt.ERROR_INVALID, "negative offset"),
        (42, 3, 0, NEGATIVE_ONE, dt.ERROR_INVALID, "negative"),
        (42, 3, 99_990, 11, dt.ERROR_INVALID, "past the end"),
        (42, 3, 100_001, 0, dt.ERROR_INVALID, "past the end"),
    ],
)
def test_bad_reads_are_refused_with_a_typed_status(
    written: InProcessDatanode,
    caplog: pytest.LogCaptureFixture,
    block_id: int,
    genstamp: int,
    offset: int,
    length: int,
    status: int,
    words: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="hopsfs.datanode")
    with DtpClient(written.port) as client:
        result = client.read(read_request(block_id, genstamp, offset, length))
        assert result.response.status == status
        assert words in result.response.message
        assert client.sock.recv(10) == b""  # a refusal ends the connection
    assert any(
        "READ_BLOCK" in record.getMessage() and "refused" in record.getMessage() for record in caplog.records
    )
    with DtpClient(written.port) as client:  # the datanode still serves
        assert client.read_bytes(42, 3, 0, 100) == DATA[:100]


def test_a_wrong_checksum_from_a_client_is_acked_error_checksum_and_not_stored(
    datanode: InProcessDatanode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hopsfs.datanode")
    with DtpClient(datanode.port) as client:
        client.start_write(write_request(50, 1))
        client.send_data(DATA[:2048], packet_bytes=2048)
        good_checksums = client.codec._checksum_functions.compute(
            ChecksumSpec(ChecksumType.CRC32C), DATA[2048:4096]
        )
        bad = bytearray(good_checksums)
        bad[5] ^= 0x01  # the second chunk's checksum
        client.send(client.codec.send_packet(2048, DATA[2048:4096], checksums=bytes(bad))[1])
        acks = client.collect_acks()
    assert [ack.statuses for ack in acks] == [(dt.SUCCESS,), (dt.ERROR_CHECKSUM,)]
    assert datanode.store.get(50).length == 2048  # the bad packet left nothing behind
    assert any("not stored" in record.getMessage() for record in caplog.records)


def test_a_truncated_packet_stores_nothing(
    datanode: InProcessDatanode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hopsfs.datanode")
    with DtpClient(datanode.port) as client:
        client.start_write(write_request(51, 1))
        client.send_data(DATA[:1000], packet_bytes=1000)
        assert [ack.ok for ack in client.collect_acks()] == [True]
        _, frame = client.codec.send_packet(1000, DATA[1000:9000])
        client.send(frame[: len(frame) - 3000])
        client.sock.shutdown(socket.SHUT_WR)
        assert client.sock.recv(100) == b""  # the datanode hangs up
    assert _wait_for(lambda: datanode.store.get(51).length == 1000)
    assert any("blk_51" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("stream", "words"),
    [
        (b"\x00\x1c\x63\x00", "unknown data transfer opcode 99"),
        (b"GET / HTTP/1.1\r\n\r\n", "version"),
        (b"\x00\x1c\x51\x05garbage", "OpReadBlockProto"),
    ],
)
def test_garbage_gets_error_invalid_and_the_connection_ends(
    written: InProcessDatanode, caplog: pytest.LogCaptureFixture, stream: bytes, words: str
) -> None:
    caplog.set_level(logging.WARNING, logger="hopsfs.datanode")
    with socket.create_connection(("127.0.0.1", written.port), timeout=10) as sock:
        sock.sendall(stream)
        reply = _read_until_closed(sock)
    response = _response_of(reply)
    assert response.status == dt.ERROR_INVALID
    assert words in response.message
    assert any("bad request" in record.getMessage() for record in caplog.records)
    with DtpClient(written.port) as client:
        assert client.read_bytes(42, 3, 500, 500) == DATA[500:1000]


def test_an_unsupported_operation_is_refused(written: InProcessDatanode) -> None:
    body = dt.BaseHeaderProto(block=read_request(42, 3, 0, 0).header.baseHeader.block).SerializeToString()
    with socket.create_connection(("127.0.0.1", written.port), timeout=10) as sock:
        sock.sendall(dtp_wire.encode_op(dtp_wire.Opcode.COPY_BLOCK, body))
        reply = _read_until_closed(sock)
    assert _response_of(reply).status == dt.ERROR_UNSUPPORTED


def _other_pool(request: dt.OpWriteBlockProto) -> None:
    request.header.baseHeader.block.poolId = "BP-other"


def _null_checksum(request: dt.OpWriteBlockProto) -> None:
    request.requestedChecksum.CopyFrom(ChecksumSpec(ChecksumType.NULL).to_proto())


def _append_stage(request: dt.OpWriteBlockProto) -> None:
    request.stage = dt.OpWriteBlockProto.PIPELINE_SETUP_APPEND


def _streaming_stage(request: dt.OpWriteBlockProto) -> None:
    request.stage = dt.OpWriteBlockProto.DATA_STREAMING


def _existing_block(request: dt.OpWriteBlockProto) -> None:
    request.header.baseHeader.block.blockId = 42


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        (_other_pool, dt.ERROR, "block pool"),
        (_null_checksum, dt.ERROR_INVALID, "NULL"),
        (_append_stage, dt.ERROR, "ReplicaNotFound"),
        (_streaming_stage, dt.ERROR_INVALID, "DATA_STREAMING"),
        (_existing_block, dt.ERROR_EXISTS, "already"),
    ],
)
def test_bad_writes_are_refused_and_store_nothing(
    written: InProcessDatanode, change: Callable[[dt.OpWriteBlockProto], None], status: int, words: str
) -> None:
    request = write_request(60, 3)
    change(request)
    block_id = request.header.baseHeader.block.blockId
    with DtpClient(written.port) as client:
        response = client.start_write(request)
    assert response is not None and response.status == status
    assert words in response.message
    if block_id == 60:
        with pytest.raises(ReplicaNotFound):
            written.store.get(60)
    assert written.store.get(42).length == len(DATA)


def test_one_connection_failing_does_not_disturb_another_mid_write(written: InProcessDatanode) -> None:
    with DtpClient(written.port) as writer:
        writer.start_write(write_request(70, 1))
        writer.send_data(DATA[:50_000])
        with socket.create_connection(("127.0.0.1", written.port), timeout=10) as sock:
            sock.sendall(b"\xff" * 64)
            _read_until_closed(sock)
        with DtpClient(written.port) as reader:
            assert reader.read(read_request(99, 1, 0, 1)).response.status == dt.ERROR
        writer.send_data(DATA[50_000:], start_offset=50_000)
        acks = writer.finish_write(len(DATA))
    assert acks and all(ack.ok for ack in acks)
    with DtpClient(written.port) as reader:
        assert reader.read_bytes(70, 1, 0, len(DATA)) == DATA


def _response_of(reply: bytes) -> dt.BlockOpResponseProto:
    """The one delimited BlockOpResponseProto a refused connection carries, and nothing after it."""
    length, start = decode_varint32(reply, 0, len(reply), "response")
    assert len(reply) == start + length
    response = dt.BlockOpResponseProto()
    response.ParseFromString(reply[start:])
    return response


def _read_until_closed(sock: socket.socket) -> bytes:
    parts: list[bytes] = []
    while True:
        part = sock.recv(65536)
        if not part:
            return b"".join(parts)
        parts.append(part)


def _wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
