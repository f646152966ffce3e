"""Events the DataTransferProtocol codec produces from received bytes, and the connection states.

Server side (a datanode): ReadBlockRequested, WriteBlockRequested, TransferBlockRequested,
UnsupportedOperation, PacketReceived (write packets and heartbeats), ReadStatusReceived,
ConnectionClosed. Client side (a reader or writer, or a datanode feeding the next one in a pipeline):
OperationResponse, PacketReceived (read packets), AckReceived, ConnectionClosed.

Events are immutable values. Operation messages are parsed and have every required field; packet
checksums and data are read-only views into the received packet's bytes (`wire`), which a datanode can
forward down the pipeline unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hopsfs.protocol.dtp_checksum import ChecksumSpec
from hopsfs.protocol.dtp_wire import SUCCESS, Ack, Opcode, PacketHeader
from hopsfs.protocol.proto.datatransfer_pb2 import (
    BlockOpResponseProto,
    OpReadBlockProto,
    OpTransferBlockProto,
    OpWriteBlockProto,
)


class TransferState(Enum):
    """Where a connection is between and within operations; `_set_state` validates every change."""

    # Between operations: a client may send one, a datanode waits for one. A clean place to close.
    IDLE = "idle"
    # An operation was sent (client) or received (datanode); the datanode's response is due.
    AWAITING_RESPONSE = "awaiting_response"
    # Write packets flow to the datanode, acks flow back.
    WRITE_STREAMING = "write_streaming"
    # The last packet of the block went out; acks are still due.
    WRITE_CLOSING = "write_closing"
    # Read packets flow from the datanode.
    READ_STREAMING = "read_streaming"
    # The last read packet went out; the reader's ClientReadStatusProto is due.
    READ_STATUS_DUE = "read_status_due"
    # The peer broke the protocol: a datanode may still send one error response or the acks owed.
    ERROR = "error"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ReadBlockRequested:
    """OP_READ_BLOCK: answer with `send_response` (a `read_response` to stream, an error to refuse)."""

    request: OpReadBlockProto


@dataclass(frozen=True, slots=True)
class WriteBlockRequested:
    """OP_WRITE_BLOCK. When `expects_response` (a client write) answer before packets come; otherwise
    (a datanode replicating, or a replica transfer) packets follow at once."""

    request: OpWriteBlockProto
    checksum: ChecksumSpec
    expects_response: bool


@dataclass(frozen=True, slots=True)
class TransferBlockRequested:
    """OP_TRANSFER_BLOCK (pipeline recovery): copy the replica to the targets, then answer."""

    request: OpTransferBlockProto


@dataclass(frozen=True, slots=True)
class UnsupportedOperation:
    """A Hadoop operation hopsfs does not serve: answer ERROR_UNSUPPORTED (the connection then ends)."""

    opcode: Opcode
    body: bytes


@dataclass(frozen=True, slots=True)
class PacketReceived:
    """A data packet (write packet, heartbeat or read packet) whose framing and checksums were checked."""

    header: PacketHeader
    checksums: memoryview
    data: memoryview
    wire: bytes | bytearray


@dataclass(frozen=True, slots=True)
class ReadStatusReceived:
    """The reader's verdict after the last packet (CHECKSUM_OK, or SUCCESS when it did not verify)."""

    status: int


@dataclass(frozen=True, slots=True)
class OperationResponse:
    """The datanode's BlockOpResponseProto to the operation in flight."""

    response: BlockOpResponseProto

    @property
    def ok(self) -> bool:
        return self.response.status == SUCCESS


@dataclass(frozen=True, slots=True)
class AckReceived:
    """A pipeline ack for `ack.seqno` (or an out-of-band notice when `out_of_band`)."""

    ack: Ack
    out_of_band: bool = False


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed its side cleanly, between messages."""


ServerEvent = (
    ReadBlockRequested
    | WriteBlockRequested
    | TransferBlockRequested
    | UnsupportedOperation
    | PacketReceived
    | ReadStatusReceived
    | ConnectionClosed
)
ClientEvent = OperationResponse | PacketReceived | AckReceived | ConnectionClosed
