"""Unit tests of the sans-I/O DataTransferProtocol connections: whole exchanges (read, write, transfer,
replication, refusals), the codec against hand-assembled streams, and every rejection and misuse."""

from __future__ import annotations

import random

import pytest

from hopsfs.protocol import dtp_wire
from hopsfs.protocol.dtp_checksum import ChecksumMismatch, ChecksumSpec, ChecksumType, compute_checksums
from hopsfs.protocol.dtp_codec import DataTransferClientConnection, DataTransferServerConnection
from hopsfs.protocol.dtp_events import (
    AckReceived,
    ConnectionClosed,
    OperationResponse,
    PacketReceived,
    ReadBlockRequested,
    ReadStatusReceived,
    TransferBlockRequested,
    TransferState,
    UnsupportedOperation,
    WriteBlockRequested,
)
from hopsfs.protocol.dtp_wire import SUCCESS, Opcode, PacketHeader, encode_packet
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.proto import datatransfer_pb2, hdfs_pb2

CRC32C = ChecksumSpec(ChecksumType.CRC32C, 512)
STAGES = datatransfer_pb2.OpWriteBlockProto
DATA = random.Random(7).randbytes(150_000)


def client_header(client_name: str = "DFSClient_1") -> datatransfer_pb2.ClientOperationHeaderProto:
    block = hdfs_pb2.ExtendedBlockProto(poolId="BP-1", blockId=1073741825, generationStamp=1001)
    return datatransfer_pb2.ClientOperationHeaderProto(
        baseHeader=datatransfer_pb2.BaseHeaderProto(block=block), clientName=client_name
    )


def write_request(
    client_name: str = "DFSClient_1", stage: int = STAGES.PIPELINE_SETUP_CREATE, spec: ChecksumSpec = CRC32C
) -> datatransfer_pb2.OpWriteBlockProto:
    return datatransfer_pb2.OpWriteBlockProto(
        header=client_header(client_name),
        stage=stage,  # type: ignore[arg-type]
        pipelineSize=1,
        minBytesRcvd=0,
        maxBytesRcvd=0,
        latestGenerationStamp=1001,
        requestedChecksum=spec.to_proto(),
    )


def read_request(offset: int, length: int) -> datatransfer_pb2.OpReadBlockProto:
    return datatransfer_pb2.OpReadBlockProto(header=client_header(), offset=offset, len=length)


def success() -> datatransfer_pb2.BlockOpResponseProto:
    return datatransfer_pb2.BlockOpResponseProto(status=SUCCESS)


def writing_pair() -> tuple[DataTransferClientConnection, DataTransferServerConnection]:
    client, server = DataTransferClientConnection(), DataTransferServerConnection()
    (event,) = server.receive_data(client.send_write_block(write_request()))
    assert isinstance(event, WriteBlockRequested) and event.expects_response
    (answer,) = client.receive_data(server.send_response(success()))
    assert isinstance(answer, OperationResponse) and answer.ok
    return client, server


def reading_pair(
    offset: int, length: int
) -> tuple[DataTransferClientConnection, DataTransferServerConnection]:
    client, server = DataTransferClientConnection(), DataTransferServerConnection()
    (event,) = server.receive_data(client.send_read_block(read_request(offset, length)))
    assert isinstance(event, ReadBlockRequested)
    chunk_offset = offset - offset % 512
    client.receive_data(server.send_response(dtp_wire.read_response(CRC32C, chunk_offset)))
    return client, server


