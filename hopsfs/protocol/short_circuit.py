"""Short-circuit reads on the wire: REQUEST_SHORT_CIRCUIT_FDS (op 87) over a UNIX domain socket.

A client on a datanode's host asks the datanode, over the datanode's domain socket, for a finalized
replica; the datanode answers with a varint-delimited BlockOpResponseProto and, on SUCCESS, passes two
open file descriptors (the data file, then the meta file) with SCM_RIGHTS on a one-byte message, as
Hadoop's DataXceiver does. The client then reads the files itself: no copy through the datanode, no
TCP. Both sides use blocking sockets (the datanode serves each connection in a thread, the client asks
from a worker thread), so this module holds the blocking framing both share.

The domain socket path is configured on both sides as a pattern in which `_PORT` stands for the
datanode's DataTransferProtocol port (Hadoop's dfs.domain.socket.path), so one setting names the socket
of every datanode on a host.
"""

from __future__ import annotations

import socket

from hopsfs.protocol.dtp_wire import (
    OP_HEADER_BYTES,
    RESPONSE_BYTES_MAX,
    Opcode,
    decode_op_header,
    encode_op,
)
from hopsfs.protocol.errors import RemoteProtocolError
from hopsfs.protocol.ipc_wire import VARINT32_BYTES_MAX, decode_varint32
from hopsfs.protocol.proto.datatransfer_pb2 import BaseHeaderProto, OpRequestShortCircuitAccessProto
from hopsfs.protocol.proto.hdfs_pb2 import ExtendedBlockProto

# The on-disk block format short-circuit readers understand (Hadoop's only one: the meta header v1).
SHORT_CIRCUIT_VERSION = 1
PORT_PLACEHOLDER = "_PORT"
# Descriptors that follow a SUCCESS answer: the data file, then the meta file.
DESCRIPTORS_PER_REPLICA = 2
# A request is a block header and a few integers: anything bigger is not a request.
REQUEST_BYTES_MAX = 64 * 1024


def socket_path(pattern: str, port: int) -> str:
    """The domain socket of the datanode whose DataTransferProtocol port is `port`."""
    return pattern.replace(PORT_PLACEHOLDER, str(port))


def encode_request(block: ExtendedBlockProto) -> bytes:
    request = OpRequestShortCircuitAccessProto(
        header=BaseHeaderProto(block=block), maxVersion=SHORT_CIRCUIT_VERSION
    )
    return encode_op(Opcode.REQUEST_SHORT_CIRCUIT_FDS, request)


def recv_exactly(sock: socket.socket, count: int, what: str) -> bytes:
    """`count` bytes; RemoteProtocolError when the peer closes first (ConnectionResetError before
    any byte, so a caller can tell a closed idle connection from a torn message)."""
    parts: list[bytes] = []
    received = 0
    while received < count:
        part = sock.recv(count - received)
        if not part:
            if received == 0:
                raise ConnectionResetError(f"the peer closed the connection before the {what}")
            raise RemoteProtocolError(f"the peer closed the connection inside the {what}")
        parts.append(part)
        received += len(part)
    return b"".join(parts)


def recv_delimited(sock: socket.socket, size_max: int, what: str) -> bytes:
    """A varint-delimited message's body, refusing one longer than `size_max`."""
    prefix = b""
    while True:
        prefix += recv_exactly(sock, 1, what)
        if prefix[-1] < 0x80:
            break
        if len(prefix) >= VARINT32_BYTES_MAX:
            raise RemoteProtocolError(f"length of the {what} is longer than {VARINT32_BYTES_MAX} bytes")
    length, _ = decode_varint32(prefix, 0, len(prefix), what)
    if length > size_max:
        raise RemoteProtocolError(f"{what} of {length} bytes exceeds the {size_max}-byte maximum")
    return recv_exactly(sock, length, what) if length else b""


def recv_op(sock: socket.socket) -> tuple[Opcode, bytes]:
    """The next operation on a connection: its opcode and request body."""
    opcode = decode_op_header(recv_exactly(sock, OP_HEADER_BYTES, "operation header"))
    return opcode, recv_delimited(sock, REQUEST_BYTES_MAX, f"{opcode.name} request")


def recv_response(sock: socket.socket) -> bytes:
    return recv_delimited(sock, RESPONSE_BYTES_MAX, "short-circuit response")


def send_descriptors(sock: socket.socket, descriptors: list[int]) -> None:
    """Pass open descriptors to the peer (SCM_RIGHTS ride on one zero byte, as in Hadoop)."""
    socket.send_fds(sock, [b"\0"], descriptors)


def recv_descriptors(sock: socket.socket) -> list[int]:
    """The descriptors that follow a SUCCESS answer; RemoteProtocolError unless there are exactly two
    (any received are closed first, so none leak)."""
    data, descriptors, _flags, _address = socket.recv_fds(sock, 1, DESCRIPTORS_PER_REPLICA)
    if len(descriptors) != DESCRIPTORS_PER_REPLICA or data != b"\0":
        for descriptor in descriptors:
            socket.close(descriptor)
        raise RemoteProtocolError(
            f"expected {DESCRIPTORS_PER_REPLICA} descriptors on one zero byte, got {len(descriptors)} "
            f"on {data!r}"
        )
    return list(descriptors)
