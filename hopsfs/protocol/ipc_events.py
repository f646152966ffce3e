"""Events the Hadoop IPC codec produces from received bytes, and the enums they use.

Server side: ConnectionPreamble, SaslMessage, ConnectionContext, Ping, Call, ConnectionClosed.
Client side: SaslMessage, CallResult, CallError, ConnectionClosed.

Events are immutable values; protobuf bodies stay serialized (`request_bytes`, `response_bytes`) so the
codec never needs to know the method table and a front end parses each body with the type its method
names. Strings are already validated as UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from hopsfs.protocol.proto.rpc_header_pb2 import RpcSaslProto


class AuthProtocol(IntEnum):
    """The preamble's auth byte: NONE for simple auth without SASL, SASL to negotiate first."""

    NONE = 0
    SASL = -33


class ConnectionState(Enum):
    """Where a connection is in its handshake; transitions are validated in one place (`_set_state`)."""

    AWAITING_PREAMBLE = "awaiting_preamble"
    AWAITING_SASL = "awaiting_sasl"
    AWAITING_CONTEXT = "awaiting_context"
    READY = "ready"
    # The peer broke the protocol: a server may still send one FATAL response, then CLOSED.
    ERROR = "error"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ConnectionPreamble:
    version: int
    service_class: int
    auth_protocol: AuthProtocol


@dataclass(frozen=True, slots=True)
class SaslMessage:
    """An RpcSaslProto frame (call id -33), in either direction."""

    message: RpcSaslProto

    @property
    def state(self) -> int:
        """The RpcSaslProto.SaslState value (NEGOTIATE, SUCCESS, ...)."""
        return self.message.state


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """The client's identity claim and interface name (call id -3); received once, before any call."""

    effective_user: str | None
    real_user: str | None
    protocol: str | None


@dataclass(frozen=True, slots=True)
class Ping:
    """A keep-alive (call id -4); it gets no answer."""


@dataclass(frozen=True, slots=True)
class Call:
    """One RPC to answer with exactly one success_response or error_response for `call_id`."""

    call_id: int
    client_id: bytes
    retry_count: int
    state_id: int | None
    method_name: str
    protocol_name: str
    protocol_version: int
    # A view of the received frame (not copied out of it), or b"" for a call without a body.
    request_bytes: bytes | memoryview
    # The caller context the client sent (hopsfs: its application id), at most CALLER_CONTEXT_CHARS_MAX.
    caller_context: str | None = None


@dataclass(frozen=True, slots=True)
class CallResult:
    call_id: int
    response_bytes: bytes
    state_id: int | None


@dataclass(frozen=True, slots=True)
class CallError:
    """An ERROR or FATAL response; after a fatal one the server closes the connection."""

    call_id: int
    exception_class_name: str
    message: str
    error_detail: int | None
    fatal: bool


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed its side cleanly, between frames."""


ServerEvent = ConnectionPreamble | SaslMessage | ConnectionContext | Ping | Call | ConnectionClosed
ClientEvent = SaslMessage | CallResult | CallError | ConnectionClosed