def test_write_exchange_with_heartbeat() -> None:
    client, server = writing_pair()
    assert server.state is TransferState.WRITE_STREAMING
    stream = b""
    for offset in range(0, len(DATA), 64_512):
        stream += client.send_packet(offset, DATA[offset : offset + 64_512])[1]
    stream += client.send_heartbeat()
    last_seqno, last = client.send_last_packet(len(DATA), sync_block=True)
    events = server.receive_data(stream + last)
    assert all(isinstance(event, PacketReceived) for event in events)
    packets = [event for event in events if isinstance(event, PacketReceived)]
    assert [packet.header.seqno for packet in packets] == [0, 1, 2, -1, 3]
    assert b"".join(bytes(packet.data) for packet in packets) == DATA
    assert packets[-1].header == PacketHeader(len(DATA), 3, True, 0, sync_block=True)
    assert server.state is TransferState.WRITE_CLOSING and server.acks_pending == (0, 1, 2, -1, 3)
    acks = b"".join(server.send_ack(seqno, [SUCCESS, SUCCESS]) for seqno in server.acks_pending)
    assert server.state is TransferState.IDLE
    received = client.receive_data(acks)
    assert [event.ack.seqno for event in received if isinstance(event, AckReceived)] == [0, 1, 2, -1, 3]
    assert client.state is TransferState.IDLE and last_seqno == 3


def test_packet_events_are_views_of_the_forwardable_wire_bytes() -> None:
    client, server = writing_pair()
    _, frame = client.send_packet(0, DATA[:1000])
    (event,) = server.receive_data(frame)
    assert isinstance(event, PacketReceived)
    assert event.wire == frame
    assert bytes(event.checksums) == compute_checksums(CRC32C, DATA[:1000])
    assert event.data.readonly and bytes(event.data) == DATA[:1000]


def test_read_exchange_then_reuse_for_a_write() -> None:
    client, server = reading_pair(offset=1000, length=5000)
    assert client.state is TransferState.READ_STREAMING
    stream = server.send_packet(512, DATA[512:4608]) + server.send_packet(4608, DATA[4608:6144])
    stream += server.send_last_packet()
    events = client.receive_data(stream)
    assert [(e.header.seqno, e.header.offset_in_block, e.header.data_length) for e in events] == [  # type: ignore[union-attr]
        (0, 512, 4096),
        (1, 4608, 1536),
        (2, 6144, 0),
    ]
    assert client.state is TransferState.READ_STATUS_DUE
    assert server.receive_data(client.send_read_status()) == [ReadStatusReceived(dtp_wire.CHECKSUM_OK)]
    assert client.state is server.state is TransferState.IDLE
    (event,) = server.receive_data(client.send_write_block(write_request()))
    assert isinstance(event, WriteBlockRequested)


def test_read_with_sendfile_style_packets() -> None:
    client, server = reading_pair(offset=0, length=1024)
    checksums = compute_checksums(CRC32C, DATA[:1024])
    assert server.checksums_length(1024) == len(checksums)
    stream = server.send_packet_header(0, 1024) + checksums + DATA[:1024] + server.send_last_packet()
    events = client.receive_data(stream)
    assert isinstance(events[0], PacketReceived) and bytes(events[0].data) == DATA[:1024]


def test_hand_assembled_read_stream_is_understood_by_the_client() -> None:
    client = DataTransferClientConnection()
    client.send_read_block(read_request(offset=3, length=6))
    response = bytes.fromhex("0d 0800 2209 0a05 0802 108004 1000")  # CRC32C/512, chunkOffset 0
    packet = (
        bytes.fromhex("00000011 0019 09 0000000000000000 11 0000000000000000 1800 25 09000000 e3069283")
        + b"123456789"
    )
    last = bytes.fromhex("00000004 0019 09 0900000000000000 11 0100000000000000 1801 25 00000000")
    events = client.receive_data(response + packet + last)
    assert isinstance(events[0], OperationResponse) and events[0].ok
    assert isinstance(events[1], PacketReceived) and bytes(events[1].data) == b"123456789"
    assert isinstance(events[2], PacketReceived) and events[2].header.last_packet_in_block
    assert client.send_read_status() == bytes.fromhex("02 0806")


def test_hand_assembled_write_stream_is_understood_by_the_server() -> None:
    server = DataTransferServerConnection()
    body = write_request().SerializeToString()
    op = bytes.fromhex("001c 50") + bytes((len(body),)) + body
    (event,) = server.receive_data(op)
    assert isinstance(event, WriteBlockRequested) and event.checksum == CRC32C
    assert server.send_response(success()) == bytes.fromhex("02 0800")
    packet = (
        bytes.fromhex("00000011 0019 09 0000000000000000 11 0000000000000000 1800 25 09000000 e3069283")
        + b"123456789"
    )
    (received,) = server.receive_data(packet)
    assert isinstance(received, PacketReceived) and received.header.data_length == 9
    assert server.send_ack(0, [SUCCESS]) == bytes.fromhex("09 0800 1000 1800 220100")


