"""The client side of the sans-I/O Hadoop IPC codec: handshake and call frames out, responses in.

`ClientConnection.start()` gives the preamble and the connection context (or, with auth SASL, a
NEGOTIATE whose SUCCESS answer is followed by `send_connection_context()`); `send_call` frames a call
with a fresh call id; `receive_data` turns response frames into CallResult / CallError events, checking
that each answers a call in flight and carries our client id (or none). It exists for tests, tools and
the hopsfs client; the namenode uses `ipc_codec.ServerConnection`.

Bounds: responses over `frame_size_bytes_max` (Hadoop's ipc.maximum.response.length default) or
`buffered_bytes_max` are rejected from their length prefix; at most `calls_in_flight_max` calls may be
outstanding.
"""

from __future__ import annotations

import uuid

from google.protobuf.message import Message

from hopsfs.protocol import errors
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.ipc_events import (
    AuthProtocol,
    CallError,
    CallResult,
    ClientEvent,
    ConnectionState,
    SaslMessage,
)
from hopsfs.protocol.ipc_framing import (
    BUFFERED_BYTES_MAX,
    CALLS_IN_FLIGHT_MAX,
    IpcConnection,
    UnitKind,
)
from hopsfs.protocol.ipc_wire import (
    CALL_ID_CONNECTION_CONTEXT,
    CALL_ID_MAX,
    CALL_ID_PING,
    CALL_ID_SASL,
    CLIENT_ID_BYTES_MAX,
    CLIENT_PROTOCOL_NAME,
    CLIENT_PROTOCOL_VERSION,
    FRAME_SIZE_BYTES_MAX,
    RETRY_COUNT_NONE,
    SERVICE_CLASS_DEFAULT,
    call_id_from_wire,
    delimited,
    encode_frame,
    encode_preamble,
    encode_varint,
    parse_proto,
    read_delimited,
    read_exact_body,
    serialize,
    text_field,
)
from hopsfs.protocol.proto.ipc_connection_context_pb2 import (
    IpcConnectionContextProto,
    UserInformationProto,
)
from hopsfs.protocol.proto.protobuf_rpc_engine_pb2 import RequestHeaderProto
from hopsfs.protocol.proto.rpc_header_pb2 import (
    RPC_PROTOCOL_BUFFER,
    RpcRequestHeaderProto,
    RpcResponseHeaderProto,
    RpcSaslProto,
)

_READY = frozenset({ConnectionState.READY})
_RECEIVING_STATES = frozenset(
    {ConnectionState.AWAITING_SASL, ConnectionState.AWAITING_CONTEXT, ConnectionState.READY}
)


