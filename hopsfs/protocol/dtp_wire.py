"""DataTransferProtocol wire primitives: constants, operation frames, data packets, acks and statuses.

Shapes (checked against Hadoop's Sender/Receiver, PacketHeader, PacketReceiver and PipelineAck):
- An operation: 2-byte big-endian version (28), 1-byte opcode, then the op's message varint-delimited.
- A response, a pipeline ack and a client read status: one varint-delimited message each.
- A data packet: 4-byte big-endian payload length (4 + checksum bytes + data bytes: it counts itself
  and not the header), 2-byte big-endian header length, PacketHeaderProto, the checksums, the data.

Bounds: a packet's payload length plus header length may not exceed `PACKET_SIZE_BYTES_MAX` (Hadoop's
PacketReceiver limit) and a header may not exceed `PACKET_HEADER_BYTES_MAX`; operation, response, ack
and read-status messages have their own maxima. Decoders raise RemoteProtocolError, encoders
LocalProtocolError; decoded values are checked before use and encoded ones before they are returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

from google.protobuf.message import Message

from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumSpec
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.ipc_wire import delimited, parse_proto, serialize
from hopsfs.protocol.proto import datatransfer_pb2
from hopsfs.protocol.proto.datatransfer_pb2 import (
    BlockOpResponseProto,
    ClientReadStatusProto,
    OpWriteBlockProto,
    PacketHeaderProto,
    PipelineAckProto,
    ReadOpChecksumInfoProto,
)

DATA_TRANSFER_VERSION = 28
OP_HEADER_BYTES = 3  # version (2) + opcode (1)
PAYLOAD_LENGTH_BYTES = 4
HEADER_LENGTH_BYTES = 2
PACKET_LENGTHS_BYTES = PAYLOAD_LENGTH_BYTES + HEADER_LENGTH_BYTES

# Hadoop's PacketReceiver.MAX_PACKET_SIZE (dfs.data.transfer.max.packet.size): payload + header length.
PACKET_SIZE_BYTES_MAX = 16 * 1024 * 1024
# Today's header is at most 27 bytes (every field fixed-width); a larger one is no HDFS peer's.
PACKET_HEADER_BYTES_MAX = 1024
PACKET_HEADER_PROTO_BYTES_MAX = 27
# Op messages carry a block, a token and the pipeline's targets: kilobytes; a MiB is generous.
OP_MESSAGE_BYTES_MAX = 1024 * 1024
RESPONSE_BYTES_MAX = 1024 * 1024
ACK_BYTES_MAX = 64 * 1024
READ_STATUS_BYTES_MAX = 64
# Packets a write may have outstanding (received or sent, not yet acked). HDFS clients keep at most
# 80 (dfs.client.write.max-packets-in-flight); the codec refuses to track more than this.
ACKS_PENDING_MAX = 1024

_StatusMessageT = TypeVar("_StatusMessageT", BlockOpResponseProto, ClientReadStatusProto)

SEQNO_HEARTBEAT = -1  # a write keep-alive: no data, acked like any packet
SEQNO_OUT_OF_BAND = -2  # an ack a datanode sends unasked (restart notice)
_SFIXED32_MAX = 2**31 - 1
_SFIXED64_MAX = 2**63 - 1
_STATUS_BITS_MASK = 0x0F  # a pipeline ack flag keeps the status in its low 4 bits

# Status values (datatransfer.proto's Status enum).
SUCCESS: int = datatransfer_pb2.SUCCESS
ERROR: int = datatransfer_pb2.ERROR
ERROR_CHECKSUM: int = datatransfer_pb2.ERROR_CHECKSUM
ERROR_INVALID: int = datatransfer_pb2.ERROR_INVALID
ERROR_EXISTS: int = datatransfer_pb2.ERROR_EXISTS
ERROR_ACCESS_TOKEN: int = datatransfer_pb2.ERROR_ACCESS_TOKEN
CHECKSUM_OK: int = datatransfer_pb2.CHECKSUM_OK
ERROR_UNSUPPORTED: int = datatransfer_pb2.ERROR_UNSUPPORTED
OOB_STATUSES = frozenset(
    {
        datatransfer_pb2.OOB_RESTART,
        datatransfer_pb2.OOB_RESERVED1,
        datatransfer_pb2.OOB_RESERVED2,
        datatransfer_pb2.OOB_RESERVED3,
    }
)
STATUS_VALUES = frozenset(datatransfer_pb2.Status.values())


class Opcode(IntEnum):
    """Hadoop's Op codes. hopsfs serves WRITE_BLOCK, READ_BLOCK and TRANSFER_BLOCK."""

    WRITE_BLOCK = 80
    READ_BLOCK = 81
    READ_METADATA = 82
    REPLACE_BLOCK = 83
    COPY_BLOCK = 84
    BLOCK_CHECKSUM = 85
    TRANSFER_BLOCK = 86
    REQUEST_SHORT_CIRCUIT_FDS = 87
    RELEASE_SHORT_CIRCUIT_FDS = 88
    REQUEST_SHORT_CIRCUIT_SHM = 89
    BLOCK_GROUP_CHECKSUM = 90
    CUSTOM = 127


