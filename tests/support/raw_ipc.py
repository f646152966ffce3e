"""A blocking Hadoop IPC client on a plain socket, for tests that misbehave on purpose.

`RawIpcClient` builds well-formed frames with the codec's `ClientConnection` but parses responses
itself (`read_response`), so a test can send any bytes it likes (`send_raw`) and still read what the
server answered, FATAL responses before the handshake included. Every read runs under the socket's
timeout; `read_until_closed` tells a clean close or a reset apart from a server that keeps the
connection open.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import Message

from hopsfs.protocol.ipc_codec import AuthProtocol, ClientConnection, ConnectionState, SaslMessage
from hopsfs.protocol.ipc_wire import (
    CALL_ID_SASL,
    FRAME_LENGTH_PREFIX_BYTES,
    call_id_from_wire,
    decode_varint32,
    delimited,
    encode_frame,
)
from hopsfs.protocol.proto import client_namenode_protocol_pb2 as pb
from hopsfs.protocol.proto.protobuf_rpc_engine_pb2 import RequestHeaderProto
from hopsfs.protocol.proto.rpc_header_pb2 import (
    RPC_PROTOCOL_BUFFER,
    RpcRequestHeaderProto,
    RpcResponseHeaderProto,
    RpcSaslProto,
)

READ_TIMEOUT_S = 10.0
# Responses in these tests are small; anything bigger means the stream is out of step.
RESPONSE_SIZE_BYTES_MAX = 16 * 1024 * 1024

SUCCESS = RpcResponseHeaderProto.SUCCESS
ERROR = RpcResponseHeaderProto.ERROR
FATAL = RpcResponseHeaderProto.FATAL

_MessageT = TypeVar("_MessageT", bound=Message)


class ServerClosed(Exception):
    """The server closed (or reset) the connection while a response was expected."""


@dataclass(frozen=True, slots=True)
class Response:
    call_id: int
    status: int
    exception_class_name: str
    error_message: str
    error_detail: int | None
    client_id: bytes
    body: bytes

    def message(self, message_class: type[_MessageT]) -> _MessageT:
        """The SUCCESS body parsed as `message_class`."""
        assert self.status == SUCCESS, f"call {self.call_id} failed: {self.exception_class_name}"
        message = message_class()
        message.ParseFromString(self.body)
        return message


def parse_response(frame: bytes) -> Response:
    """A response frame body (length prefix removed): header, then the delimited body if any."""
    header_length, offset = decode_varint32(frame, 0, len(frame), "response header")
    header = RpcResponseHeaderProto()
    header.ParseFromString(frame[offset : offset + header_length])
    offset += header_length
    body = b""
    if offset < len(frame):
        body_length, body_start = decode_varint32(frame, offset, len(frame), "response body")
        assert body_start + body_length == len(frame), "one delimited body must end the frame"
        body = frame[body_start:]
    return Response(
        call_id=call_id_from_wire(header.callId),
        status=header.status,
        exception_class_name=header.exceptionClassName,
        error_message=header.errorMsg,
        error_detail=header.errorDetail if header.HasField("errorDetail") else None,
        client_id=header.clientId,
        body=body,
    )


def method_frame(
    call_id: int,
    method_name: str,
    request_bytes: bytes,
    *,
    client_id: bytes,
    protocol_name: str = "org.apache.hadoop.hdfs.protocol.ClientProtocol",
) -> bytes:
    """A call frame with any request bytes (the codec's own `send_call` insists on valid messages)."""
    header = RpcRequestHeaderProto(
        rpcKind=RPC_PROTOCOL_BUFFER,
        rpcOp=RpcRequestHeaderProto.RPC_FINAL_PACKET,
        callId=call_id,
        clientId=client_id,
        retryCount=0,
    )
    method = RequestHeaderProto(
        methodName=method_name, declaringClassProtocolName=protocol_name, clientProtocolVersion=1
    )
    parts = [
        delimited(header.SerializeToString()),
        delimited(method.SerializeToString()),
        delimited(request_bytes),
    ]
    return encode_frame(parts)


class RawIpcClient:
    """One TCP connection to a namenode; the caller decides what goes on the wire and when."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        user: str = "hdfs",
        auth_protocol: AuthProtocol = AuthProtocol.NONE,
        timeout_s: float = READ_TIMEOUT_S,
        receive_buffer_bytes: int | None = None,
    ) -> None:
        self.codec = ClientConnection(effective_user=user, auth_protocol=auth_protocol)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if receive_buffer_bytes is not None:
            # Before connect, so the TCP window the server sees is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
        self.sock.settimeout(timeout_s)
        self.sock.connect(address)
        self._buffer = bytearray()

    def __enter__(self) -> RawIpcClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- sending --------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def handshake(self) -> None:
        """Preamble and connection context; with auth SASL, NEGOTIATE first and wait for SUCCESS."""
        self.send_raw(self.codec.start())
        if self.codec.state is ConnectionState.AWAITING_SASL:
            frame = self._read_frame()
            answer = parse_response(frame)
            assert answer.call_id == CALL_ID_SASL and answer.status == SUCCESS, answer
            # The codec checks the answer and moves on to the connection context.
            (event,) = self.codec.receive_data(len(frame).to_bytes(FRAME_LENGTH_PREFIX_BYTES, "big") + frame)
            assert isinstance(event, SaslMessage) and event.state == RpcSaslProto.SUCCESS, event
            self.send_raw(self.codec.send_connection_context())

    def send_call(self, method_name: str, request: Message | bytes) -> int:
        """Send one call built by the codec; returns its call id (the answer is not read)."""
        call_id, frame = self.codec.send_call(method_name, request)
        self.send_raw(frame)
        return call_id

    def send_ping(self) -> None:
        self.send_raw(self.codec.send_ping())

    def call(self, method_name: str, request: Message | bytes) -> Response:
        """Send one call and read the next response, which must answer it."""
        call_id = self.send_call(method_name, request)
        response = self.read_response()
        assert response.call_id == call_id, f"expected the answer to call {call_id}, got {response}"
        return response

    def file_info(self, path: str) -> pb.GetFileInfoResponseProto:
        response = self.call("getFileInfo", pb.GetFileInfoRequestProto(src=path))
        return response.message(pb.GetFileInfoResponseProto)

    # -- receiving ------------------------------------------------------------------------------

    def read_response(self) -> Response:
        """The next response frame; ServerClosed if the server hangs up first."""
        response = parse_response(self._read_frame())
        assert response.client_id in (b"", self.codec.client_id), "a response must echo our client id"
        return response

    def read_until_closed(self) -> list[Response]:
        """Every response until the server closes or resets; fails on a read timeout."""
        responses: list[Response] = []
        while True:
            try:
                responses.append(self.read_response())
            except ServerClosed:
                return responses

    def close(self) -> None:
        self.sock.close()

    def abort(self) -> None:
        """Close with a TCP reset (SO_LINGER 0) instead of a FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _read_frame(self) -> bytes:
        (length,) = struct.unpack(">i", self._read_exact(FRAME_LENGTH_PREFIX_BYTES))
        assert 0 < length <= RESPONSE_SIZE_BYTES_MAX, f"response frame length {length}"
        return self._read_exact(length)

    def _read_exact(self, count: int) -> bytes:
        while len(self._buffer) < count:
            try:
                chunk = self.sock.recv(max(count - len(self._buffer), 65536))
            except ConnectionResetError as reset:
                raise ServerClosed("connection reset by the server") from reset
            if not chunk:
                raise ServerClosed(f"server closed with {len(self._buffer)} of {count} bytes read")
            self._buffer += chunk
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data
