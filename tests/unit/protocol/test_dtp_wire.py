"""Byte-exact DataTransferProtocol frames: every frame type built by the codec equals a byte string
assembled here by hand from the wire rules (big-endian lengths, little-endian fixed-width protobuf fields,
zigzag sint64), and the hand-assembled strings decode to the expected values."""

from __future__ import annotations

import pytest

from hopsfs.protocol import dtp_wire
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType
from hopsfs.protocol.dtp_wire import (
    Opcode,
    PacketHeader,
    decode_ack,
    decode_op_header,
    decode_packet,
    decode_packet_lengths,
    encode_ack,
    encode_message,
    encode_op,
    encode_packet,
    encode_packet_prefix,
)
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.proto import datatransfer_pb2, hdfs_pb2

CRC32C_SPEC = ChecksumSpec(ChecksumType.CRC32C, 512)

# ExtendedBlockProto{poolId "bp", blockId 5, generationStamp 7}
BLOCK_BYTES = bytes.fromhex("0a02 6270 1005 1807")
# ClientOperationHeaderProto{baseHeader{block}, clientName "c"}
CLIENT_HEADER_BYTES = bytes.fromhex("0a0a 0a08") + BLOCK_BYTES + bytes.fromhex("1201 63")
# ChecksumProto{CRC32C, 512}
CHECKSUM_BYTES = bytes.fromhex("0802 108004")


def client_header(client_name: str = "c") -> datatransfer_pb2.ClientOperationHeaderProto:
    block = hdfs_pb2.ExtendedBlockProto(poolId="bp", blockId=5, generationStamp=7)
    return datatransfer_pb2.ClientOperationHeaderProto(
        baseHeader=datatransfer_pb2.BaseHeaderProto(block=block), clientName=client_name
    )


def test_constants_follow_hadoop() -> None:
    assert dtp_wire.DATA_TRANSFER_VERSION == 28
    assert (Opcode.WRITE_BLOCK, Opcode.READ_BLOCK, Opcode.TRANSFER_BLOCK) == (80, 81, 86)
    assert dtp_wire.PACKET_SIZE_BYTES_MAX == 16 * 1024 * 1024
    assert dtp_wire.SEQNO_HEARTBEAT == -1
    status = datatransfer_pb2.Status
    assert [status.Value(name) for name in ("SUCCESS", "ERROR_CHECKSUM", "CHECKSUM_OK", "OOB_RESTART")] == [
        0,
        2,
        6,
        8,
    ]
    stages = datatransfer_pb2.OpWriteBlockProto.BlockConstructionStage
    assert stages.Value("PIPELINE_SETUP_CREATE") == 6 and stages.Value("TRANSFER_FINALIZED") == 8


def test_read_block_op_bytes() -> None:
    request = datatransfer_pb2.OpReadBlockProto(header=client_header(), offset=0, len=10)
    body = bytes.fromhex("0a0f") + CLIENT_HEADER_BYTES + bytes.fromhex("1000 180a")
    hand = bytes.fromhex("001c 51") + bytes((len(body),)) + body
    assert encode_op(Opcode.READ_BLOCK, request) == hand
    assert decode_op_header(hand[:3]) is Opcode.READ_BLOCK
    parsed = datatransfer_pb2.OpReadBlockProto.FromString(hand[4:])
    assert parsed == request
    assert parsed.sendChecksums is True  # the proto2 default, absent on the wire


def test_write_block_op_bytes() -> None:
    request = datatransfer_pb2.OpWriteBlockProto(
        header=client_header(),
        stage=datatransfer_pb2.OpWriteBlockProto.PIPELINE_SETUP_CREATE,
        pipelineSize=1,
        minBytesRcvd=0,
        maxBytesRcvd=0,
        latestGenerationStamp=7,
        requestedChecksum=CRC32C_SPEC.to_proto(),
    )
    body = (
        bytes.fromhex("0a0f")
        + CLIENT_HEADER_BYTES
        + bytes.fromhex("2006 2801 3000 3800 4007 4a05")
        + CHECKSUM_BYTES
    )
    hand = bytes.fromhex("001c 50") + bytes((len(body),)) + body
    assert encode_op(Opcode.WRITE_BLOCK, request) == hand
    assert dtp_wire.write_expects_response(request)