SERVED_OPCODES = frozenset({Opcode.WRITE_BLOCK, Opcode.READ_BLOCK, Opcode.TRANSFER_BLOCK})
_OPCODE_VALUES = frozenset(int(opcode) for opcode in Opcode)
# A peer that negotiates SASL first sends this 4-byte magic number where we expect the version.
_SASL_MAGIC_PREFIX = (0xDEADBEEF >> 16).to_bytes(2, "big")

check(max(STATUS_VALUES) <= _STATUS_BITS_MASK, "pipeline acks carry a status in 4 bits")
check(SUCCESS == 0, "Hadoop's Status enum starts with SUCCESS = 0")
check(PACKET_HEADER_BYTES_MAX < 2**15, "Java reads the header length as a signed short")
check(PACKET_SIZE_BYTES_MAX < 2**31, "Java reads the payload length as a signed int")
check(OP_MESSAGE_BYTES_MAX < 2**32, "a delimited length is a 32-bit varint")


@dataclass(frozen=True, slots=True)
class PacketHeader:
    """PacketHeaderProto as values. A heartbeat has seqno -1 and no data; the last packet of a block
    (or of a read) has `last_packet_in_block` and no data."""

    offset_in_block: int
    seqno: int
    last_packet_in_block: bool
    data_length: int
    sync_block: bool = False

    @property
    def is_heartbeat(self) -> bool:
        return self.seqno == SEQNO_HEARTBEAT

    def to_proto(self) -> PacketHeaderProto:
        if (
            not -(2**63) <= self.offset_in_block <= _SFIXED64_MAX
            or not -(2**63) <= self.seqno <= _SFIXED64_MAX
        ):
            raise LocalProtocolError(f"packet header fields out of range: {self}")
        if not 0 <= self.data_length <= _SFIXED32_MAX:
            raise LocalProtocolError(f"packet data length {self.data_length} out of range")
        proto = PacketHeaderProto(
            offsetInBlock=self.offset_in_block,
            seqno=self.seqno,
            lastPacketInBlock=self.last_packet_in_block,
            dataLen=self.data_length,
        )
        # Like Hadoop, set syncBlock only when true: older readers expect the 25-byte header otherwise.
        if self.sync_block:
            proto.syncBlock = True
        return proto

    @classmethod
    def from_proto(cls, proto: PacketHeaderProto) -> PacketHeader:
        return cls(proto.offsetInBlock, proto.seqno, proto.lastPacketInBlock, proto.dataLen, proto.syncBlock)


@dataclass(frozen=True, slots=True)
class DecodedPacket:
    """A packet split into its parts; `checksums` and `data` are views into `wire`."""

    header: PacketHeader
    checksums: memoryview
    data: memoryview
    wire: bytes | bytearray


@dataclass(frozen=True, slots=True)
class Ack:
    """A PipelineAckProto as values: one status per datanode from the sender down the pipeline."""

    seqno: int
    statuses: tuple[int, ...]
    downstream_ack_time_ns: int

    @property
    def ok(self) -> bool:
        return all(status == SUCCESS for status in self.statuses)


def encode_op(opcode: Opcode, message: Message | bytes) -> bytes:
    """An operation frame: version, opcode, then the varint-delimited op message."""
    if opcode not in _OPCODE_VALUES:
        raise LocalProtocolError(f"unknown opcode {opcode}")
    body = serialize(message)
    if len(body) > OP_MESSAGE_BYTES_MAX:
        raise LocalProtocolError(f"op message of {len(body)} bytes exceeds {OP_MESSAGE_BYTES_MAX}")
    frame = DATA_TRANSFER_VERSION.to_bytes(2, "big") + bytes((int(opcode),)) + delimited(body)
    check(decode_op_header(frame[:OP_HEADER_BYTES]) == opcode, "an encoded op header decodes to its opcode")
    return frame


