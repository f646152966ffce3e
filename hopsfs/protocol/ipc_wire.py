"""Hadoop IPC wire primitives: constants, varints, length-delimited parts, frames and proto parsing.

A connection starts with a 7-byte preamble ("hrpc", version 9, service class, auth protocol). Every
later message in either direction is a frame: a 4-byte big-endian length, then that many bytes holding
varint-delimited protobuf messages (a header, then zero or more bodies).

Bounds: a frame may not declare more than `FRAME_SIZE_BYTES_MAX` bytes (Hadoop's
ipc.maximum.data.length default) and callers check that before buffering its body; a length varint is
at most `VARINT32_BYTES_MAX` bytes and must fit the bytes left in its frame. Every decoding failure is a
`RemoteProtocolError`; every encoding misuse is a `LocalProtocolError`.
"""

from __future__ import annotations

from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from hopsfs.invariants import check
from hopsfs.protocol import errors
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError

PREAMBLE_MAGIC = b"hrpc"
IPC_VERSION = 9
PREAMBLE_BYTES = 7
FRAME_LENGTH_PREFIX_BYTES = 4
FRAME_SIZE_BYTES_MAX = 128 * 1024 * 1024
# Frames before the connection context is accepted come from an unauthenticated peer and carry only
# SASL tokens and the context itself: a small cap keeps a silent client from pinning 128 MiB.
SETUP_FRAME_SIZE_BYTES_MAX = 1024 * 1024
VARINT32_BYTES_MAX = 5
CLIENT_ID_BYTES_MAX = 16
# Hadoop's hadoop.caller.context.max.size default; the change log's app_id column holds as much.
CALLER_CONTEXT_CHARS_MAX = 128

SERVICE_CLASS_DEFAULT = 0
AUTH_PROTOCOL_NONE = 0
AUTH_PROTOCOL_SASL = -33

CALL_ID_CONNECTION_CONTEXT = -3
CALL_ID_PING = -4
CALL_ID_SASL = -33
CALL_ID_UNKNOWN = errors.CALL_ID_UNKNOWN
CALL_ID_MAX = 2**31 - 1
RETRY_COUNT_NONE = -1

CLIENT_PROTOCOL_NAME = "org.apache.hadoop.hdfs.protocol.ClientProtocol"
# ClientProtocol methods Hadoop marks @AtMostOnce: running one twice could answer differently (a
# second create finds the file), so a re-sent one is answered from the namenode's retry cache. Every
# other method hopsfs serves is @Idempotent and may simply be sent again.
AT_MOST_ONCE_METHODS = frozenset(
    {
        "create",
        "append",
        "rename",
        "rename2",
        "delete",
        "createSymlink",
        "setXAttr",
        "removeXAttr",
        "updatePipeline",
        # hopsfs extensions (small_files.proto): a re-sent create must not find its own file
        "createWithData",
        "batchCreateWithData",
    }
)
CLIENT_PROTOCOL_VERSION = 1

_UINT32_MODULUS = 2**32
_MessageT = TypeVar("_MessageT", bound=Message)
# Frames are bytes; a view of one reads a part without copying it (a request body can be MiBs).
_FrameT = TypeVar("_FrameT", bytes, memoryview)

check(len(PREAMBLE_MAGIC) + 3 == PREAMBLE_BYTES, "preamble is magic + version + class + auth")
check(SETUP_FRAME_SIZE_BYTES_MAX <= FRAME_SIZE_BYTES_MAX, "setup frames cannot exceed call frames")
check(FRAME_SIZE_BYTES_MAX < 2**31, "Java reads the frame length as a signed int")


def encode_preamble(auth_protocol: int, service_class: int = SERVICE_CLASS_DEFAULT) -> bytes:
    """The 7 bytes a client sends first."""
    if auth_protocol not in (AUTH_PROTOCOL_NONE, AUTH_PROTOCOL_SASL):
        raise LocalProtocolError(f"unsupported auth protocol {auth_protocol}")
    if not 0 <= service_class <= 255:
        raise LocalProtocolError(f"service class {service_class} does not fit a byte")
    return PREAMBLE_MAGIC + bytes((IPC_VERSION, service_class, auth_protocol & 0xFF))


def encode_varint(value: int) -> bytes:
    """Protobuf base-128 varint of a non-negative integer below 2**64."""
    if not 0 <= value < 2**64:
        raise LocalProtocolError(f"varint out of range: {value}")
    if value < 0x80:
        # Most delimited parts are shorter than 128 bytes: one byte, no loop.
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint32(data: bytes | memoryview, offset: int, end: int, what: str) -> tuple[int, int]:
    """Read a length varint at `offset` (not past `end`); return (value, offset after it)."""
    if offset < end and data[offset] < 0x80:
        return data[offset], offset + 1
    value = 0
    for index in range(VARINT32_BYTES_MAX):
        position = offset + index
        if position >= end:
            raise RemoteProtocolError(f"truncated varint in {what}")
        byte = data[position]
        value |= (byte & 0x7F) << (7 * index)
        if byte < 0x80:
            if value >= _UINT32_MODULUS:
                raise RemoteProtocolError(f"varint in {what} exceeds 32 bits")
            return value, position + 1
    raise RemoteProtocolError(f"varint in {what} is longer than {VARINT32_BYTES_MAX} bytes")