def test_replication_write_streams_without_a_response() -> None:
    client, server = DataTransferClientConnection(), DataTransferServerConnection()
    stream = client.send_write_block(write_request(client_name=""))
    assert client.state is TransferState.WRITE_STREAMING
    stream += client.send_packet(0, DATA[:700])[1] + client.send_last_packet(700)[1]
    events = server.receive_data(stream)
    assert isinstance(events[0], WriteBlockRequested) and not events[0].expects_response
    assert len(events) == 3 and server.state is TransferState.WRITE_CLOSING
    with pytest.raises(LocalProtocolError):
        server.send_response(success())


def test_transfer_block_exchange() -> None:
    client, server = DataTransferClientConnection(), DataTransferServerConnection()
    request = datatransfer_pb2.OpTransferBlockProto(header=client_header())
    (event,) = server.receive_data(client.send_transfer_block(request))
    assert isinstance(event, TransferBlockRequested) and event.request == request
    client.receive_data(server.send_response(success()))
    assert client.state is server.state is TransferState.IDLE


def test_unsupported_operation_is_refused_and_ends_the_connection() -> None:
    server = DataTransferServerConnection()
    body = datatransfer_pb2.BaseHeaderProto(block=client_header().baseHeader.block).SerializeToString()
    (event,) = server.receive_data(dtp_wire.encode_op(Opcode.COPY_BLOCK, body))
    assert isinstance(event, UnsupportedOperation) and event.opcode is Opcode.COPY_BLOCK
    with pytest.raises(LocalProtocolError):
        server.send_response(success())
    server.send_response(dtp_wire.error_response(dtp_wire.ERROR_UNSUPPORTED, "COPY_BLOCK"))
    assert server.state is TransferState.CLOSED


def test_error_response_closes_both_sides() -> None:
    client, server = DataTransferClientConnection(), DataTransferServerConnection()
    server.receive_data(client.send_read_block(read_request(0, 10)))
    refusal = server.send_response(dtp_wire.error_response(dtp_wire.ERROR_ACCESS_TOKEN, "bad token"))
    (event,) = client.receive_data(refusal)
    assert isinstance(event, OperationResponse) and not event.ok
    assert client.state is server.state is TransferState.CLOSED


def test_corrupt_write_packet_is_acked_error_checksum_in_its_turn() -> None:
    client, server = writing_pair()
    good = client.send_packet(0, DATA[:512])[1]
    bad = bytearray(client.send_packet(512, DATA[512:1536])[1])
    bad[-1] ^= 0x80  # the last data byte: chunk 1 of packet 1
    server.receive_data(good)
    with pytest.raises(ChecksumMismatch) as caught:
        server.receive_data(bytes(bad))
    assert (caught.value.seqno, caught.value.chunk_index, caught.value.offset_in_block) == (1, 1, 1024)
    assert server.state is TransferState.ERROR and server.acks_pending == (0, 1)
    with pytest.raises(LocalProtocolError):
        server.receive_data(b"more")
    acks = server.send_ack(0, [SUCCESS]) + server.send_ack(1, [dtp_wire.ERROR_CHECKSUM])
    assert server.state is TransferState.CLOSED
    events = client.receive_data(acks)
    assert [event.ack.ok for event in events if isinstance(event, AckReceived)] == [True, False]
    assert client.state is TransferState.CLOSED


