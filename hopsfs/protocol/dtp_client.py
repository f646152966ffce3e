"""The client side of the sans-I/O DataTransferProtocol codec: operations and packets out; responses,
read packets and acks in.

`DataTransferClientConnection` is what a reader, a writer, or a datanode feeding the next datanode of a
pipeline speaks. `send_read_block` / `send_write_block` / `send_transfer_block` frame an operation;
`receive_data` turns the datanode's bytes into OperationResponse, PacketReceived and AckReceived events;
`send_packet`, `send_heartbeat` and `send_last_packet` frame write packets (checksums computed unless
given), `forward_packet` passes on a packet received from upstream unchanged; `send_read_status` ends
a read so the connection can carry the next operation.

Checks on what arrives mirror Java's reader and writer: a read's checksum info and chunk offset, read
packets with consecutive seqnos from 0 and contiguous offsets from the chunk offset, non-empty until the
empty last one, which may come only once the requested range is covered; one checksum per chunk, verified
when `verify_checksums` (ChecksumMismatch); acks in the order packets were sent (out-of-band acks,
seqno -2, pass through). An error response or a failed ack ends the connection (state CLOSED).
Bounds: responses, acks and packets have maxima checked from their length prefixes; at most
`acks_pending_max` packets may await acks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import Message

from hopsfs.protocol.dtp_checksum import (
    DEFAULT_CHECKSUM_FUNCTIONS,
    ChecksumFunctions,
    ChecksumSpec,
    verify_packet,
)
from hopsfs.protocol.dtp_events import (
    AckReceived,
    ClientEvent,
    OperationResponse,
    PacketReceived,
    TransferState,
)
from hopsfs.protocol.dtp_framing import BUFFERED_BYTES_MAX, TransferConnection, Unit, UnitSpec
from hopsfs.protocol.dtp_wire import (
    ACK_BYTES_MAX,
    ACKS_PENDING_MAX,
    CHECKSUM_OK,
    OOB_STATUSES,
    READ_STATUS_BYTES_MAX,
    RESPONSE_BYTES_MAX,
    SEQNO_HEARTBEAT,
    SEQNO_OUT_OF_BAND,
    STATUS_VALUES,
    DecodedPacket,
    Opcode,
    PacketHeader,
    chunk_offset_problem,
    decode_ack,
    decode_packet,
    decode_status_message,
    encode_message,
    encode_op,
    encode_packet,
    write_expects_response,
)
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.proto.datatransfer_pb2 import (
    BlockOpResponseProto,
    ClientReadStatusProto,
    OpReadBlockProto,
    OpTransferBlockProto,
    OpWriteBlockProto,
)

_IDLE = frozenset({TransferState.IDLE})
_WRITE_STREAMING = frozenset({TransferState.WRITE_STREAMING})
_READ_STATUS_DUE = frozenset({TransferState.READ_STATUS_DUE})


@dataclass(slots=True)
class _ReadExpectation:
    """What the next read packet must look like."""

    checksum: ChecksumSpec
    next_seqno: int
    next_offset: int
    # The read covers [offset, offset + len): data packets come until they reach it, then the empty one.
    end_offset: int


class DataTransferClientConnection(TransferConnection):
    """A reader's, writer's or upstream datanode's side of one DataTransferProtocol connection."""

    def __init__(
        self,
        *,
        verify_checksums: bool = True,
        checksum_functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS,
        buffered_bytes_max: int = BUFFERED_BYTES_MAX,
        acks_pending_max: int = ACKS_PENDING_MAX,
        take_packet_buffer: Callable[[int], bytearray | memoryview] = bytearray,
    ) -> None:
        super().__init__(
            verify_checksums=verify_checksums,
            checksum_functions=checksum_functions,
            buffered_bytes_max=buffered_bytes_max,
            acks_pending_max=acks_pending_max,
            take_packet_buffer=take_packet_buffer,
        )
        self._read_request: OpReadBlockProto | None = None
        self._read: _ReadExpectation | None = None
        self._write_checksum: ChecksumSpec | None = None
        self._next_seqno = 0

    def send_read_block(self, request: OpReadBlockProto) -> bytes:
        """OP_READ_BLOCK; the response and the packets follow."""
        frame = self._send_op(Opcode.READ_BLOCK, request)
        self._read_request = request
        self._set_state(TransferState.AWAITING_RESPONSE)
        return frame

    def send_write_block(self, request: OpWriteBlockProto, *, first_seqno: int = 0) -> bytes:
        """OP_WRITE_BLOCK. A client write awaits the response before packets; a datanode replicating
        (empty client name) or a replica transfer streams at once. `first_seqno` is the first packet's
        seqno (pipeline recovery resends from the first unacked one)."""
        if first_seqno < 0:
            raise LocalProtocolError(f"first seqno {first_seqno} is negative")
        try:
            checksum = ChecksumSpec.from_proto(request.requestedChecksum, "OpWriteBlockProto")
        except RemoteProtocolError as error:
            raise LocalProtocolError(str(error)) from error
        frame = self._send_op(Opcode.WRITE_BLOCK, request)
        self._write_checksum = checksum
        self._next_seqno = first_seqno
        if write_expects_response(request):
            self._set_state(TransferState.AWAITING_RESPONSE)
        else:
            self._set_state(TransferState.WRITE_STREAMING)
        return frame

    def send_transfer_block(self, request: OpTransferBlockProto) -> bytes:
        """OP_TRANSFER_BLOCK; the response comes once the datanode has copied the replica."""
        frame = self._send_op(Opcode.TRANSFER_BLOCK, request)
        self._set_state(TransferState.AWAITING_RESPONSE)
        return frame

    def send_packet(
        self,
        offset_in_block: int,
        data: bytes | memoryview,
        *,
        checksums: bytes | memoryview | None = None,
        sync_block: bool = False,
    ) -> tuple[int, bytes]:
        """The next write packet and its seqno. An empty one is an hflush with nothing new."""
        checksum = self._require_writing()
        if offset_in_block < 0:
            raise LocalProtocolError(f"negative packet offset {offset_in_block}")
        if checksums is None:
            checksums = self._checksum_functions.compute(checksum, data)
        elif len(checksums) != checksum.checksums_length(len(data)):
            raise LocalProtocolError(f"{len(checksums)} checksum bytes for {len(data)} data bytes")
        seqno = self._next_seqno
        frame = encode_packet(
            PacketHeader(offset_in_block, seqno, False, len(data), sync_block), checksums, data
        )
        self._admit(seqno)
        self._next_seqno += 1
        return seqno, frame

    def send_heartbeat(self) -> bytes:
        """A keep-alive packet (seqno -1, no data); the datanode acks it in turn."""
        self._require_writing()
        frame = encode_packet(PacketHeader(0, SEQNO_HEARTBEAT, False, 0), b"", b"")
        self._admit(SEQNO_HEARTBEAT)
        return frame

    def send_last_packet(self, offset_in_block: int, *, sync_block: bool = False) -> tuple[int, bytes]:
        """The empty packet that ends the block; its ack ends the write."""
        self._require_writing()
        seqno = self._next_seqno
        frame = encode_packet(PacketHeader(offset_in_block, seqno, True, 0, sync_block), b"", b"")
        self._admit(seqno)
        self._next_seqno += 1
        self._set_state(TransferState.WRITE_CLOSING)
        return seqno, frame

    def forward_packet(self, header: PacketHeader, wire: bytes | bytearray) -> bytes | bytearray:
        """A packet received from upstream, passed on unchanged (a datanode mirroring a pipeline write):
        its seqno is admitted like a packet sent here, and its last packet closes the write."""
        self._require_writing()
        if header.is_heartbeat:
            self._admit(SEQNO_HEARTBEAT)
            return wire
        if header.seqno < 0:
            raise LocalProtocolError(f"cannot forward a data packet with seqno {header.seqno}")
        self._admit(header.seqno)
        self._next_seqno = header.seqno + 1
        if header.last_packet_in_block:
            self._set_state(TransferState.WRITE_CLOSING)
        return wire

    def send_read_status(self, status: int = CHECKSUM_OK) -> bytes:
        """The verdict after a read's last packet: CHECKSUM_OK when checksums were verified, else SUCCESS."""
        self._require_state(_READ_STATUS_DUE, "send a read status")
        if status not in STATUS_VALUES:
            raise LocalProtocolError(f"unknown status {status}")
        frame = encode_message(ClientReadStatusProto(status=status), READ_STATUS_BYTES_MAX)  # type: ignore[arg-type]
        self._set_state(TransferState.IDLE)
        return frame

    def receive_data(self, data: bytes) -> list[ClientEvent]:
        """Feed received bytes (b"" at end of stream); return the events they complete, in order."""
        if not data:
            return [self._receive_end_of_stream()]
        return self._receive(data, self._next_spec, self._handle_unit)

    def received_into(self, count: int) -> list[ClientEvent]:
        """`count` bytes were received into the last `receive_target`; the events they complete."""
        return self._received_into(count, self._handle_unit)

    def _send_op(self, opcode: Opcode, request: Message) -> bytes:
        self._require_state(_IDLE, f"send {opcode.name}")
        frame = encode_op(opcode, request)
        self._opcode = opcode
        return frame

    def _require_writing(self) -> ChecksumSpec:
        self._require_state(_WRITE_STREAMING, "send a write packet")
        if self._write_checksum is None:
            raise LocalProtocolError("no write in progress")
        if len(self._acks_pending) >= self._acks_pending_max:
            raise LocalProtocolError(f"{self._acks_pending_max} packets already await acks")
        return self._write_checksum

    def _admit(self, seqno: int) -> None:
        self._acks_pending.append(seqno)

    def _next_spec(self) -> UnitSpec:
        if self._state is TransferState.AWAITING_RESPONSE:
            return UnitSpec("message", RESPONSE_BYTES_MAX, "block op response")
        if self._state in (TransferState.WRITE_STREAMING, TransferState.WRITE_CLOSING):
            return UnitSpec("message", ACK_BYTES_MAX, "pipeline ack")
        if self._state is TransferState.READ_STREAMING:
            return UnitSpec("packet", self._packet_size_max(), "read packet")
        return self._unexpected_bytes()

    def _handle_unit(self, unit: Unit) -> ClientEvent:
        if unit.kind == "packet":
            return self._handle_read_packet(decode_packet(unit.data))
        if self._state is TransferState.AWAITING_RESPONSE:
            response = decode_status_message(BlockOpResponseProto, unit.body, "block op response")
            return self._handle_response(OperationResponse(response))
        return self._handle_ack(unit.body)

    def _handle_response(self, event: OperationResponse) -> OperationResponse:
        if not event.ok:
            self._set_state(TransferState.CLOSED)
        elif self._opcode is Opcode.READ_BLOCK:
            self._read = self._read_expectation(event.response)
            self._set_state(TransferState.READ_STREAMING)
        elif self._opcode is Opcode.WRITE_BLOCK:
            self._set_state(TransferState.WRITE_STREAMING)
        else:
            self._set_state(TransferState.IDLE)
        return event

    def _read_expectation(self, response: BlockOpResponseProto) -> _ReadExpectation:
        request = self._read_request
        if request is None:
            raise LocalProtocolError("no read in progress")
        if not response.HasField("readOpChecksumInfo"):
            raise RemoteProtocolError("READ_BLOCK response without readOpChecksumInfo")
        info = response.readOpChecksumInfo
        checksum = ChecksumSpec.from_proto(info.checksum, "READ_BLOCK response")
        problem = chunk_offset_problem(request.offset, info.chunkOffset, checksum.bytes_per_checksum)
        if problem is not None:
            raise RemoteProtocolError(problem)
        end_offset = request.offset + request.len
        return _ReadExpectation(checksum, 0, info.chunkOffset, end_offset)

    def _handle_ack(self, body: bytes) -> AckReceived:
        ack = decode_ack(body)
        if ack.seqno == SEQNO_OUT_OF_BAND:
            if not any(status in OOB_STATUSES for status in ack.statuses):
                raise RemoteProtocolError(f"ack with seqno {SEQNO_OUT_OF_BAND} but no out-of-band status")
            return AckReceived(ack, out_of_band=True)
        if not self._acks_pending or self._acks_pending[0] != ack.seqno:
            expected = self._acks_pending[0] if self._acks_pending else None
            raise RemoteProtocolError(f"ack for seqno {ack.seqno}, but the next ack due is for {expected}")
        self._acks_pending.popleft()
        if not ack.ok:
            self._set_state(TransferState.CLOSED)
        elif self._state is TransferState.WRITE_CLOSING and not self._acks_pending:
            self._write_checksum = None
            self._set_state(TransferState.IDLE)
        return AckReceived(ack)

    def _handle_read_packet(self, packet: DecodedPacket) -> PacketReceived:
        expectation = self._read
        if expectation is None:
            raise LocalProtocolError("no read in progress")
        header = packet.header
        covered = expectation.next_offset >= expectation.end_offset
        if header.last_packet_in_block:
            if header.data_length != 0 or len(packet.checksums) != 0:
                raise RemoteProtocolError(f"last read packet carries {header.data_length} data bytes")
            if not covered:
                raise RemoteProtocolError(
                    f"read ended at offset {expectation.next_offset}, short of {expectation.end_offset}"
                )
            self._read = None
            self._set_state(TransferState.READ_STATUS_DUE)
            return PacketReceived(header, packet.checksums, packet.data, packet.wire)
        _check_read_header(header, expectation, covered)
        expected_length = expectation.checksum.checksums_length(header.data_length)
        if len(packet.checksums) != expected_length:
            raise RemoteProtocolError(
                f"read packet {header.seqno} has {len(packet.checksums)} checksum bytes, "
                f"expected {expected_length}"
            )
        if self._verify_checksums:
            verify_packet(
                expectation.checksum,
                header.seqno,
                header.offset_in_block,
                packet.data,
                packet.checksums,
                self._checksum_functions,
            )
        expectation.next_seqno += 1
        expectation.next_offset += header.data_length
        return PacketReceived(header, packet.checksums, packet.data, packet.wire)


def _check_read_header(header: PacketHeader, expectation: _ReadExpectation, covered: bool) -> None:
    """Java's reader rules for a data packet of a read (PacketHeader.sanityCheck, BlockReaderRemote)."""
    if header.data_length <= 0:
        raise RemoteProtocolError(f"read packet {header.seqno} is empty but not the last")
    if covered:
        raise RemoteProtocolError(f"read packet {header.seqno} after the requested range was covered")
    if header.seqno != expectation.next_seqno:
        raise RemoteProtocolError(f"read packet seqno {header.seqno}, expected {expectation.next_seqno}")
    if header.offset_in_block != expectation.next_offset:
        raise RemoteProtocolError(
            f"read packet at offset {header.offset_in_block}, expected {expectation.next_offset}"
        )