def read_delimited(data: _FrameT, offset: int, end: int, what: str) -> tuple[_FrameT, int]:
    """Read one varint-delimited part at `offset`; return (its bytes, offset after it)."""
    length, start = decode_varint32(data, offset, end, what)
    stop = start + length
    if stop > end:
        raise RemoteProtocolError(f"{what} declares {length} bytes but only {end - start} remain")
    return data[start:stop], stop


def read_exact_body(frame: _FrameT, offset: int, what: str, call_id: int) -> _FrameT:
    """The one delimited message that must end the frame at `offset`."""
    body, end = read_delimited(frame, offset, len(frame), what)
    if end != len(frame):
        raise RemoteProtocolError(
            f"{len(frame) - end} trailing bytes after {what}",
            error_detail=errors.FATAL_DESERIALIZING_REQUEST,
            call_id=call_id,
        )
    return body


def delimited(payload: bytes) -> bytes:
    """`payload` prefixed with its length varint (protobuf writeDelimitedTo)."""
    return encode_varint(len(payload)) + payload


def encode_frame(parts: list[bytes], frame_size_bytes_max: int = FRAME_SIZE_BYTES_MAX) -> bytes:
    """A frame: 4-byte big-endian length of the already-delimited `parts`, then the parts."""
    size = sum(len(part) for part in parts)
    if size > frame_size_bytes_max:
        raise LocalProtocolError(f"frame of {size} bytes exceeds the {frame_size_bytes_max}-byte maximum")
    # One join: prefixing the joined parts would copy a large frame (MiBs, a batch of small files) twice.
    frame = b"".join([size.to_bytes(FRAME_LENGTH_PREFIX_BYTES, "big"), *parts])
    check(len(frame) == FRAME_LENGTH_PREFIX_BYTES + size, "frame length prefix must match its body")
    return frame


def serialize(message: Message | bytes) -> bytes:
    """Wire bytes of a message; pre-serialized bytes pass through (a front end may cache them)."""
    if isinstance(message, bytes):
        return message
    if not message.IsInitialized():
        missing = missing_fields(message)
        raise LocalProtocolError(f"{message.DESCRIPTOR.full_name} is missing required fields: {missing}")
    return message.SerializeToString()


def parse_proto(
    message_class: type[_MessageT],
    data: bytes | memoryview,
    what: str,
    *,
    error_detail: int = errors.FATAL_INVALID_RPC_HEADER,
    call_id: int = CALL_ID_UNKNOWN,
) -> _MessageT:
    """Parse `data` as `message_class`, insisting on every required field."""
    message = message_class()
    try:
        message.ParseFromString(data)
    except (DecodeError, UnicodeDecodeError) as error:
        # upb hands invalid UTF-8 back as bytes (see text_field); the pure-Python runtime raises.
        raise RemoteProtocolError(
            f"malformed {what}: {error}", error_detail=error_detail, call_id=call_id
        ) from error
    # ParseFromString accepts a proto2 message with required fields missing; Hadoop does not.
    if not message.IsInitialized():
        missing = missing_fields(message)
        raise RemoteProtocolError(
            f"{what} is missing required fields: {missing}", error_detail=error_detail, call_id=call_id
        )
    return message


def missing_fields(message: Message) -> str:
    """Names of the unset required fields, nested ones as dotted paths."""
    # Every runtime (upb, cpp, python) has this method; the typing stubs lack it.
    return ", ".join(message.FindInitializationErrors())  # type: ignore[attr-defined]


def text_field(value: str | bytes, what: str, call_id: int = CALL_ID_UNKNOWN) -> str:
    """A proto2 string field's value; upb hands back bytes when the peer sent invalid UTF-8."""
    if isinstance(value, bytes):
        raise RemoteProtocolError(f"{what} is not valid UTF-8", call_id=call_id)
    return value


def call_id_to_wire(call_id: int) -> int:
    """Response headers carry the call id as uint32: negative ids travel as two's complement."""
    if not -(2**31) <= call_id <= CALL_ID_MAX:
        raise LocalProtocolError(f"call id {call_id} does not fit 32 bits")
    return call_id % _UINT32_MODULUS


def call_id_from_wire(wire_call_id: int) -> int:
    """Inverse of `call_id_to_wire`."""
    check(0 <= wire_call_id < _UINT32_MODULUS, "a parsed uint32 is within 32 bits")
    return wire_call_id - _UINT32_MODULUS if wire_call_id > CALL_ID_MAX else wire_call_id
