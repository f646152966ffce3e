"""Short-circuit reads: hand a local client the open files of a finalized replica (op 87).

A client on this host connects to the datanode's UNIX domain socket (`--domain-socket`, with `_PORT`
standing for the DataTransferProtocol port) and sends REQUEST_SHORT_CIRCUIT_FDS for a block. When the
replica is finalized, at least as new as the block asked for, of this block pool and not known bad,
the answer is SUCCESS with the data and meta file descriptors attached (SCM_RIGHTS); otherwise an
error status and a message, and the client reads over TCP instead. Several requests may follow on one
connection.

Only finalized replicas are handed out: their bytes never change in place (an append first turns the
replica back into one being written, and a client that then sees a checksum mismatch rereads over TCP
rather than reporting corruption; see hopsfs/client/short_circuit.py). Who may ask is decided by the
socket file's permissions: the socket is created owner-only unless `socket_mode` says otherwise, the
same trust as Hadoop's requirement that the socket's directory be writable only by the datanode.

Connections are served by threads (each request is two opens and one sendmsg), at most
`connections_max` at a time; one over the limit is closed at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from pathlib import Path

from datanode.server.context import ServerContext
from datanode.server.statuses import ReplicaKnownBad, RequestRefused, message_of, status_of
from datanode.storage.errors import StorageError
from datanode.storage.replica import ReplicaState
from hopsfs.protocol.dtp_wire import (
    ERROR_UNSUPPORTED,
    RESPONSE_BYTES_MAX,
    SUCCESS,
    Opcode,
    encode_message,
    status_name,
)
from hopsfs.protocol.errors import ProtocolError
from hopsfs.protocol.ipc_wire import parse_proto
from hopsfs.protocol.proto.datatransfer_pb2 import BlockOpResponseProto, OpRequestShortCircuitAccessProto
from hopsfs.protocol.short_circuit import (
    SHORT_CIRCUIT_VERSION,
    recv_op,
    send_descriptors,
    socket_path,
)

LOGGER = logging.getLogger("hopsfs.datanode.short_circuit")
LISTEN_BACKLOG = 64
SOCKET_MODE_DEFAULT = 0o600
# A connection that says nothing for this long is closed (clients ask, read, and come back later).
IDLE_TIMEOUT_S = 60.0


class ShortCircuitServer:
    """The datanode's domain socket for short-circuit reads."""

    def __init__(
        self,
        path_pattern: str,
        *,
        connections_max: int,
        socket_mode: int = SOCKET_MODE_DEFAULT,
    ) -> None:
        self._pattern = path_pattern
        self._connections_max = connections_max
        self._socket_mode = socket_mode
        self._listener: socket.socket | None = None
        self._path: Path | None = None
        self._accepter: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def path(self) -> Path | None:
        return self._path

    def start(self, context: ServerContext, port: int) -> Path:
        """Listen on the socket for DataTransferProtocol port `port`; return its path."""
        path = Path(socket_path(self._pattern, port))
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # a socket file left by a datanode that died
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            os.chmod(path, self._socket_mode)
            listener.listen(LISTEN_BACKLOG)
        except OSError:
            listener.close()
            raise
        self._listener, self._path = listener, path
        self._accepter = threading.Thread(
            target=self._accept_loop, args=(context,), name="short-circuit-accept", daemon=True
        )
        self._accepter.start()
        LOGGER.info("short-circuit reads served on %s", path)
        return path

    def stop(self) -> None:
        """Stop accepting, close every connection and remove the socket file."""
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._accepter is not None:
            self._accepter.join(timeout=5.0)
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()

    def _accept_loop(self, context: ServerContext) -> None:
        listener = self._listener
        while listener is not None and not self._stopping.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the listener was closed: stopping
            with self._lock:
                if len(self._connections) >= self._connections_max:
                    context.metrics.add("short_circuit_connections_refused")
                    connection.close()
                    continue
                self._connections.add(connection)
            threading.Thread(
                target=self._serve, args=(context, connection), name="short-circuit", daemon=True
            ).start()

    def _serve(self, context: ServerContext, connection: socket.socket) -> None:
        connection.settimeout(IDLE_TIMEOUT_S)
        try:
            while not self._stopping.is_set():
                try:
                    opcode, body = recv_op(connection)
                except ConnectionResetError:
                    return  # the client is done
                if opcode is not Opcode.REQUEST_SHORT_CIRCUIT_FDS:
                    unsupported = f"{opcode.name} is not served on the domain socket"
                    _answer(connection, ERROR_UNSUPPORTED, unsupported)
                    context.metrics.operation_finished(opcode.name, status_name(ERROR_UNSUPPORTED))
                    return
                request = parse_proto(OpRequestShortCircuitAccessProto, body, "short-circuit request")
                _hand_out(context, connection, request)
        except (ProtocolError, OSError, TimeoutError) as error:
            LOGGER.info("short-circuit connection ended: %s", error)
            broken = isinstance(error, ProtocolError)
            context.metrics.add("protocol_errors" if broken else "connection_errors")
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()


def _hand_out(
    context: ServerContext, connection: socket.socket, request: OpRequestShortCircuitAccessProto
) -> None:
    """Answer one request: SUCCESS with the replica's descriptors, or an error status."""
    block = request.header.block
    opcode = Opcode.REQUEST_SHORT_CIRCUIT_FDS.name
    try:
        if request.maxVersion < SHORT_CIRCUIT_VERSION:
            newer = f"block format {SHORT_CIRCUIT_VERSION} is newer than the client's {request.maxVersion}"
            _refuse(context, connection, ERROR_UNSUPPORTED, newer)
            return
        context.check_block_pool(block.poolId)
        if context.bad_replicas.is_bad(block.blockId):
            raise ReplicaKnownBad(f"blk_{block.blockId} failed verification here and is not served")
        reader = context.store.open_for_read(block.blockId, block.generationStamp)
    except (StorageError, RequestRefused) as error:
        _refuse(context, connection, status_of(error), message_of(error))
        return
    try:
        if reader.record.state is not ReplicaState.FINALIZED:
            _refuse(context, connection, ERROR_UNSUPPORTED, f"blk_{block.blockId} is still being written")
            return
        response = BlockOpResponseProto(status=SUCCESS, shortCircuitAccessVersion=SHORT_CIRCUIT_VERSION)
        connection.sendall(encode_message(response, RESPONSE_BYTES_MAX))
        send_descriptors(connection, list(reader.descriptors))
        context.metrics.add("short_circuit_replicas")
        context.metrics.operation_finished(opcode, None)
    finally:
        reader.close()  # the client holds its own duplicates now


def _refuse(context: ServerContext, connection: socket.socket, status: int, message: str) -> None:
    LOGGER.info("short-circuit request refused: %s %s", status_name(status), message)
    context.metrics.operation_finished(Opcode.REQUEST_SHORT_CIRCUIT_FDS.name, status_name(status))
    _answer(connection, status, message)


def _answer(connection: socket.socket, status: int, message: str) -> None:
    response = BlockOpResponseProto(status=status, message=message[:1000])  # type: ignore[arg-type]
    connection.sendall(encode_message(response, RESPONSE_BYTES_MAX))
