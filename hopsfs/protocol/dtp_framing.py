"""Bounded incremental framing for DataTransferProtocol, and the state machine both connection sides share.

`UnitReader` cuts received bytes into units of three kinds, the kind asked for at each unit's first
byte: an operation (3-byte header, then a varint-delimited message), a varint-delimited message, or a
data packet (6 length bytes, then header, checksums and data). Every length is judged the moment its
prefix is complete, before any byte of what it announces is buffered, so the buffer never holds more
than one unit of at most `buffered_bytes_max` bytes; an op header is judged after 3 bytes, so a peer
speaking another protocol is turned away at once.

A data packet is assembled in a buffer of its exact size, allocated once its lengths are known, and
that buffer becomes the unit: its bytes are copied once on the way in and never again. A transport can
skip even that copy: `receive_target` is the rest of the packet being assembled, for the socket to
receive straight into, and `received_into` takes the count it wrote (the BufferedProtocol pattern).

`TransferConnection` owns the state (one `_set_state` validates every change), the reader and the receive
loop; `DataTransferServerConnection` and `DataTransferClientConnection` build on it. After a
RemoteProtocolError the state is ERROR and receiving again is a LocalProtocolError.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

from hopsfs.errors import InvariantViolation
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumFunctions
from hopsfs.protocol.dtp_events import ConnectionClosed, TransferState
from hopsfs.protocol.dtp_wire import (
    OP_HEADER_BYTES,
    PACKET_LENGTHS_BYTES,
    PACKET_SIZE_BYTES_MAX,
    Opcode,
    decode_op_header,
    decode_packet_lengths,
)
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.ipc_wire import VARINT32_BYTES_MAX, decode_varint32

UnitKind = Literal["op", "message", "packet"]
_EventT = TypeVar("_EventT")

# One maximal packet (its body plus the 6 length bytes): the most a connection ever holds.
BUFFERED_BYTES_MAX = PACKET_SIZE_BYTES_MAX + PACKET_LENGTHS_BYTES

_PREFIX_STEP = "prefix"
_VARINT_STEP = "varint"
_BODY_STEP = "body"

_TRANSITIONS: dict[TransferState, frozenset[TransferState]] = {
    TransferState.IDLE: frozenset(
        {
            TransferState.AWAITING_RESPONSE,
            TransferState.WRITE_STREAMING,
            TransferState.ERROR,
            TransferState.CLOSED,
        }
    ),
    TransferState.AWAITING_RESPONSE: frozenset(
        {
            TransferState.IDLE,
            TransferState.WRITE_STREAMING,
            TransferState.READ_STREAMING,
            TransferState.ERROR,
            TransferState.CLOSED,
        }
    ),
    TransferState.WRITE_STREAMING: frozenset(
        {TransferState.WRITE_CLOSING, TransferState.ERROR, TransferState.CLOSED}
    ),
    TransferState.WRITE_CLOSING: frozenset({TransferState.IDLE, TransferState.ERROR, TransferState.CLOSED}),
    TransferState.READ_STREAMING: frozenset(
        {TransferState.READ_STATUS_DUE, TransferState.ERROR, TransferState.CLOSED}
    ),
    TransferState.READ_STATUS_DUE: frozenset({TransferState.IDLE, TransferState.ERROR, TransferState.CLOSED}),
    TransferState.ERROR: frozenset({TransferState.CLOSED}),
    TransferState.CLOSED: frozenset(),
}
check(set(_TRANSITIONS) == set(TransferState), "every state needs a transition entry")


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """What the next unit must be. `size_max` bounds an op's or message's body, or a packet's payload
    length plus header length (Hadoop's packet-size rule)."""

    kind: UnitKind
    size_max: int
    what: str


@dataclass(frozen=True, slots=True)
class Unit:
    """One complete unit: `data` holds all its bytes (an op's 3 header bytes, a packet's lengths),
    `body_start` where the op's or message's body begins (0 for a packet, which is decoded whole).
    A packet's `data` is the bytearray it was assembled in, handed over: nothing writes to it again."""

    kind: UnitKind
    data: bytes | bytearray | memoryview
    body_start: int

    @property
    def body(self) -> bytes:
        return self.data[self.body_start :]


class UnitReader:
    """Cuts a byte stream into units without ever buffering more than one unit's bytes."""

    def __init__(
        self, buffered_bytes_max: int, take_packet_buffer: Callable[[int], bytearray | memoryview] = bytearray
    ) -> None:
        if buffered_bytes_max < PACKET_LENGTHS_BYTES + VARINT32_BYTES_MAX:
            raise LocalProtocolError(f"buffered_bytes_max {buffered_bytes_max} cannot hold a length prefix")
        self._buffered_bytes_max = buffered_bytes_max
        self._buffer = bytearray()
        self._spec: UnitSpec | None = None
        self._step = _PREFIX_STEP
        # Buffer length at which the current step is complete.
        self._step_end = 0
        self._body_start = 0
        # A packet being assembled in place, and how many of its bytes have arrived.
        self._packet: bytearray | memoryview | None = None
        self._filled = 0
        # Where packets are assembled: fresh bytearrays, or recycled buffers (PacketBuffers.take).
        self._take_packet_buffer = take_packet_buffer

    @property
    def at_boundary(self) -> bool:
        """True when no partial unit is buffered (a clean place for the peer to close)."""
        return self._spec is None

    @property
    def buffered_bytes(self) -> int:
        return self._filled if self._packet is not None else len(self._buffer)

    def receive_target(self) -> memoryview | None:
        """The rest of the packet being assembled, for a transport to receive into; None between
        packets and inside ops and messages (whose bytes go through `feed`)."""
        if self._packet is None:
            return None
        return memoryview(self._packet)[self._filled :]

    def received_into(self, count: int) -> Unit | None:
        """`count` bytes were written at the start of the last `receive_target`: the packet, if that
        completed it."""
        packet = self._packet
        if packet is None:
            raise InvariantViolation("received_into without a receive target")
        check(0 < count <= len(packet) - self._filled, "a transport fills at most the target it got")
        self._filled += count
        if self._filled < len(packet):
            return None
        return self._finish(packet)

    def feed(self, data: bytes, next_spec: Callable[[], UnitSpec]) -> Iterator[Unit]:
        """Yield each unit `data` completes; `next_spec` is asked at each unit's first byte.

        A generator so the caller handles a unit (and changes state, hence the next spec) before the
        next unit starts. `next_spec` raises RemoteProtocolError when the peer should be silent.
        """
        view = memoryview(data)
        offset = 0
        while True:
            if self._spec is None:
                if offset == len(view):
                    return
                self._start(next_spec())
            packet = self._packet
            if packet is not None:
                count = min(len(packet) - self._filled, len(view) - offset)
                packet[self._filled : self._filled + count] = view[offset : offset + count]
                offset += count
                self._filled += count
                if self._filled < len(packet):
                    return
                yield self._finish(packet)
                continue
            needed = self._step_end - len(self._buffer)
            available = len(view) - offset
            if needed > available:
                self._append(view[offset:])
                return
            if self._step == _BODY_STEP:
                # The unit's last bytes go straight into the unit, not through the buffer.
                unit_data = bytes(self._buffer) + view[offset : offset + needed]
                offset += needed
                yield self._finish(unit_data)
                continue
            self._append(view[offset : offset + needed])
            offset += needed
            self._advance()

    def _start(self, spec: UnitSpec) -> None:
        check(not self._buffer, "a unit starts with an empty buffer")
        check(spec.size_max > 0, "a unit limit is positive")
        self._spec = spec
        if spec.kind == "message":
            self._step = _VARINT_STEP
            self._step_end = 1
        else:
            self._step = _PREFIX_STEP
            self._step_end = OP_HEADER_BYTES if spec.kind == "op" else PACKET_LENGTHS_BYTES

    def _append(self, chunk: memoryview) -> None:
        check(len(self._buffer) + len(chunk) <= self._step_end, "never buffer past the current step")
        check(self._step_end <= self._buffered_bytes_max, "the step end was judged against the cap")
        self._buffer += chunk

    def _advance(self) -> None:
        """The current prefix or varint step is complete: judge it and set up the next step."""
        spec = self._current_spec()
        if self._step == _PREFIX_STEP and spec.kind == "packet":
            body_length = decode_packet_lengths(bytes(self._buffer), spec.size_max)
            self._enter_body(0, PACKET_LENGTHS_BYTES + body_length, spec)
        elif self._step == _PREFIX_STEP:
            decode_op_header(bytes(self._buffer))
            self._step = _VARINT_STEP
            self._step_end = len(self._buffer) + 1
        elif self._buffer[-1] >= 0x80:
            # The varint goes on: one more byte, up to the 5 a 32-bit length may take.
            varint_start = OP_HEADER_BYTES if spec.kind == "op" else 0
            if self._step_end - varint_start >= VARINT32_BYTES_MAX:
                raise RemoteProtocolError(f"length of {spec.what} is longer than {VARINT32_BYTES_MAX} bytes")
            self._step_end += 1
        else:
            varint_start = OP_HEADER_BYTES if spec.kind == "op" else 0
            length, body_start = decode_varint32(
                bytes(self._buffer), varint_start, len(self._buffer), spec.what
            )
            if length > spec.size_max:
                raise RemoteProtocolError(
                    f"{spec.what} of {length} bytes exceeds the {spec.size_max}-byte maximum"
                )
            self._enter_body(body_start, body_start + length, spec)

    def _current_spec(self) -> UnitSpec:
        spec = self._spec
        if spec is None:
            raise InvariantViolation("a unit step runs only inside a unit")
        return spec

    def _enter_body(self, body_start: int, unit_end: int, spec: UnitSpec) -> None:
        if unit_end > self._buffered_bytes_max:
            raise RemoteProtocolError(
                f"{spec.what} of {unit_end} bytes exceeds the {self._buffered_bytes_max}-byte buffer cap"
            )
        self._step = _BODY_STEP
        self._body_start = body_start
        self._step_end = unit_end
        if spec.kind == "packet":
            packet = self._take_packet_buffer(unit_end)
            check(len(packet) == unit_end, "a packet buffer is exactly the packet's size")
            packet[: len(self._buffer)] = self._buffer
            self._filled = len(self._buffer)
            self._buffer.clear()
            self._packet = packet

    def _finish(self, unit_data: bytes | bytearray | memoryview) -> Unit:
        spec = self._current_spec()
        check(len(unit_data) == self._step_end, "a unit is exactly as long as its prefix said")
        unit = Unit(spec.kind, unit_data, self._body_start)
        self._buffer.clear()
        self._spec = None
        self._step_end = 0
        self._packet = None
        self._filled = 0
        return unit


class TransferConnection:
    """State, limits and the receive loop shared by both sides of a DataTransferProtocol connection."""

    def __init__(
        self,
        *,
        verify_checksums: bool,
        checksum_functions: ChecksumFunctions,
        buffered_bytes_max: int,
        acks_pending_max: int,
        take_packet_buffer: Callable[[int], bytearray | memoryview] = bytearray,
    ) -> None:
        if buffered_bytes_max > BUFFERED_BYTES_MAX:
            raise LocalProtocolError(f"buffered_bytes_max above {BUFFERED_BYTES_MAX}")
        if acks_pending_max <= 0:
            raise LocalProtocolError("acks_pending_max must be positive")
        self._verify_checksums = verify_checksums
        self._checksum_functions = checksum_functions
        self._acks_pending_max = acks_pending_max
        # Seqnos of packets sent or received that still await their ack, oldest first.
        self._acks_pending: deque[int] = deque()
        self._opcode: Opcode | None = None
        self._state = TransferState.IDLE
        # The state the connection was in when the peer broke the protocol (decides what may still go out).
        self._state_before_error: TransferState | None = None
        self._reader = UnitReader(buffered_bytes_max, take_packet_buffer)
        self._buffered_bytes_max = buffered_bytes_max

    @property
    def state(self) -> TransferState:
        return self._state

    @property
    def buffered_bytes(self) -> int:
        return self._reader.buffered_bytes

    @property
    def acks_pending(self) -> tuple[int, ...]:
        """Seqnos of packets sent (client) or received (datanode) that await their ack, oldest first:
        the order the acks must come in."""
        return tuple(self._acks_pending)

    def close(self) -> None:
        """Mark the connection closed (the transport is going away); idempotent."""
        if self._state is not TransferState.CLOSED:
            self._set_state(TransferState.CLOSED)

    def _set_state(self, new_state: TransferState) -> None:
        """The one place a state changes: refuses any transition the protocol does not allow."""
        if new_state not in _TRANSITIONS[self._state]:
            raise LocalProtocolError(f"invalid transition {self._state.name} -> {new_state.name}")
        if new_state is TransferState.ERROR:
            self._state_before_error = self._state
        self._state = new_state

    def _require_state(self, allowed: frozenset[TransferState], action: str) -> None:
        if self._state not in allowed:
            raise LocalProtocolError(f"cannot {action} in state {self._state.name}")

    def _packet_size_max(self) -> int:
        # The packet-size rule counts payload length plus header length, not the 6 length bytes.
        return min(PACKET_SIZE_BYTES_MAX, self._buffered_bytes_max - PACKET_LENGTHS_BYTES)

    def _receive(
        self,
        data: bytes,
        next_spec: Callable[[], UnitSpec],
        handle_unit: Callable[[Unit], _EventT],
    ) -> list[_EventT]:
        """Feed non-empty `data` and collect the events its complete units produce, in order."""
        self._require_receiving()
        check(len(data) > 0, "end of stream goes through _receive_end_of_stream")
        events: list[_EventT] = []
        try:
            for unit in self._reader.feed(data, next_spec):
                events.append(handle_unit(unit))
                if self._state is TransferState.CLOSED:
                    # A failed operation or pipeline ends the stream: what follows is not for us.
                    break
        except RemoteProtocolError:
            self._set_state(TransferState.ERROR)
            raise
        return events

    def receive_target(self) -> memoryview | None:
        """Where the peer's next bytes may be received directly: the rest of a data packet being
        assembled (None otherwise, and once the connection failed or closed)."""
        if self._state in (TransferState.ERROR, TransferState.CLOSED):
            return None
        return self._reader.receive_target()

    def _received_into(self, count: int, handle_unit: Callable[[Unit], _EventT]) -> list[_EventT]:
        """`count` bytes landed in the last `receive_target`: the event of the packet they completed."""
        self._require_receiving()
        try:
            unit = self._reader.received_into(count)
            return [] if unit is None else [handle_unit(unit)]
        except RemoteProtocolError:
            self._set_state(TransferState.ERROR)
            raise

    def _require_receiving(self) -> None:
        if self._state in (TransferState.ERROR, TransferState.CLOSED):
            raise LocalProtocolError(f"cannot receive data in state {self._state.name}")

    def _receive_end_of_stream(self) -> ConnectionClosed:
        """The peer closed its side: clean between units (whatever the state), an error inside one."""
        self._require_receiving()
        if not self._reader.at_boundary:
            self._set_state(TransferState.ERROR)
            raise RemoteProtocolError(
                f"peer closed the connection inside a message ({self._reader.buffered_bytes} bytes buffered)"
            )
        self._set_state(TransferState.CLOSED)
        return ConnectionClosed()

    def _unexpected_bytes(self) -> UnitSpec:
        """The `next_spec` of a state in which the peer must wait for us."""
        raise RemoteProtocolError(f"peer sent data in state {self._state.name}, where it must wait")