def decode_op_header(header: bytes) -> Opcode:
    """The opcode of a 3-byte op header; RemoteProtocolError on another version or an unknown opcode."""
    check(len(header) == OP_HEADER_BYTES, "an op header is 3 bytes")
    if header[:2] == _SASL_MAGIC_PREFIX:
        raise RemoteProtocolError(
            "peer starts a SASL data-transfer handshake; this datanode speaks plain DTP"
        )
    version = int.from_bytes(header[:2], "big", signed=True)
    if version != DATA_TRANSFER_VERSION:
        raise RemoteProtocolError(
            f"data transfer version {version} not supported (expected {DATA_TRANSFER_VERSION})"
        )
    if header[2] not in _OPCODE_VALUES:
        raise RemoteProtocolError(f"unknown data transfer opcode {header[2]}")
    return Opcode(header[2])


def encode_message(message: Message | bytes, size_max: int) -> bytes:
    """A varint-delimited message (response, ack, read status), refusing one over `size_max`."""
    body = serialize(message)
    if len(body) > size_max:
        raise LocalProtocolError(f"message of {len(body)} bytes exceeds {size_max}")
    return delimited(body)


def encode_packet(header: PacketHeader, checksums: bytes | memoryview, data: bytes | memoryview) -> bytes:
    """A whole data packet: lengths, header, checksums, data."""
    if header.data_length != len(data):
        raise LocalProtocolError(f"header says {header.data_length} data bytes, packet has {len(data)}")
    packet = b"".join((encode_packet_prefix(header, len(checksums)), checksums, data))
    check(len(packet) == packet_wire_length(packet[:PACKET_LENGTHS_BYTES]), "lengths describe the packet")
    return packet


def encode_packet_prefix(header: PacketHeader, checksums_length: int) -> bytes:
    """Lengths and header of a packet, for a sender that writes checksums and data itself (sendfile)."""
    header_bytes: bytes = header.to_proto().SerializeToString()
    check(len(header_bytes) <= PACKET_HEADER_PROTO_BYTES_MAX, "fixed-width header fields")
    if checksums_length < 0:
        raise LocalProtocolError(f"negative checksum length {checksums_length}")
    payload_length = PAYLOAD_LENGTH_BYTES + checksums_length + header.data_length
    if payload_length + len(header_bytes) > PACKET_SIZE_BYTES_MAX:
        raise LocalProtocolError(
            f"packet of {payload_length + len(header_bytes)} bytes exceeds {PACKET_SIZE_BYTES_MAX}"
        )
    return payload_length.to_bytes(4, "big") + len(header_bytes).to_bytes(2, "big") + header_bytes


def decode_packet_lengths(lengths: bytes, packet_size_bytes_max: int) -> int:
    """Bytes that follow a packet's 6 length bytes; RemoteProtocolError for lengths no packet has."""
    check(len(lengths) == PACKET_LENGTHS_BYTES, "packet lengths are 6 bytes")
    payload_length = int.from_bytes(lengths[:PAYLOAD_LENGTH_BYTES], "big", signed=True)
    header_length = int.from_bytes(lengths[PAYLOAD_LENGTH_BYTES:], "big", signed=True)
    if payload_length < PAYLOAD_LENGTH_BYTES:
        raise RemoteProtocolError(f"invalid packet payload length {payload_length}")
    if not 0 < header_length <= PACKET_HEADER_BYTES_MAX:
        raise RemoteProtocolError(f"invalid packet header length {header_length}")
    if payload_length + header_length > packet_size_bytes_max:
        raise RemoteProtocolError(
            f"packet of {payload_length + header_length} bytes exceeds the "
            f"{packet_size_bytes_max}-byte maximum"
        )
    return payload_length - PAYLOAD_LENGTH_BYTES + header_length


def packet_wire_length(lengths: bytes) -> int:
    """The whole packet's size on the wire, from its (already valid) 6 length bytes."""
    return PACKET_LENGTHS_BYTES + decode_packet_lengths(lengths, PACKET_SIZE_BYTES_MAX)


def decode_packet(wire: bytes | bytearray) -> DecodedPacket:
    """Split a whole packet (as the framing reader returns it) into header, checksums and data."""
    check(len(wire) >= PACKET_LENGTHS_BYTES, "the reader hands over whole packets")
    payload_length = int.from_bytes(wire[:PAYLOAD_LENGTH_BYTES], "big", signed=True)
    header_end = PACKET_LENGTHS_BYTES + int.from_bytes(wire[PAYLOAD_LENGTH_BYTES:PACKET_LENGTHS_BYTES], "big")
    check(len(wire) == header_end + payload_length - PAYLOAD_LENGTH_BYTES, "the reader checked the lengths")
    proto = parse_proto(PacketHeaderProto, wire[PACKET_LENGTHS_BYTES:header_end], "packet header")
    header = PacketHeader.from_proto(proto)
    if header.data_length < 0:
        raise RemoteProtocolError(f"negative packet data length {header.data_length}")
    checksums_length = payload_length - PAYLOAD_LENGTH_BYTES - header.data_length
    if checksums_length < 0:
        raise RemoteProtocolError(
            f"packet header claims {header.data_length} data bytes but the payload holds "
            f"{payload_length - PAYLOAD_LENGTH_BYTES}"
        )
    view = memoryview(wire).toreadonly()
    data_start = header_end + checksums_length
    return DecodedPacket(header, view[header_end:data_start], view[data_start:], wire)