def test_corrupt_read_packet_is_detected_unless_verification_is_off() -> None:
    for verify in (True, False):
        client = DataTransferClientConnection(verify_checksums=verify)
        server = DataTransferServerConnection()
        server.receive_data(client.send_read_block(read_request(0, 100)))
        client.receive_data(server.send_response(dtp_wire.read_response(CRC32C, 0)))
        packet = bytearray(server.send_packet(0, DATA[:100]))
        packet[-50] ^= 0x01
        if verify:
            with pytest.raises(ChecksumMismatch):
                client.receive_data(bytes(packet))
            assert client.state is TransferState.ERROR
        else:
            (event,) = client.receive_data(bytes(packet))
            assert isinstance(event, PacketReceived)


def write_packet(header: PacketHeader, data: bytes = b"", checksums: bytes | None = None) -> bytes:
    return encode_packet(header, compute_checksums(CRC32C, data) if checksums is None else checksums, data)


@pytest.mark.parametrize(
    ("packets", "message"),
    [
        ([PacketHeader(0, -1, False, 3)], "heartbeat packet with content"),
        ([PacketHeader(0, -5, False, 3)], "negative seqno"),
        ([PacketHeader(0, 0, False, 3), PacketHeader(3, 2, False, 3)], "seqno 2, expected 1"),
        ([PacketHeader(0, 0, True, 3)], "last packet of the block carries 3"),
        ([PacketHeader(0, 0, False, 3), PacketHeader(10, 1, False, 3)], "skips data"),
        ([PacketHeader(-1, 0, False, 3)], "offset -1 out of range"),
    ],
)
def test_bad_write_packets_are_rejected(packets: list[PacketHeader], message: str) -> None:
    _, server = writing_pair()
    stream = b"".join(write_packet(header, DATA[: header.data_length]) for header in packets)
    with pytest.raises(RemoteProtocolError, match=message):
        server.receive_data(stream)
    assert server.state is TransferState.ERROR


def test_write_packet_with_wrong_checksum_count_is_rejected() -> None:
    _, server = writing_pair()
    with pytest.raises(RemoteProtocolError, match="8 checksum bytes, expected 4"):
        server.receive_data(write_packet(PacketHeader(0, 0, False, 3), b"abc", bytes(8)))


def test_packets_may_rewind_to_resend_a_partial_chunk_and_start_anywhere() -> None:
    client, server = DataTransferClientConnection(), DataTransferServerConnection()
    server.receive_data(client.send_write_block(write_request(), first_seqno=40))
    client.receive_data(server.send_response(success()))
    stream = client.send_packet(1024, DATA[:700])[1]  # hflush of a partial chunk
    stream += client.send_packet(1024, DATA[:900])[1]  # the chunk again, grown
    stream += client.send_packet(1024, b"")[1]  # hflush with nothing new
    events = server.receive_data(stream)
    assert [event.header.seqno for event in events if isinstance(event, PacketReceived)] == [40, 41, 42]


def test_too_many_unacked_packets_are_refused() -> None:
    client = DataTransferClientConnection(acks_pending_max=2)
    server = DataTransferServerConnection(acks_pending_max=2)
    server.receive_data(client.send_write_block(write_request()))
    client.receive_data(server.send_response(success()))
    stream = client.send_packet(0, b"a")[1] + client.send_packet(1, b"b")[1]
    with pytest.raises(LocalProtocolError, match="2 packets already await acks"):
        client.send_packet(2, b"c")
    server.receive_data(stream)
    with pytest.raises(RemoteProtocolError, match="more than 2 packets"):
        server.receive_data(write_packet(PacketHeader(2, 2, False, 1), b"c"))


def test_acks_must_follow_packet_order() -> None:
    client, server = writing_pair()
    server.receive_data(client.send_packet(0, b"a")[1] + client.send_packet(1, b"b")[1])
    with pytest.raises(LocalProtocolError, match="next ack due is for 0"):
        server.send_ack(1, [SUCCESS])
    with pytest.raises(RemoteProtocolError, match="next ack due is for 0"):
        client.receive_data(dtp_wire.encode_ack(1, [SUCCESS]))


