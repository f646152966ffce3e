"""Sans-I/O Hadoop IPC codec (the RPC layer HDFS clients speak to a namenode), in the style of h11.

`ServerConnection` turns received bytes into events (ConnectionPreamble, SaslMessage, ConnectionContext,
Ping, Call, ConnectionClosed) and answers into frames (`success_response`, `error_response`,
`answer_sasl_simple`, `protocol_error_response`). `ClientConnection` is the mirror image: it builds the
preamble, connection context and calls, and turns responses into CallResult / CallError events (it
lives in `ipc_client` and is re-exported here, with the events and errors). Neither
touches a socket, a clock or an event loop; a transport feeds `receive_data` and writes what comes back.

Handshake: preamble ("hrpc", 9, service class, auth 0 or -33) -> with auth -33 a SASL NEGOTIATE that a
simple-auth server answers SUCCESS -> connection context (call id -3) -> calls. Responses may go out in
any order; each response echoes the call's client id and retry count as received.

Bounds: frames over `frame_size_bytes_max` (setup frames over `setup_frame_size_bytes_max`) and over
`buffered_bytes_max` are rejected from their length prefix, before their body is buffered; at most
`calls_in_flight_max` calls may await an answer. A peer that breaks the protocol raises
RemoteProtocolError (a server answers it with `protocol_error_response` and closes); misuse of this API
raises LocalProtocolError.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from hopsfs.protocol import errors
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.ipc_client import ClientConnection
from hopsfs.protocol.ipc_events import (
    AuthProtocol,
    Call,
    CallError,
    CallResult,
    ConnectionClosed,
    ConnectionContext,
    ConnectionPreamble,
    ConnectionState,
    Ping,
    SaslMessage,
    ServerEvent,
)
from hopsfs.protocol.ipc_framing import (
    BUFFERED_BYTES_MAX,
    CALLS_IN_FLIGHT_MAX,
    IpcConnection,
    UnitKind,
)
from hopsfs.protocol.ipc_wire import (
    CALL_ID_CONNECTION_CONTEXT,
    CALL_ID_PING,
    CALL_ID_SASL,
    CALLER_CONTEXT_CHARS_MAX,
    CLIENT_ID_BYTES_MAX,
    FRAME_SIZE_BYTES_MAX,
    IPC_VERSION,
    PREAMBLE_MAGIC,
    RETRY_COUNT_NONE,
    SETUP_FRAME_SIZE_BYTES_MAX,
    call_id_to_wire,
    delimited,
    encode_frame,
    parse_proto,
    read_delimited,
    read_exact_body,
    serialize,
    text_field,
)
from hopsfs.protocol.proto.ipc_connection_context_pb2 import IpcConnectionContextProto
from hopsfs.protocol.proto.protobuf_rpc_engine_pb2 import RequestHeaderProto
from hopsfs.protocol.proto.rpc_header_pb2 import (
    RPC_PROTOCOL_BUFFER,
    RpcRequestHeaderProto,
    RpcResponseHeaderProto,
    RpcSaslProto,
)

__all__ = [
    "BUFFERED_BYTES_MAX",
    "CALLS_IN_FLIGHT_MAX",
    "ERROR_MESSAGE_CHARS_MAX",
    "FRAME_SIZE_BYTES_MAX",
    "SETUP_FRAME_SIZE_BYTES_MAX",
    "AuthProtocol",
    "Call",
    "CallError",
    "CallResult",
    "ClientConnection",
    "ConnectionClosed",
    "ConnectionContext",
    "ConnectionPreamble",
    "ConnectionState",
    "LocalProtocolError",
    "Ping",
    "RemoteProtocolError",
    "SaslMessage",
    "ServerConnection",
]


# Error messages are cut to this many characters so that answering a failed call can never itself
# fail on the frame limit (Hadoop puts whole stack traces here).
ERROR_MESSAGE_CHARS_MAX = 64 * 1024

_ERROR_CODE_VALUES = frozenset(RpcResponseHeaderProto.RpcErrorCodeProto.values())
_FATAL_SENDING_STATES = frozenset(set(ConnectionState) - {ConnectionState.CLOSED})
_READY = frozenset({ConnectionState.READY})


@dataclass(frozen=True, slots=True)
class _PendingCall:
    client_id: bytes
    retry_count: int


def _response_frame(
    call_id: int,
    status: int,
    *,
    client_id: bytes,
    retry_count: int,
    body: bytes,
    state_id: int | None = None,
    frame_size_bytes_max: int = FRAME_SIZE_BYTES_MAX,
) -> bytes:
    header = RpcResponseHeaderProto(
        callId=call_id_to_wire(call_id),
        status=status,  # type: ignore[arg-type]
        serverIpcVersionNum=IPC_VERSION,
        clientId=client_id,
        retryCount=retry_count,
    )
    if state_id is not None:
        header.stateId = state_id
    return encode_frame([delimited(header.SerializeToString()), delimited(body)], frame_size_bytes_max)


def _error_frame(
    call_id: int,
    pending: _PendingCall | None,
    exception_class_name: str,
    message: str,
    error_detail: int,
    fatal: bool,
) -> bytes:
    if error_detail not in _ERROR_CODE_VALUES:
        raise LocalProtocolError(f"unknown RpcErrorCodeProto value {error_detail}")
    header = RpcResponseHeaderProto(
        callId=call_id_to_wire(call_id),
        status=RpcResponseHeaderProto.FATAL if fatal else RpcResponseHeaderProto.ERROR,
        serverIpcVersionNum=IPC_VERSION,
        exceptionClassName=exception_class_name,
        errorMsg=message[:ERROR_MESSAGE_CHARS_MAX],
        errorDetail=error_detail,  # type: ignore[arg-type]
        clientId=pending.client_id if pending is not None else b"",
        retryCount=pending.retry_count if pending is not None else RETRY_COUNT_NONE,
    )
    # Error frames carry no body: Java's client reads only the header when the status is not SUCCESS.
    return encode_frame([delimited(header.SerializeToString())])


class ServerConnection(IpcConnection):
    """The namenode's side of one Hadoop IPC connection."""

    def __init__(
        self,
        *,
        frame_size_bytes_max: int = FRAME_SIZE_BYTES_MAX,
        setup_frame_size_bytes_max: int = SETUP_FRAME_SIZE_BYTES_MAX,
        buffered_bytes_max: int = BUFFERED_BYTES_MAX,
        calls_in_flight_max: int = CALLS_IN_FLIGHT_MAX,
    ) -> None:
        super().__init__(
            expect_preamble=True,
            frame_size_bytes_max=frame_size_bytes_max,
            setup_frame_size_bytes_max=setup_frame_size_bytes_max,
            buffered_bytes_max=buffered_bytes_max,
        )
        if calls_in_flight_max <= 0:
            raise LocalProtocolError("calls_in_flight_max must be positive")
        self._calls_in_flight_max = calls_in_flight_max
        self._pending: dict[int, _PendingCall] = {}
        self._sasl_received = False
        self.auth_protocol: AuthProtocol | None = None
        self.context: ConnectionContext | None = None

    @property
    def calls_in_flight(self) -> int:
        return len(self._pending)

    def receive_data(self, data: bytes) -> list[ServerEvent]:
        """Feed received bytes (b"" at end of stream); return the events they complete, in order."""
        if not data:
            return [self._receive_end_of_stream()]
        return self._receive(data, self._handle_unit)

    def success_response(
        self, call_id: int, message: Message | bytes, *, state_id: int | None = None
    ) -> bytes:
        """The frame answering call `call_id` with `message` (a protobuf message or its bytes)."""
        self._require_state(_READY, "send a response")
        pending = self._pending_call(call_id)
        frame = _response_frame(
            call_id,
            RpcResponseHeaderProto.SUCCESS,
            client_id=pending.client_id,
            retry_count=pending.retry_count,
            body=serialize(message),
            state_id=state_id,
            frame_size_bytes_max=self._frame_size_bytes_max,
        )
        # Forget the call only once its frame exists: an oversized response can still be answered
        # with an error_response.
        del self._pending[call_id]
        return frame

    def error_response(
        self,
        call_id: int,
        exception_class_name: str,
        message: str,
        error_detail: int = RpcResponseHeaderProto.ERROR_APPLICATION,
        *,
        fatal: bool = False,
    ) -> bytes:
        """The frame failing call `call_id`; a fatal one also closes the connection (send it, then hang up).

        A fatal response may name a call id that is not pending (-1 for "no call"), as Hadoop does for
        handshake failures.
        """
        if fatal:
            self._require_state(_FATAL_SENDING_STATES, "send a fatal response")
            frame = _error_frame(
                call_id, self._pending.get(call_id), exception_class_name, message, error_detail, True
            )
            self._pending.clear()
            self._set_state(ConnectionState.CLOSED)
            return frame
        self._require_state(_READY, "send an error response")
        frame = _error_frame(
            call_id, self._pending_call(call_id), exception_class_name, message, error_detail, False
        )
        del self._pending[call_id]
        return frame

    def protocol_error_response(self, error: RemoteProtocolError) -> bytes:
        """The FATAL frame Hadoop would send for `error` before closing the connection."""
        return self.error_response(
            error.call_id, error.exception_class_name, str(error), error.error_detail, fatal=True
        )

    def answer_sasl_simple(self, event: SaslMessage) -> bytes:
        """Answer a SASL NEGOTIATE with SUCCESS: both hdfs-native and Java's client then use simple auth.

        Hadoop's SIMPLE-only servers answer the same way. Any other SASL step asks for real
        authentication, which this server does not offer: RemoteProtocolError (FATAL_UNAUTHORIZED).
        """
        self._require_state(frozenset({ConnectionState.AWAITING_SASL}), "answer SASL")
        if event.state != RpcSaslProto.NEGOTIATE:
            self._set_state(ConnectionState.ERROR)
            raise RemoteProtocolError(
                f"SASL state {RpcSaslProto.SaslState.Name(event.state)} not supported: simple auth only",
                error_detail=errors.FATAL_UNAUTHORIZED,
                exception_class_name=errors.ACCESS_CONTROL_EXCEPTION,
                call_id=CALL_ID_SASL,
            )
        frame = _response_frame(
            CALL_ID_SASL,
            RpcResponseHeaderProto.SUCCESS,
            client_id=b"",
            retry_count=RETRY_COUNT_NONE,
            body=RpcSaslProto(state=RpcSaslProto.SUCCESS).SerializeToString(),
        )
        self._set_state(ConnectionState.AWAITING_CONTEXT)
        return frame

    def _pending_call(self, call_id: int) -> _PendingCall:
        pending = self._pending.get(call_id)
        if pending is None:
            raise LocalProtocolError(f"call {call_id} is not awaiting a response")
        return pending

    def _handle_unit(self, kind: UnitKind, payload: bytes) -> ServerEvent | None:
        if kind == "preamble":
            return self._handle_preamble(payload)
        header_bytes, offset = read_delimited(payload, 0, len(payload), "request header")
        header = parse_proto(RpcRequestHeaderProto, header_bytes, "request header")
        call_id = header.callId
        if call_id >= 0:
            return self._handle_call(header, payload, offset)
        if call_id == CALL_ID_PING:
            # Hadoop ignores anything after a ping header; so do we.
            return Ping()
        if call_id == CALL_ID_SASL:
            return self._handle_sasl(payload, offset)
        if call_id == CALL_ID_CONNECTION_CONTEXT:
            return self._handle_context(payload, offset)
        raise RemoteProtocolError(f"unknown out-of-band call id {call_id}", call_id=call_id)

    def _handle_preamble(self, preamble: bytes) -> ConnectionPreamble:
        if preamble[:4] != PREAMBLE_MAGIC:
            raise RemoteProtocolError(f"not a Hadoop IPC connection: preamble {preamble!r}")
        version = preamble[4]
        if version != IPC_VERSION:
            raise RemoteProtocolError(
                f"IPC version {version} not supported; this server speaks version {IPC_VERSION}",
                error_detail=errors.FATAL_VERSION_MISMATCH,
                exception_class_name=errors.VERSION_MISMATCH_EXCEPTION,
            )
        auth_byte = int.from_bytes(preamble[6:7], "big", signed=True)
        if auth_byte not in (AuthProtocol.NONE, AuthProtocol.SASL):
            raise RemoteProtocolError(f"unknown auth protocol {auth_byte}")
        self.auth_protocol = AuthProtocol(auth_byte)
        if self.auth_protocol is AuthProtocol.SASL:
            self._set_state(ConnectionState.AWAITING_SASL)
        else:
            self._set_state(ConnectionState.AWAITING_CONTEXT)
        return ConnectionPreamble(version, preamble[5], self.auth_protocol)

    def _handle_sasl(self, frame: bytes, offset: int) -> SaslMessage:
        if self._state is not ConnectionState.AWAITING_SASL:
            raise RemoteProtocolError(
                f"SASL message in state {self._state.name} (preamble auth {self.auth_protocol})",
                call_id=CALL_ID_SASL,
            )
        if self._sasl_received:
            # Simple auth takes one exchange; a second message before our answer is Hadoop's
            # "client already attempted negotiation".
            raise RemoteProtocolError(
                "second SASL message before the first was answered",
                error_detail=errors.FATAL_UNAUTHORIZED,
                exception_class_name=errors.ACCESS_CONTROL_EXCEPTION,
                call_id=CALL_ID_SASL,
            )
        body = read_exact_body(frame, offset, "SASL message", CALL_ID_SASL)
        message = parse_proto(RpcSaslProto, body, "SASL message", call_id=CALL_ID_SASL)
        self._sasl_received = True
        return SaslMessage(message)

    def _handle_context(self, frame: bytes, offset: int) -> ConnectionContext:
        if self._state is not ConnectionState.AWAITING_CONTEXT:
            raise RemoteProtocolError(
                f"connection context in state {self._state.name}", call_id=CALL_ID_CONNECTION_CONTEXT
            )
        body = read_exact_body(frame, offset, "connection context", CALL_ID_CONNECTION_CONTEXT)
        proto = parse_proto(
            IpcConnectionContextProto, body, "connection context", call_id=CALL_ID_CONNECTION_CONTEXT
        )
        user = proto.userInfo
        context = ConnectionContext(
            effective_user=_optional_text(user, "effectiveUser") if proto.HasField("userInfo") else None,
            real_user=_optional_text(user, "realUser") if proto.HasField("userInfo") else None,
            protocol=_optional_text(proto, "protocol"),
        )
        self.context = context
        self._set_state(ConnectionState.READY)
        return context

    def _handle_call(self, header: RpcRequestHeaderProto, frame: bytes, offset: int) -> Call:
        call_id = header.callId
        if self._state is not ConnectionState.READY:
            raise RemoteProtocolError(
                f"call {call_id} before the connection context was established", call_id=call_id
            )
        _check_call_header(header)
        method_bytes, offset = read_delimited(frame, offset, len(frame), "method header")
        method = parse_proto(
            RequestHeaderProto,
            method_bytes,
            "method header",
            error_detail=errors.FATAL_DESERIALIZING_REQUEST,
            call_id=call_id,
        )
        # A call with no body at all stands for an empty request message.
        # A view, not a copy: the request is parsed in place, and a batch of small files is MiBs.
        request = (
            b"" if offset == len(frame) else read_exact_body(memoryview(frame), offset, "request", call_id)
        )
        self._admit_call(call_id, header)
        return Call(
            call_id=call_id,
            client_id=header.clientId,
            retry_count=header.retryCount,
            state_id=header.stateId if header.HasField("stateId") else None,
            method_name=text_field(method.methodName, "method name", call_id),
            protocol_name=text_field(method.declaringClassProtocolName, "protocol name", call_id),
            protocol_version=method.clientProtocolVersion,
            request_bytes=request,
            caller_context=_caller_context(header),
        )

    def _admit_call(self, call_id: int, header: RpcRequestHeaderProto) -> None:
        if call_id in self._pending:
            raise RemoteProtocolError(f"call id {call_id} is already awaiting a response", call_id=call_id)
        if len(self._pending) >= self._calls_in_flight_max:
            raise RemoteProtocolError(
                f"more than {self._calls_in_flight_max} calls in flight", call_id=call_id
            )
        self._pending[call_id] = _PendingCall(header.clientId, header.retryCount)


