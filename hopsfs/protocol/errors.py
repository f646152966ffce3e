"""The two ways a protocol exchange goes wrong: the peer broke the protocol, or we misused the codec.

`RemoteProtocolError` means the bytes we received are not a valid Hadoop IPC stream (bad preamble,
malformed varint, truncated protobuf, a call before the connection context, a frame over the size
limit...). It carries what a Hadoop server would answer before closing the connection: the call id the
frame belonged to (-1 when unknown), a Java exception class name and an `RpcErrorCodeProto` value, so a
transport can send that FATAL response and hang up.

`LocalProtocolError` means our own code called the codec out of order or with bad arguments (answering a
call that was never received, sending a call before the handshake). It is a bug on our side, not the
peer's, and is never answered on the wire.
"""

from __future__ import annotations

from hopsfs.errors import HopsFSError
from hopsfs.protocol.proto.rpc_header_pb2 import RpcResponseHeaderProto

# RpcErrorCodeProto values a RemoteProtocolError may suggest.
FATAL_UNKNOWN: int = RpcResponseHeaderProto.FATAL_UNKNOWN
FATAL_INVALID_RPC_HEADER: int = RpcResponseHeaderProto.FATAL_INVALID_RPC_HEADER
FATAL_DESERIALIZING_REQUEST: int = RpcResponseHeaderProto.FATAL_DESERIALIZING_REQUEST
FATAL_VERSION_MISMATCH: int = RpcResponseHeaderProto.FATAL_VERSION_MISMATCH
FATAL_UNAUTHORIZED: int = RpcResponseHeaderProto.FATAL_UNAUTHORIZED

RPC_SERVER_EXCEPTION = "org.apache.hadoop.ipc.RpcServerException"
VERSION_MISMATCH_EXCEPTION = "org.apache.hadoop.ipc.RPC$VersionMismatch"
ACCESS_CONTROL_EXCEPTION = "org.apache.hadoop.security.AccessControlException"

CALL_ID_UNKNOWN = -1


class ProtocolError(HopsFSError):
    """Root of the codec's errors."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the Hadoop IPC protocol; the connection cannot continue."""

    def __init__(
        self,
        message: str,
        *,
        error_detail: int = FATAL_INVALID_RPC_HEADER,
        exception_class_name: str = RPC_SERVER_EXCEPTION,
        call_id: int = CALL_ID_UNKNOWN,
    ) -> None:
        super().__init__(message)
        self.error_detail = error_detail
        self.exception_class_name = exception_class_name
        self.call_id = call_id


class LocalProtocolError(ProtocolError):
    """Our code used the codec wrongly (wrong state, unknown call id, oversized message)."""