def test_out_of_band_acks_pass_through() -> None:
    client, _ = writing_pair()
    client.send_packet(0, b"a")
    (event,) = client.receive_data(dtp_wire.encode_ack(dtp_wire.SEQNO_OUT_OF_BAND, [8]))
    assert isinstance(event, AckReceived) and event.out_of_band
    assert client.acks_pending == (0,)
    with pytest.raises(RemoteProtocolError, match="no out-of-band status"):
        client.receive_data(dtp_wire.encode_ack(dtp_wire.SEQNO_OUT_OF_BAND, [SUCCESS]))


def test_silent_states_reject_bytes() -> None:
    client, server = DataTransferClientConnection(), DataTransferServerConnection()
    server.receive_data(client.send_read_block(read_request(0, 10)))
    with pytest.raises(RemoteProtocolError, match="AWAITING_RESPONSE, where it must wait"):
        server.receive_data(b"\x00")
    # A request broken while the op was pending may still be answered with an error.
    server.send_response(dtp_wire.error_response(dtp_wire.ERROR, "protocol error"))
    assert server.state is TransferState.CLOSED
    with pytest.raises(RemoteProtocolError, match="IDLE, where it must wait"):
        DataTransferClientConnection().receive_data(b"\x02\x08\x00")


def test_bad_op_can_be_answered_with_an_error() -> None:
    server = DataTransferServerConnection()
    with pytest.raises(RemoteProtocolError, match="version 27"):
        server.receive_data(bytes.fromhex("001b 51 00"))
    assert server.send_response(dtp_wire.error_response(dtp_wire.ERROR, "version")) != b""
    assert server.state is TransferState.CLOSED


def test_op_with_bad_checksum_or_missing_fields_is_rejected() -> None:
    bad_checksum = write_request()
    bad_checksum.requestedChecksum.bytesPerChecksum = 0
    with pytest.raises(RemoteProtocolError, match="bytesPerChecksum 0"):
        DataTransferServerConnection().receive_data(dtp_wire.encode_op(Opcode.WRITE_BLOCK, bad_checksum))
    missing = dtp_wire.DATA_TRANSFER_VERSION.to_bytes(2, "big") + bytes((81, 2)) + bytes.fromhex("1000")
    with pytest.raises(RemoteProtocolError, match="missing required fields: header"):
        DataTransferServerConnection().receive_data(missing)


def test_oversized_units_are_rejected_from_their_prefix() -> None:
    server = DataTransferServerConnection()
    with pytest.raises(RemoteProtocolError, match="exceeds the 1048576-byte maximum"):
        server.receive_data(bytes.fromhex("001c 51 81808040"))  # a 128 MiB op message
    assert server.buffered_bytes <= 8
    _, writer = writing_pair()
    with pytest.raises(RemoteProtocolError, match="exceeds the 16777216-byte maximum"):
        writer.receive_data(bytes.fromhex("01000000 0019"))
    small = DataTransferServerConnection(buffered_bytes_max=4096)
    small.receive_data(DataTransferClientConnection().send_write_block(write_request(client_name="")))
    with pytest.raises(RemoteProtocolError, match="exceeds the 4090-byte maximum"):
        small.receive_data(bytes.fromhex("00001000 0019"))


def test_end_of_stream_is_clean_only_between_units() -> None:
    client, server = writing_pair()
    frame = client.send_packet(0, DATA[:100])[1]
    server.receive_data(frame[:50])
    with pytest.raises(RemoteProtocolError, match="inside a message"):
        server.receive_data(b"")
    idle = DataTransferServerConnection()
    assert idle.receive_data(b"") == [ConnectionClosed()]
    reader, sender = reading_pair(0, 100)
    sender.send_packet(0, DATA[:100])
    assert reader.receive_data(b"") == [ConnectionClosed()]  # a reader may hang up mid-read