def _caller_context(header: RpcRequestHeaderProto) -> str | None:
    """Hadoop truncates a caller context to hadoop.caller.context.max.size (128); so do we."""
    if not header.HasField("callerContext"):
        return None
    return header.callerContext.context[:CALLER_CONTEXT_CHARS_MAX] or None


def _check_call_header(header: RpcRequestHeaderProto) -> None:
    """Hadoop's checks on a call's RPC header: protobuf engine, final packet, a client id that fits."""
    call_id = header.callId
    if not header.HasField("rpcKind") or header.rpcKind != RPC_PROTOCOL_BUFFER:
        raise RemoteProtocolError(
            "only the protobuf RPC engine (rpcKind 2) is supported",
            error_detail=RpcResponseHeaderProto.FATAL_UNSUPPORTED_SERIALIZATION,
            call_id=call_id,
        )
    if not header.HasField("rpcOp") or header.rpcOp != RpcRequestHeaderProto.RPC_FINAL_PACKET:
        raise RemoteProtocolError("only RPC_FINAL_PACKET calls are supported", call_id=call_id)
    if len(header.clientId) > CLIENT_ID_BYTES_MAX:
        raise RemoteProtocolError(
            f"client id of {len(header.clientId)} bytes exceeds {CLIENT_ID_BYTES_MAX}", call_id=call_id
        )


def _optional_text(message: Message, field: str) -> str | None:
    if not message.HasField(field):
        return None
    return text_field(getattr(message, field), field)