def test_write_expects_response_only_for_client_pipelines() -> None:
    stages = datatransfer_pb2.OpWriteBlockProto
    replication = stages(header=client_header(""), stage=stages.PIPELINE_SETUP_CREATE)
    transfer = stages(header=client_header(), stage=stages.TRANSFER_RBW)
    assert not dtp_wire.write_expects_response(replication)
    assert not dtp_wire.write_expects_response(transfer)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (bytes.fromhex("001b 51"), "version 27"),
        (bytes.fromhex("0009 51"), "version 9"),
        (bytes.fromhex("001c 4f"), "unknown data transfer opcode 79"),
        (bytes.fromhex("001c 5b"), "unknown data transfer opcode 91"),
        (bytes.fromhex("dead be"), "SASL"),
        (b"GET", "version"),
    ],
)
def test_op_headers_rejected(header: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        decode_op_header(header)


def test_success_and_read_responses_bytes() -> None:
    success = datatransfer_pb2.BlockOpResponseProto(status=dtp_wire.SUCCESS)
    assert encode_message(success, dtp_wire.RESPONSE_BYTES_MAX) == bytes.fromhex("02 0800")
    # status SUCCESS, readOpChecksumInfo{checksum{CRC32C, 512}, chunkOffset 512}
    body = bytes.fromhex("0800 220a 0a05") + CHECKSUM_BYTES + bytes.fromhex("108004")
    hand = bytes((len(body),)) + body
    read = dtp_wire.read_response(CRC32C_SPEC, 512)
    assert encode_message(read, dtp_wire.RESPONSE_BYTES_MAX) == hand
    parsed = datatransfer_pb2.BlockOpResponseProto.FromString(hand[1:])
    assert ChecksumSpec.from_proto(parsed.readOpChecksumInfo.checksum, "test") == CRC32C_SPEC
    assert parsed.readOpChecksumInfo.chunkOffset == 512


def test_error_response_refuses_success_statuses() -> None:
    with pytest.raises(LocalProtocolError):
        dtp_wire.error_response(dtp_wire.SUCCESS, "fine")
    response = dtp_wire.error_response(dtp_wire.ERROR_UNSUPPORTED, "no", first_bad_link="dn2:9866")
    assert (response.status, response.message, response.firstBadLink) == (7, "no", "dn2:9866")


def test_data_packet_bytes() -> None:
    data = b"123456789"
    header = PacketHeader(offset_in_block=512, seqno=3, last_packet_in_block=False, data_length=9)
    hand = (
        bytes.fromhex("00000011")  # payload length: 4 + 4 checksum bytes + 9 data bytes
        + bytes.fromhex("0019")  # header length 25
        + bytes.fromhex("09 0002000000000000")  # offsetInBlock 512, sfixed64 little-endian
        + bytes.fromhex("11 0300000000000000")  # seqno 3
        + bytes.fromhex("18 00")  # lastPacketInBlock false
        + bytes.fromhex("25 09000000")  # dataLen 9, sfixed32
        + bytes.fromhex("e3069283")  # CRC32C("123456789"), big-endian
        + data
    )
    assert encode_packet(header, bytes.fromhex("e3069283"), data) == hand
    assert decode_packet_lengths(hand[:6], dtp_wire.PACKET_SIZE_BYTES_MAX) == len(hand) - 6
    decoded = decode_packet(hand)
    assert decoded.header == header
    assert bytes(decoded.checksums) == bytes.fromhex("e3069283")
    assert bytes(decoded.data) == data


def test_heartbeat_and_last_packet_bytes() -> None:
    heartbeat = PacketHeader(0, dtp_wire.SEQNO_HEARTBEAT, False, 0)
    hand_heartbeat = bytes.fromhex("00000004 0019 09 0000000000000000 11 ffffffffffffffff 1800 25 00000000")
    assert encode_packet(heartbeat, b"", b"") == hand_heartbeat
    assert decode_packet(hand_heartbeat).header.is_heartbeat
    last = PacketHeader(9, 1, True, 0, sync_block=True)
    hand_last = bytes.fromhex("00000004 001b 09 0900000000000000 11 0100000000000000 1801 25 00000000 2801")
    assert encode_packet(last, b"", b"") == hand_last
    assert decode_packet(hand_last).header == last
    assert len(hand_last) - 6 == dtp_wire.PACKET_HEADER_PROTO_BYTES_MAX


def test_packet_prefix_is_the_packet_without_checksums_and_data() -> None:
    header = PacketHeader(0, 0, False, 1000)
    prefix = encode_packet_prefix(header, CRC32C_SPEC.checksums_length(1000))
    checksums = bytes(8)
    assert encode_packet(header, checksums, bytes(1000)) == prefix + checksums + bytes(1000)


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        (bytes.fromhex("00000003 0019"), "payload length 3"),
        (bytes.fromhex("80000000 0019"), "payload length -2147483648"),
        (bytes.fromhex("00000004 0000"), "header length 0"),
        (bytes.fromhex("00000004 8000"), "header length -32768"),
        (bytes.fromhex("00000004 0401"), "header length 1025"),
        (bytes.fromhex("01000000 0019"), "exceeds"),
    ],
)
def test_packet_lengths_rejected(lengths: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        decode_packet_lengths(lengths, dtp_wire.PACKET_SIZE_BYTES_MAX)


def test_packet_whose_data_length_exceeds_its_payload_is_rejected() -> None:
    header = PacketHeader(0, 0, False, 9).to_proto().SerializeToString()
    wire = (4 + 5).to_bytes(4, "big") + len(header).to_bytes(2, "big") + header + bytes(5)
    with pytest.raises(RemoteProtocolError, match="claims 9 data bytes"):
        decode_packet(wire)


def test_packet_header_missing_required_fields_is_rejected() -> None:
    header = bytes.fromhex("09 0000000000000000")  # offsetInBlock only
    wire = (4).to_bytes(4, "big") + len(header).to_bytes(2, "big") + header
    with pytest.raises(RemoteProtocolError, match="missing required fields"):
        decode_packet(wire)


def test_ack_bytes() -> None:
    # seqno 3 (zigzag 6), reply [SUCCESS, SUCCESS], downstreamAckTimeNanos 0, flag [0, 0] packed
    body = bytes.fromhex("0806 1000 1000 1800 22020000")
    hand = bytes((len(body),)) + body
    assert encode_ack(3, [dtp_wire.SUCCESS, dtp_wire.SUCCESS]) == hand
    ack = decode_ack(body)
    assert (ack.seqno, ack.statuses, ack.ok) == (3, (0, 0), True)
    heartbeat_ack = decode_ack(bytes.fromhex("0801 1000"))  # seqno -1 (zigzag 1), no flags
    assert (heartbeat_ack.seqno, heartbeat_ack.statuses) == (-1, (0,))


def test_ack_flags_win_over_replies() -> None:
    # reply [SUCCESS] but flag [ERROR_CHECKSUM | ECN bits]: Java reads the flag.
    ack = decode_ack(bytes.fromhex("0802 1000 2201") + bytes((0x20 | dtp_wire.ERROR_CHECKSUM,)))
    assert ack.statuses == (dtp_wire.ERROR_CHECKSUM,)
    assert not ack.ok


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (bytes.fromhex("0802"), "without any reply"),
        (bytes.fromhex("0802 1000 1000 220100"), "2 replies but 1 flags"),
        # proto2 enums are closed: an unknown reply value is dropped (kept as an unknown field).
        (bytes.fromhex("0802 100f"), "without any reply"),
        (bytes.fromhex("0802 1000 100f 22020000"), "1 replies but 2 flags"),
        (bytes.fromhex("0802 1000 22010e"), "unknown status 14"),
        (bytes.fromhex("1000"), "missing required fields"),
    ],
)
def test_bad_acks_rejected(body: bytes, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message):
        decode_ack(body)