class ClientConnection(IpcConnection):
    """A client's side of one Hadoop IPC connection (tests, tools, and the hopsfs client)."""

    def __init__(
        self,
        *,
        effective_user: str,
        real_user: str | None = None,
        protocol_name: str = CLIENT_PROTOCOL_NAME,
        client_id: bytes | None = None,
        auth_protocol: AuthProtocol = AuthProtocol.NONE,
        service_class: int = SERVICE_CLASS_DEFAULT,
        frame_size_bytes_max: int = FRAME_SIZE_BYTES_MAX,
        buffered_bytes_max: int = BUFFERED_BYTES_MAX,
        calls_in_flight_max: int = CALLS_IN_FLIGHT_MAX,
        caller_context: str | None = None,
    ) -> None:
        super().__init__(
            expect_preamble=False,
            frame_size_bytes_max=frame_size_bytes_max,
            setup_frame_size_bytes_max=frame_size_bytes_max,
            buffered_bytes_max=buffered_bytes_max,
        )
        self.client_id = uuid.uuid4().bytes if client_id is None else client_id
        if len(self.client_id) > CLIENT_ID_BYTES_MAX:
            raise LocalProtocolError(f"client id longer than {CLIENT_ID_BYTES_MAX} bytes")
        if calls_in_flight_max <= 0:
            raise LocalProtocolError("calls_in_flight_max must be positive")
        self._effective_user = effective_user
        # Sent with every call (Hadoop's caller context): hopsfs puts the application id here.
        self._caller_context = caller_context
        self._real_user = real_user
        self._protocol_name = protocol_name
        self._auth_protocol = AuthProtocol(auth_protocol)
        self._service_class = service_class
        self._calls_in_flight_max = calls_in_flight_max
        self._pending: set[int] = set()
        self._next_call_id = 0

    @property
    def calls_in_flight(self) -> int:
        return len(self._pending)

    def start(self) -> bytes:
        """The preamble, then the connection context (auth NONE) or a SASL NEGOTIATE (auth SASL)."""
        self._require_state(frozenset({ConnectionState.AWAITING_PREAMBLE}), "start")
        preamble = encode_preamble(self._auth_protocol, self._service_class)
        if self._auth_protocol is AuthProtocol.SASL:
            negotiate = RpcSaslProto(state=RpcSaslProto.NEGOTIATE)
            self._set_state(ConnectionState.AWAITING_SASL)
            return preamble + self._out_of_band_frame(CALL_ID_SASL, negotiate, client_id=b"")
        self._set_state(ConnectionState.AWAITING_CONTEXT)
        return preamble + self.send_connection_context()

    def send_connection_context(self) -> bytes:
        """The connection context frame; called by `start`, or after the SASL SUCCESS event."""
        self._require_state(frozenset({ConnectionState.AWAITING_CONTEXT}), "send the connection context")
        user = UserInformationProto(effectiveUser=self._effective_user)
        if self._real_user is not None:
            user.realUser = self._real_user
        context = IpcConnectionContextProto(userInfo=user, protocol=self._protocol_name)
        frame = self._out_of_band_frame(CALL_ID_CONNECTION_CONTEXT, context, client_id=self.client_id)
        self._set_state(ConnectionState.READY)
        return frame

    def send_ping(self) -> bytes:
        """A keep-alive frame (call id -4, header only); the server does not answer it."""
        self._require_state(_READY, "ping")
        header = self._request_header(CALL_ID_PING, RETRY_COUNT_NONE, None, self.client_id)
        return encode_frame([delimited(header.SerializeToString())], self._frame_size_bytes_max)

    def send_call(
        self,
        method_name: str,
        request: Message | bytes,
        *,
        call_id: int | None = None,
        retry_count: int = 0,
        state_id: int | None = None,
        protocol_name: str | None = None,
        protocol_version: int = CLIENT_PROTOCOL_VERSION,
    ) -> tuple[int, bytes]:
        """Frame one call; returns (call id, frame). Pass `call_id` only to retry a failed call."""
        self._require_state(_READY, "send a call")
        if len(self._pending) >= self._calls_in_flight_max:
            raise LocalProtocolError(f"{self._calls_in_flight_max} calls already in flight")
        call_id = self._allocate_call_id() if call_id is None else self._reuse_call_id(call_id)
        header = self._request_header(call_id, retry_count, state_id, self.client_id)
        if self._caller_context:
            header.callerContext.context = self._caller_context
        method = RequestHeaderProto(
            methodName=method_name,
            declaringClassProtocolName=protocol_name or self._protocol_name,
            clientProtocolVersion=protocol_version,
        )
        body = serialize(request)
        # The body's length prefix as its own part: a large body (a batch of small files, MiBs) is
        # copied once, into the frame, not first into a delimited copy of itself.
        parts = [
            delimited(header.SerializeToString()),
            delimited(method.SerializeToString()),
            encode_varint(len(body)),
            body,
        ]
        frame = encode_frame(parts, self._frame_size_bytes_max)
        self._pending.add(call_id)
        return call_id, frame

    def receive_data(self, data: bytes) -> list[ClientEvent]:
        """Feed received bytes (b"" at end of stream); return the events they complete, in order."""
        if not data:
            return [self._receive_end_of_stream()]
        return self._receive(data, self._handle_unit)

    def _allocate_call_id(self) -> int:
        # Hadoop's clients count up from 0 and wrap within the positive ints; skip ids still in use.
        for _ in range(self._calls_in_flight_max + 1):
            call_id = self._next_call_id
            self._next_call_id = 0 if call_id == CALL_ID_MAX else call_id + 1
            if call_id not in self._pending:
                return call_id
        raise LocalProtocolError("no free call id")

    def _reuse_call_id(self, call_id: int) -> int:
        if not 0 <= call_id <= CALL_ID_MAX:
            raise LocalProtocolError(f"call id {call_id} out of range")
        if call_id in self._pending:
            raise LocalProtocolError(f"call id {call_id} is still in flight")
        return call_id

    def _request_header(
        self, call_id: int, retry_count: int, state_id: int | None, client_id: bytes
    ) -> RpcRequestHeaderProto:
        header = RpcRequestHeaderProto(
            rpcKind=RPC_PROTOCOL_BUFFER,
            rpcOp=RpcRequestHeaderProto.RPC_FINAL_PACKET,
            callId=call_id,
            clientId=client_id,
            retryCount=retry_count,
        )
        if state_id is not None:
            header.stateId = state_id
        return header

    def _out_of_band_frame(self, call_id: int, message: Message, *, client_id: bytes) -> bytes:
        header = self._request_header(call_id, RETRY_COUNT_NONE, None, client_id)
        parts = [delimited(header.SerializeToString()), delimited(message.SerializeToString())]
        return encode_frame(parts, self._frame_size_bytes_max)

    def _handle_unit(self, kind: UnitKind, frame: bytes) -> ClientEvent | None:
        if kind != "frame" or self._state not in _RECEIVING_STATES:
            raise RemoteProtocolError(f"server sent a frame in state {self._state.name}")
        header_bytes, offset = read_delimited(frame, 0, len(frame), "response header")
        header = parse_proto(RpcResponseHeaderProto, header_bytes, "response header")
        call_id = call_id_from_wire(header.callId)
        if header.clientId not in (b"", self.client_id):
            raise RemoteProtocolError(f"response for call {call_id} carries another client's id")
        if header.status == RpcResponseHeaderProto.FATAL:
            return self._handle_fatal(header, frame, offset)
        if self._state is ConnectionState.AWAITING_SASL:
            return self._handle_sasl_response(header, frame, offset)
        if call_id not in self._pending:
            raise RemoteProtocolError(f"response for call {call_id}, which is not in flight")
        self._pending.discard(call_id)
        if header.status == RpcResponseHeaderProto.ERROR:
            return self._call_error(header, frame, offset, fatal=False)
        body = read_exact_body(frame, offset, "response", call_id)
        return CallResult(call_id, body, header.stateId if header.HasField("stateId") else None)

    def _handle_fatal(self, header: RpcResponseHeaderProto, frame: bytes, offset: int) -> CallError:
        event = self._call_error(header, frame, offset, fatal=True)
        self._pending.clear()
        self._set_state(ConnectionState.CLOSED)
        return event

    def _handle_sasl_response(self, header: RpcResponseHeaderProto, frame: bytes, offset: int) -> ClientEvent:
        if call_id_from_wire(header.callId) != CALL_ID_SASL:
            raise RemoteProtocolError("non-SASL response during SASL negotiation")
        if header.status != RpcResponseHeaderProto.SUCCESS:
            return self._handle_fatal(header, frame, offset)
        body = read_exact_body(frame, offset, "SASL message", CALL_ID_SASL)
        message = parse_proto(RpcSaslProto, body, "SASL message", call_id=CALL_ID_SASL)
        if message.state != RpcSaslProto.SUCCESS:
            state_name = RpcSaslProto.SaslState.Name(message.state)
            raise RemoteProtocolError(
                f"server wants SASL {state_name}: only simple auth is supported",
                error_detail=errors.FATAL_UNAUTHORIZED,
                call_id=CALL_ID_SASL,
            )
        self._set_state(ConnectionState.AWAITING_CONTEXT)
        return SaslMessage(message)

    def _call_error(
        self, header: RpcResponseHeaderProto, frame: bytes, offset: int, *, fatal: bool
    ) -> CallError:
        call_id = call_id_from_wire(header.callId)
        if offset != len(frame):
            raise RemoteProtocolError(f"{len(frame) - offset} bytes after the error header of call {call_id}")
        return CallError(
            call_id=call_id,
            exception_class_name=text_field(header.exceptionClassName, "exception class name", call_id),
            message=text_field(header.errorMsg, "error message", call_id),
            error_detail=header.errorDetail if header.HasField("errorDetail") else None,
            fatal=fatal,
        )