def test_read_misuse_is_refused() -> None:
    _, server = reading_pair(offset=1000, length=1000)
    with pytest.raises(LocalProtocolError, match="offset 0, expected 512"):
        server.send_packet(0, DATA[:512])
    with pytest.raises(LocalProtocolError, match="end the read with send_last_packet"):
        server.send_packet(512, b"")
    with pytest.raises(LocalProtocolError, match="short of the requested end 2000"):
        server.send_last_packet()
    with pytest.raises(LocalProtocolError, match="checksum bytes"):
        server.send_packet(512, DATA[:100], bytes(8))
    with pytest.raises(LocalProtocolError, match="past the chunk end 2048"):
        server.send_packet(512, DATA[:1537])
    server.send_packet(512, DATA[:1536])
    with pytest.raises(LocalProtocolError, match="requested range is covered"):
        server.send_packet(2048, DATA[:10])
    server.send_last_packet()
    with pytest.raises(LocalProtocolError):
        server.send_ack(0, [SUCCESS])


def test_read_response_must_match_the_request() -> None:
    server = DataTransferServerConnection()
    server.receive_data(DataTransferClientConnection().send_read_block(read_request(1000, 10)))
    with pytest.raises(LocalProtocolError, match="readOpChecksumInfo"):
        server.send_response(success())
    with pytest.raises(LocalProtocolError, match="chunk offset 0 does not start"):
        server.send_response(dtp_wire.read_response(CRC32C, 0))
    assert server.state is TransferState.AWAITING_RESPONSE


@pytest.mark.parametrize(
    ("packet", "message"),
    [
        (PacketHeader(0, 0, False, 0), "empty but not the last"),
        (PacketHeader(0, 1, False, 10), "seqno 1, expected 0"),
        (PacketHeader(512, 0, False, 10), "offset 512, expected 0"),
        (PacketHeader(0, 0, True, 0), "short of 100"),
    ],
)
def test_bad_read_packets_are_rejected(packet: PacketHeader, message: str) -> None:
    client, _ = reading_pair(offset=0, length=100)
    with pytest.raises(RemoteProtocolError, match=message):
        client.receive_data(write_packet(packet, DATA[: packet.data_length]))


def test_read_response_without_checksum_info_is_rejected() -> None:
    client = DataTransferClientConnection()
    client.send_read_block(read_request(0, 10))
    with pytest.raises(RemoteProtocolError, match="without readOpChecksumInfo"):
        client.receive_data(bytes.fromhex("02 0800"))


def test_data_after_the_covered_range_is_rejected() -> None:
    client, server = reading_pair(offset=0, length=100)
    stream = server.send_packet(0, DATA[:512])
    extra = write_packet(PacketHeader(512, 1, False, 10), DATA[:10])
    with pytest.raises(RemoteProtocolError, match="after the requested range was covered"):
        client.receive_data(stream + extra)


def test_client_misuse_is_refused() -> None:
    client = DataTransferClientConnection()
    with pytest.raises(LocalProtocolError):
        client.send_packet(0, b"x")
    with pytest.raises(LocalProtocolError):
        client.send_read_status()
    bad = write_request(spec=CRC32C)
    bad.requestedChecksum.bytesPerChecksum = 0
    with pytest.raises(LocalProtocolError, match="bytesPerChecksum 0"):
        client.send_write_block(bad)
    assert client.state is TransferState.IDLE
    client.send_read_block(read_request(0, 1))
    with pytest.raises(LocalProtocolError):
        client.send_read_block(read_request(0, 1))


def test_a_mirroring_datanode_forwards_packets_unchanged_and_tracks_their_acks() -> None:
    upstream_client, upstream_server = writing_pair()
    mirror = DataTransferClientConnection()
    mirror.send_write_block(write_request(client_name=""))  # replication: streams at once
    frames = [
        upstream_client.send_packet(0, DATA[:1000])[1],
        upstream_client.send_heartbeat(),
        upstream_client.send_last_packet(1000)[1],
    ]
    received = [event for frame in frames for event in upstream_server.receive_data(frame)]
    forwarded = [mirror.forward_packet(event.header, event.wire) for event in received]  # type: ignore[union-attr]
    assert forwarded == frames  # byte for byte
    assert mirror.acks_pending == (0, dtp_wire.SEQNO_HEARTBEAT, 1)
    assert mirror.state is TransferState.WRITE_CLOSING
    with pytest.raises(LocalProtocolError):
        mirror.forward_packet(received[0].header, received[0].wire)  # type: ignore[union-attr]