def test_read_status_bytes() -> None:
    status = datatransfer_pb2.ClientReadStatusProto(status=dtp_wire.CHECKSUM_OK)
    assert encode_message(status, dtp_wire.READ_STATUS_BYTES_MAX) == bytes.fromhex("02 0806")
    parsed = dtp_wire.decode_status_message(
        datatransfer_pb2.ClientReadStatusProto, bytes.fromhex("0806"), "read status"
    )
    assert parsed.status == dtp_wire.CHECKSUM_OK
    # An unknown value of a closed proto2 enum leaves the required field unset.
    with pytest.raises(RemoteProtocolError, match="missing required fields: status"):
        dtp_wire.decode_status_message(datatransfer_pb2.ClientReadStatusProto, bytes.fromhex("080e"), "x")


def test_encoders_refuse_misuse() -> None:
    with pytest.raises(LocalProtocolError):
        encode_packet(PacketHeader(0, 0, False, 5), b"", b"1234")
    with pytest.raises(LocalProtocolError):
        encode_packet(PacketHeader(0, 0, False, dtp_wire.PACKET_SIZE_BYTES_MAX), b"", bytes(0))
    with pytest.raises(LocalProtocolError):
        encode_packet_prefix(PacketHeader(0, 0, False, dtp_wire.PACKET_SIZE_BYTES_MAX), 0)
    with pytest.raises(LocalProtocolError):
        encode_ack(0, [])
    with pytest.raises(LocalProtocolError):
        encode_ack(0, [99])
    with pytest.raises(LocalProtocolError):
        encode_message(b"x" * 65, dtp_wire.READ_STATUS_BYTES_MAX)
    with pytest.raises(LocalProtocolError, match="missing required fields"):
        encode_op(Opcode.READ_BLOCK, datatransfer_pb2.OpReadBlockProto())
