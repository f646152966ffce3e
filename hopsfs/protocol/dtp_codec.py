"""Sans-I/O DataTransferProtocol codec, the datanode's side: operations and packets in, responses, acks and
read packets out.

`DataTransferServerConnection` turns received bytes into events (ReadBlockRequested,
WriteBlockRequested, TransferBlockRequested, UnsupportedOperation, PacketReceived, ReadStatusReceived,
ConnectionClosed) and builds what a datanode sends (`send_response`, `send_ack`, `send_packet`,
`send_packet_header`, `send_last_packet`). `DataTransferClientConnection` (in `dtp_client`, re-exported
here) is the mirror image. Neither touches a socket, a clock or an event loop.

One connection carries operations one after another:
- READ_BLOCK: response (a `read_response`) -> data packets from the chunk offset, seqno 0, 1, ... ->
  an empty last packet -> the reader's ClientReadStatusProto -> IDLE. The reader may hang up instead.
- WRITE_BLOCK: response (client writes only) -> packets in, each acked in arrival order (heartbeats,
  seqno -1, too) -> the empty last packet -> its ack -> IDLE.
- TRANSFER_BLOCK: response once the replica is copied -> IDLE.
A response with an error status, or an ack with one, ends the connection (Hadoop closes it too).

Checks on what arrives: version 28 and a known opcode (after 3 bytes); op messages with every required
field and a known checksum; packet lengths (payload + header <= 16 MiB) before the body is buffered;
per packet: seqnos consecutive from the first data packet, heartbeats and last packets empty, offsets
never ahead of the data received, exactly one checksum per chunk, and (when `verify_checksums`) the
checksums themselves (ChecksumMismatch, after which the bad packet may still be acked ERROR_CHECKSUM).
Bounds: `acks_pending_max` packets may await an ack. Peers' violations raise RemoteProtocolError;
misuse of this API LocalProtocolError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.message import Message

from hopsfs.protocol.dtp_checksum import (
    DEFAULT_CHECKSUM_FUNCTIONS,
    ChecksumFunctions,
    ChecksumSpec,
    verify_packet,
)
from hopsfs.protocol.dtp_client import DataTransferClientConnection
from hopsfs.protocol.dtp_events import (
    PacketReceived,
    ReadBlockRequested,
    ReadStatusReceived,
    ServerEvent,
    TransferBlockRequested,
    TransferState,
    UnsupportedOperation,
    WriteBlockRequested,
)
from hopsfs.protocol.dtp_framing import BUFFERED_BYTES_MAX, TransferConnection, Unit, UnitSpec
from hopsfs.protocol.dtp_wire import (
    ACKS_PENDING_MAX,
    OP_HEADER_BYTES,
    OP_MESSAGE_BYTES_MAX,
    READ_STATUS_BYTES_MAX,
    RESPONSE_BYTES_MAX,
    SUCCESS,
    DecodedPacket,
    Opcode,
    PacketHeader,
    chunk_offset_problem,
    decode_op_header,
    decode_packet,
    decode_status_message,
    encode_ack,
    encode_message,
    encode_packet,
    encode_packet_prefix,
    write_expects_response,
)
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.ipc_wire import parse_proto, text_field
from hopsfs.protocol.proto.datatransfer_pb2 import (
    BlockOpResponseProto,
    ClientReadStatusProto,
    OpReadBlockProto,
    OpTransferBlockProto,
    OpWriteBlockProto,
)

__all__ = ["DataTransferClientConnection", "DataTransferServerConnection"]

_INT64_MAX = 2**63 - 1
_RESPONDING = frozenset({TransferState.AWAITING_RESPONSE})
_ACKING = frozenset({TransferState.WRITE_STREAMING, TransferState.WRITE_CLOSING})
_READ_STREAMING = frozenset({TransferState.READ_STREAMING})


@dataclass(slots=True)
class _WriteProgress:
    """What the packets of one write have established so far."""

    checksum: ChecksumSpec
    # Seqno the next data packet must carry; None until the first one (pipeline recovery resends
    # from the first unacked seqno, so a write may start anywhere).
    next_seqno: int | None = None
    # Highest block offset the data so far reached: a packet may rewind (a partial chunk is resent
    # after hflush) but never start beyond it.
    offset_high: int | None = None


@dataclass(slots=True)
class _ReadProgress:
    """Where the packets of one read have got to."""

    checksum: ChecksumSpec
    next_seqno: int
    next_offset: int
    # The read covers [offset, offset + len); packets may run on to the end of the chunk holding it.
    end_offset: int


class DataTransferServerConnection(TransferConnection):
    """A datanode's side of one DataTransferProtocol connection."""

    def __init__(
        self,
        *,
        verify_checksums: bool = True,
        checksum_functions: ChecksumFunctions = DEFAULT_CHECKSUM_FUNCTIONS,
        buffered_bytes_max: int = BUFFERED_BYTES_MAX,
        acks_pending_max: int = ACKS_PENDING_MAX,
    ) -> None:
        super().__init__(
            verify_checksums=verify_checksums,
            checksum_functions=checksum_functions,
            buffered_bytes_max=buffered_bytes_max,
            acks_pending_max=acks_pending_max,
        )
        self._request: Message | None = None
        self._write: _WriteProgress | None = None
        self._read: _ReadProgress | None = None

    def receive_data(self, data: bytes) -> list[ServerEvent]:
        """Feed received bytes (b"" at end of stream); return the events they complete, in order."""
        if not data:
            return [self._receive_end_of_stream()]
        return self._receive(data, self._next_spec, self._handle_unit)

    def send_response(self, response: BlockOpResponseProto) -> bytes:
        """The answer to the operation received. SUCCESS starts its data phase; an error ends the
        connection (also allowed after a RemoteProtocolError while an operation was being read)."""
        status = response.status
        if status == SUCCESS:
            self._require_state(_RESPONDING, "send a success response")
            frame = encode_message(response, RESPONSE_BYTES_MAX)
            self._start_data_phase(response)
            return frame
        if not (self._state in _RESPONDING or self._failed_in(frozenset({TransferState.IDLE}) | _RESPONDING)):
            raise LocalProtocolError(f"cannot send an error response in state {self._state.name}")
        frame = encode_message(response, RESPONSE_BYTES_MAX)
        self._set_state(TransferState.CLOSED)
        return frame

    def send_ack(self, seqno: int, statuses: Sequence[int], downstream_ack_time_ns: int = 0) -> bytes:
        """Ack the oldest unacked packet: this datanode's status, then those of the datanodes after it.
        Any status but SUCCESS ends the connection (the client recovers the pipeline on a new one)."""
        if not (self._state in _ACKING or self._failed_in(_ACKING)):
            raise LocalProtocolError(f"cannot send an ack in state {self._state.name}")
        if not self._acks_pending or self._acks_pending[0] != seqno:
            expected = self._acks_pending[0] if self._acks_pending else None
            raise LocalProtocolError(f"ack for seqno {seqno}, but the next ack due is for {expected}")
        frame = encode_ack(seqno, statuses, downstream_ack_time_ns)
        self._acks_pending.popleft()
        if any(status != SUCCESS for status in statuses):
            self._set_state(TransferState.CLOSED)
        elif self._state is TransferState.WRITE_CLOSING and not self._acks_pending:
            self._write = None
            self._set_state(TransferState.IDLE)
        return frame

    def send_packet(
        self, offset_in_block: int, data: bytes | memoryview, checksums: bytes | memoryview | None = None
    ) -> bytes:
        """The next read packet; `checksums` are computed when not given (a datanode normally passes
        those it stored with the block)."""
        progress = self._next_read_packet(offset_in_block, len(data))
        if checksums is None:
            checksums = self._checksum_functions.compute(progress.checksum, data)
        elif len(checksums) != progress.checksum.checksums_length(len(data)):
            raise LocalProtocolError(
                f"{len(checksums)} checksum bytes for {len(data)} data bytes under {progress.checksum}"
            )
        frame = encode_packet(
            PacketHeader(offset_in_block, progress.next_seqno, False, len(data)), checksums, data
        )
        self._advance_read(progress, len(data))
        return frame

    def send_packet_header(self, offset_in_block: int, data_length: int) -> bytes:
        """Lengths and header of the next read packet, for a sender that then writes exactly
        `checksums_length(data_length)` checksum bytes and `data_length` data bytes itself (sendfile)."""
        progress = self._next_read_packet(offset_in_block, data_length)
        header = PacketHeader(offset_in_block, progress.next_seqno, False, data_length)
        prefix = encode_packet_prefix(header, progress.checksum.checksums_length(data_length))
        self._advance_read(progress, data_length)
        return prefix

    def send_last_packet(self) -> bytes:
        """The empty packet that ends a read, once the requested range is covered."""
        self._require_state(_READ_STREAMING, "end a read")
        progress = self._read_progress()
        if progress.next_offset < progress.end_offset:
            raise LocalProtocolError(
                f"read covered up to {progress.next_offset}, short of the requested end {progress.end_offset}"
            )
        frame = encode_packet(PacketHeader(progress.next_offset, progress.next_seqno, True, 0), b"", b"")
        self._read = None
        self._set_state(TransferState.READ_STATUS_DUE)
        return frame

    def checksums_length(self, data_length: int) -> int:
        """Checksum bytes a read packet of `data_length` bytes carries (for `send_packet_header`)."""
        return self._read_progress().checksum.checksums_length(data_length)

    def _failed_in(self, states: frozenset[TransferState]) -> bool:
        return self._state is TransferState.ERROR and self._state_before_error in states

    def _next_spec(self) -> UnitSpec:
        if self._state is TransferState.IDLE:
            return UnitSpec("op", OP_MESSAGE_BYTES_MAX, "operation")
        if self._state is TransferState.WRITE_STREAMING:
            return UnitSpec("packet", self._packet_size_max(), "write packet")
        if self._state is TransferState.READ_STATUS_DUE:
            return UnitSpec("message", READ_STATUS_BYTES_MAX, "client read status")
        return self._unexpected_bytes()

    def _handle_unit(self, unit: Unit) -> ServerEvent:
        if unit.kind == "op":
            return self._handle_op(decode_op_header(unit.data[:OP_HEADER_BYTES]), unit.body)
        if unit.kind == "packet":
            return self._handle_write_packet(decode_packet(unit.data))
        status = decode_status_message(ClientReadStatusProto, unit.body, "client read status")
        self._set_state(TransferState.IDLE)
        return ReadStatusReceived(status.status)

    def _handle_op(self, opcode: Opcode, body: bytes) -> ServerEvent:
        event: ServerEvent
        if opcode is Opcode.READ_BLOCK:
            read_request = parse_proto(OpReadBlockProto, body, "OpReadBlockProto")
            _check_client_header(read_request)
            event = ReadBlockRequested(read_request)
            request: Message = read_request
        elif opcode is Opcode.WRITE_BLOCK:
            write_request = parse_proto(OpWriteBlockProto, body, "OpWriteBlockProto")
            _check_client_header(write_request)
            checksum = ChecksumSpec.from_proto(write_request.requestedChecksum, "OpWriteBlockProto")
            event = WriteBlockRequested(write_request, checksum, write_expects_response(write_request))
            self._write = _WriteProgress(checksum)
            request = write_request
        elif opcode is Opcode.TRANSFER_BLOCK:
            transfer_request = parse_proto(OpTransferBlockProto, body, "OpTransferBlockProto")
            _check_client_header(transfer_request)
            event = TransferBlockRequested(transfer_request)
            request = transfer_request
        else:
            self._opcode, self._request = opcode, None
            self._set_state(TransferState.AWAITING_RESPONSE)
            return UnsupportedOperation(opcode, body)
        self._opcode, self._request = opcode, request
        if isinstance(event, WriteBlockRequested) and not event.expects_response:
            self._set_state(TransferState.WRITE_STREAMING)
        else:
            self._set_state(TransferState.AWAITING_RESPONSE)
        return event

    def _start_data_phase(self, response: BlockOpResponseProto) -> None:
        """A SUCCESS response went out: enter what the operation does next."""
        request = self._request
        if self._opcode is Opcode.READ_BLOCK and isinstance(request, OpReadBlockProto):
            self._read = _read_progress(request, response)
            self._set_state(TransferState.READ_STREAMING)
        elif self._opcode is Opcode.WRITE_BLOCK and self._write is not None:
            self._set_state(TransferState.WRITE_STREAMING)
        elif self._opcode is Opcode.TRANSFER_BLOCK:
            self._set_state(TransferState.IDLE)
        else:
            raise LocalProtocolError(f"operation {self._opcode} cannot be answered with SUCCESS")

    def _handle_write_packet(self, packet: DecodedPacket) -> PacketReceived:
        progress = self._write_progress()
        header = packet.header
        if header.is_heartbeat:
            if header.data_length != 0 or header.last_packet_in_block or len(packet.checksums) != 0:
                raise RemoteProtocolError(f"heartbeat packet with content: {header}")
        else:
            _check_write_header(header, progress)
            expected_length = progress.checksum.checksums_length(header.data_length)
            if len(packet.checksums) != expected_length:
                raise RemoteProtocolError(
                    f"packet {header.seqno} has {len(packet.checksums)} checksum bytes, "
                    f"expected {expected_length}"
                )
            progress.next_seqno = header.seqno + 1
            end = header.offset_in_block + header.data_length
            progress.offset_high = end if progress.offset_high is None else max(progress.offset_high, end)
        if len(self._acks_pending) >= self._acks_pending_max:
            raise RemoteProtocolError(f"more than {self._acks_pending_max} packets awaiting acks")
        # Admitted before verification: a corrupt packet is still acked (ERROR_CHECKSUM) in its turn.
        self._acks_pending.append(header.seqno)
        if self._verify_checksums and header.data_length > 0:
            verify_packet(
                progress.checksum,
                header.seqno,
                header.offset_in_block,
                packet.data,
                packet.checksums,
                self._checksum_functions,
            )
        if header.last_packet_in_block:
            self._set_state(TransferState.WRITE_CLOSING)
        return PacketReceived(header, packet.checksums, packet.data, packet.wire)

    def _next_read_packet(self, offset_in_block: int, data_length: int) -> _ReadProgress:
        self._require_state(_READ_STREAMING, "send a read packet")
        progress = self._read_progress()
        if data_length <= 0:
            # Readers take an empty packet for the end of the read: only send_last_packet sends one.
            raise LocalProtocolError("a read packet carries data; end the read with send_last_packet")
        if offset_in_block != progress.next_offset:
            raise LocalProtocolError(
                f"read packet at offset {offset_in_block}, expected {progress.next_offset}"
            )
        if progress.next_offset >= progress.end_offset:
            raise LocalProtocolError("the requested range is covered; end the read with send_last_packet")
        chunk_size = progress.checksum.bytes_per_checksum
        chunk_end = -(-progress.end_offset // chunk_size) * chunk_size
        if offset_in_block + data_length > chunk_end:
            raise LocalProtocolError(
                f"read packet runs to {offset_in_block + data_length}, past the chunk end {chunk_end}"
            )
        return progress

    def _advance_read(self, progress: _ReadProgress, data_length: int) -> None:
        progress.next_seqno += 1
        progress.next_offset += data_length

    def _write_progress(self) -> _WriteProgress:
        if self._write is None:
            raise LocalProtocolError("no write in progress")
        return self._write

    def _read_progress(self) -> _ReadProgress:
        if self._read is None:
            raise LocalProtocolError("no read in progress")
        return self._read


def _check_client_header(request: OpReadBlockProto | OpWriteBlockProto | OpTransferBlockProto) -> None:
    """Strings a datanode logs and compares must be text; upb hands back bytes when they are not."""
    text_field(request.header.clientName, "client name")
    text_field(request.header.baseHeader.block.poolId, "block pool id")


def _check_write_header(header: PacketHeader, progress: _WriteProgress) -> None:
    """Hadoop's rules for a data packet of a write (PacketHeader.sanityCheck, BlockReceiver)."""
    if header.seqno < 0:
        raise RemoteProtocolError(f"negative seqno {header.seqno} on a data packet")
    if progress.next_seqno is not None and header.seqno != progress.next_seqno:
        raise RemoteProtocolError(f"packet seqno {header.seqno}, expected {progress.next_seqno}")
    if header.last_packet_in_block and header.data_length != 0:
        raise RemoteProtocolError(f"last packet of the block carries {header.data_length} data bytes")
    if not 0 <= header.offset_in_block <= _INT64_MAX - header.data_length:
        raise RemoteProtocolError(f"packet offset {header.offset_in_block} out of range")
    if progress.offset_high is not None and header.offset_in_block > progress.offset_high:
        raise RemoteProtocolError(
            f"packet at offset {header.offset_in_block} skips data: received up to {progress.offset_high}"
        )


def _read_progress(request: OpReadBlockProto, response: BlockOpResponseProto) -> _ReadProgress:
    """Check a read's SUCCESS response against its request; where its packets start and end."""
    if not response.HasField("readOpChecksumInfo"):
        raise LocalProtocolError("a READ_BLOCK success response needs readOpChecksumInfo")
    info = response.readOpChecksumInfo
    try:
        checksum = ChecksumSpec.from_proto(info.checksum, "read response")
    except RemoteProtocolError as error:
        raise LocalProtocolError(str(error)) from error
    problem = chunk_offset_problem(request.offset, info.chunkOffset, checksum.bytes_per_checksum)
    if problem is not None:
        raise LocalProtocolError(problem)
    return _ReadProgress(checksum, 0, info.chunkOffset, request.offset + request.len)