def encode_ack(seqno: int, statuses: Sequence[int], downstream_ack_time_ns: int = 0) -> bytes:
    """A delimited PipelineAckProto: `reply` and `flag` both carry each status (no congestion bits)."""
    if not statuses:
        raise LocalProtocolError("an ack carries at least the sender's own status")
    for status in statuses:
        if status not in STATUS_VALUES:
            raise LocalProtocolError(f"unknown status {status}")
    if downstream_ack_time_ns < 0:
        raise LocalProtocolError("downstream ack time cannot be negative")
    ack = PipelineAckProto(
        seqno=seqno,
        reply=list(statuses),  # type: ignore[arg-type]
        flag=list(statuses),
        downstreamAckTimeNanos=downstream_ack_time_ns,
    )
    return encode_message(ack, ACK_BYTES_MAX)


def decode_ack(body: bytes) -> Ack:
    """An Ack from a PipelineAckProto body; flags (when present) are authoritative, as in Java."""
    proto = parse_proto(PipelineAckProto, body, "pipeline ack")
    replies = tuple(proto.reply)
    if not replies:
        raise RemoteProtocolError("pipeline ack without any reply")
    if proto.flag:
        if len(proto.flag) != len(replies):
            raise RemoteProtocolError(f"pipeline ack has {len(replies)} replies but {len(proto.flag)} flags")
        statuses = tuple(flag & _STATUS_BITS_MASK for flag in proto.flag)
    else:
        statuses = replies
    for status in statuses:
        if status not in STATUS_VALUES:
            raise RemoteProtocolError(f"pipeline ack carries unknown status {status}")
    return Ack(proto.seqno, statuses, proto.downstreamAckTimeNanos)


def decode_status_message(message_class: type[_StatusMessageT], body: bytes, what: str) -> _StatusMessageT:
    """A parsed response or read status whose `status` field must name a known Status."""
    message = parse_proto(message_class, body, what)
    status: int = message.status
    if status not in STATUS_VALUES:
        raise RemoteProtocolError(f"{what} carries unknown status {status}")
    return message


def read_response(spec: ChecksumSpec, chunk_offset: int, message: str | None = None) -> BlockOpResponseProto:
    """The SUCCESS answer to a READ_BLOCK: how packets are checksummed and where the first one starts."""
    if chunk_offset < 0:
        raise LocalProtocolError(f"negative chunk offset {chunk_offset}")
    response = BlockOpResponseProto(
        status=SUCCESS,  # type: ignore[arg-type]
        readOpChecksumInfo=ReadOpChecksumInfoProto(checksum=spec.to_proto(), chunkOffset=chunk_offset),
    )
    if message is not None:
        response.message = message
    return response


def error_response(status: int, message: str, first_bad_link: str | None = None) -> BlockOpResponseProto:
    """A failed operation's answer (the datanode closes the connection after sending it)."""
    if status not in STATUS_VALUES or status in (SUCCESS, CHECKSUM_OK):
        raise LocalProtocolError(f"{status} is not an error status")
    response = BlockOpResponseProto(status=status, message=message)  # type: ignore[arg-type]
    if first_bad_link is not None:
        response.firstBadLink = first_bad_link
    return response


def write_expects_response(request: OpWriteBlockProto) -> bool:
    """Whether a datanode answers this OP_WRITE_BLOCK before packets flow: only a client's pipeline
    setup is answered; a datanode replicating (empty client name) or a replica transfer is not."""
    if not request.header.clientName:
        return False
    return request.stage not in (
        OpWriteBlockProto.TRANSFER_RBW,
        OpWriteBlockProto.TRANSFER_FINALIZED,
    )


def chunk_offset_problem(read_offset: int, chunk_offset: int, bytes_per_checksum: int) -> str | None:
    """Why `chunk_offset` cannot start a read at `read_offset` (it must be the chunk boundary at or
    before it, as Java's reader insists), or None when it can."""
    if read_offset - bytes_per_checksum < chunk_offset <= read_offset:
        return None
    return f"chunk offset {chunk_offset} does not start the chunk holding read offset {read_offset}"


def status_name(status: int) -> str:
    """The Status enum name of `status`, or its number when unknown."""
    if status in STATUS_VALUES:
        return str(datatransfer_pb2.Status.Name(status))
    return str(status)
