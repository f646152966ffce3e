"""One client's Hadoop IPC connection: bytes in through the sans-I/O codec, calls out to the service,
responses back in whatever order they finish.

Read-only calls run on the event loop when the server says the store answers fast enough (embedded
SQLite: a point read costs less than a thread hop); everything else runs in the server's thread pool.
A client that sends faster than calls finish is paused (transport.pause_reading) at
`CALLS_PAUSE_READING` calls in flight and resumed at half that, so the codec's own bound is never the
thing that stops a well-behaved client. A client that does not read its responses is paused the same
way once the transport's write buffer passes its high-water mark (pause_writing). Events the codec
already parsed from one read wait in `_backlog` while either pause holds, so the calls running and the
responses buffered stay bounded whatever one read delivered. A peer that breaks the protocol gets
Hadoop's FATAL response and the connection is closed; other connections never notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING

from google.protobuf.message import Message

from hopsfs.errors import HopsFSError, hadoop_exception_class
from hopsfs.protocol import errors as protocol_errors
from hopsfs.protocol.errors import LocalProtocolError, RemoteProtocolError
from hopsfs.protocol.ipc_codec import (
    Call,
    ConnectionClosed,
    ConnectionContext,
    SaslMessage,
    ServerConnection,
)
from hopsfs.protocol.ipc_events import ServerEvent
from hopsfs.protocol.ipc_wire import CLIENT_PROTOCOL_NAME
from hopsfs.protocol.proto.rpc_header_pb2 import RpcResponseHeaderProto
from hopsfs.types import Caller, RetryKey
from namenode.ipc.service import METHODS, Method

if TYPE_CHECKING:
    from namenode.ipc.server import NamenodeServer

log = logging.getLogger("hopsfs.namenode.ipc")

CALLS_PAUSE_READING = 256
NO_SUCH_METHOD_EXCEPTION = "org.apache.hadoop.ipc.RpcNoSuchMethodException"
NO_SUCH_PROTOCOL_EXCEPTION = "org.apache.hadoop.ipc.RpcNoSuchProtocolException"
IO_EXCEPTION = "java.io.IOException"
_ERROR_NO_SUCH_METHOD = RpcResponseHeaderProto.ERROR_NO_SUCH_METHOD
_ERROR_NO_SUCH_PROTOCOL = RpcResponseHeaderProto.ERROR_NO_SUCH_PROTOCOL
_ERROR_RPC_SERVER = RpcResponseHeaderProto.ERROR_RPC_SERVER


class IpcConnection(asyncio.Protocol):
    def __init__(self, server: NamenodeServer) -> None:
        self._server = server
        self._codec = ServerConnection(frame_size_bytes_max=server.frame_size_bytes_max)
        self._transport: asyncio.Transport | None = None
        self._caller: Caller | None = None
        self._reading_paused = False
        self._writing_paused = False
        # Parsed events not yet acted on; holds at most what one read delivered (reading is paused
        # while it is not empty).
        self._backlog: deque[ServerEvent] = deque()
        self._dispatching = False
        # Calls started and not yet finished; the codec's count also holds the calls in the backlog.
        self._calls_running = 0
        self.opened_at = time.monotonic()
        self.last_activity = self.opened_at
        self.peer = "?"
        self.peer_host: str | None = None

    # -- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.peer_host = peer[0] if isinstance(peer, tuple) else None
        self._server.connection_opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._backlog.clear()
        self._server.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        try:
            events = self._codec.receive_data(data)
        except RemoteProtocolError as error:
            self._fail(error)
            return
        self._backlog.extend(events)
        self._dispatch_backlog()

    def pause_writing(self) -> None:
        # The peer is not reading its responses: start nothing new until it does, so a client that
        # only sends cannot grow the write buffer without bound.
        self._writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._dispatch_backlog()

    def eof_received(self) -> bool:
        try:
            self._codec.receive_data(b"")
        except RemoteProtocolError as error:
            log.info("connection from %s ended inside a frame: %s", self.peer, error)
        self.close()
        return False

    # -- state ----------------------------------------------------------------------------------

    @property
    def handshake_done(self) -> bool:
        return self._caller is not None

    @property
    def calls_in_flight(self) -> int:
        """Calls running now. Calls parked in the backlog behind a client that stopped reading its
        responses do not count: such a connection is idle, and the sweeper may close it."""
        return self._calls_running

    def close(self) -> None:
        self._backlog.clear()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def abort(self) -> None:
        """Drop the connection now, discarding unsent responses. close() first flushes the write
        buffer, which never happens when the peer stopped reading: the sweeper aborts instead."""
        self._backlog.clear()
        if self._transport is not None:
            self._transport.abort()
            self._transport = None

    # -- flow control ---------------------------------------------------------------------------

    def _dispatch_backlog(self) -> None:
        """Act on parsed events in order while the peer reads its responses and calls are not piling up."""
        if self._dispatching:
            return  # an inline call finished inside the loop below, which carries on by itself
        self._dispatching = True
        try:
            while self._backlog and self._transport is not None and not self._must_wait():
                event = self._backlog.popleft()
                if isinstance(event, Call):
                    self._start_call(event)
                elif isinstance(event, SaslMessage):
                    self._answer_sasl(event)
                elif isinstance(event, ConnectionContext):
                    self._accept_context(event)
                elif isinstance(event, ConnectionClosed):
                    self.close()
        finally:
            self._dispatching = False
        self._update_reading()

    def _must_wait(self) -> bool:
        return self._writing_paused or self._calls_running >= CALLS_PAUSE_READING

    def _update_reading(self) -> None:
        """Read while nothing waits; resume only once calls in flight fell to half the pause mark."""
        if self._transport is None:
            return
        if self._backlog or self._must_wait():
            if not self._reading_paused:
                self._reading_paused = True
                self._transport.pause_reading()
        elif self._reading_paused and self._calls_running <= CALLS_PAUSE_READING // 2:
            self._reading_paused = False
            self._transport.resume_reading()

    # -- handshake ------------------------------------------------------------------------------

    def _answer_sasl(self, event: SaslMessage) -> None:
        try:
            self._write(self._codec.answer_sasl_simple(event))
        except RemoteProtocolError as error:
            self._fail(error)

    def _accept_context(self, context: ConnectionContext) -> None:
        user = context.effective_user
        if not user:
            self._fail(_unauthorized("the connection context names no user"))
            return
        real_user = context.real_user
        if real_user and real_user != user and real_user != self._server.superuser:
            self._fail(_unauthorized(f"user {real_user} is not allowed to impersonate {user}"))
            return
        if context.protocol not in (None, "", CLIENT_PROTOCOL_NAME):
            self._fail(
                RemoteProtocolError(
                    f"unknown protocol {context.protocol}: this server speaks {CLIENT_PROTOCOL_NAME}",
                    exception_class_name=NO_SUCH_PROTOCOL_EXCEPTION,
                    error_detail=RpcResponseHeaderProto.FATAL_UNKNOWN,
                )
            )
            return
        self._caller = Caller(user, self._server.groups.groups(user), host=self.peer_host)

    # -- calls ----------------------------------------------------------------------------------

    def _start_call(self, call: Call) -> None:
        method = self._method(call)
        if method is None:
            return
        caller = self._caller
        assert caller is not None  # the codec admits calls only after the context
        if call.caller_context is not None:
            caller = Caller(caller.user, caller.groups, call.caller_context, caller.host)
        server = self._server
        server.metrics.calls_started += 1
        self._calls_running += 1
        started = time.perf_counter()
        if method.read_only and not method.walks_subtree and server.inline_reads:
            self._finish_call(call, method, started, *_run(server, caller, method, call))
            return
        future = server.executor.submit(_run, server, caller, method, call)
        loop = server.loop

        def done(finished: Future[tuple[Message | None, BaseException | None]]) -> None:
            loop.call_soon_threadsafe(self._finish_call, call, method, started, *finished.result())

        future.add_done_callback(done)

    def _method(self, call: Call) -> Method | None:
        if call.protocol_name != CLIENT_PROTOCOL_NAME:
            self._write_error(
                call.call_id,
                NO_SUCH_PROTOCOL_EXCEPTION,
                f"Unknown protocol: {call.protocol_name}",
                _ERROR_NO_SUCH_PROTOCOL,
            )
            return None
        method = METHODS.get(call.method_name)
        if method is None:
            self._write_error(
                call.call_id,
                NO_SUCH_METHOD_EXCEPTION,
                f"Unknown method {call.method_name} called on {call.protocol_name} protocol.",
                _ERROR_NO_SUCH_METHOD,
            )
        return method

    def _finish_call(
        self,
        call: Call,
        method: Method,
        started: float,
        response: Message | None,
        error: BaseException | None,
    ) -> None:
        self.last_activity = time.monotonic()
        self._calls_running -= 1
        java_class = self._answer(call, method, response, error)
        self._server.metrics.call_finished(method.name, time.perf_counter() - started, java_class)
        self._dispatch_backlog()

    def _answer(
        self, call: Call, method: Method, response: Message | None, error: BaseException | None
    ) -> str | None:
        """Send the call's answer (if the client is still there); the Java exception class sent, if any."""
        if self._transport is None:
            return None  # the client went away while its call ran; the call's effects stand
        if response is not None:
            try:
                self._write(self._codec.success_response(call.call_id, response))
                return None
            except LocalProtocolError as oversized:
                self._write_error(call.call_id, IO_EXCEPTION, str(oversized), _ERROR_RPC_SERVER)
                return IO_EXCEPTION
        if isinstance(error, RemoteProtocolError):
            # The frame was fine but its request body was not: answer this call, keep the connection.
            self._write_error(call.call_id, error.exception_class_name, str(error), _ERROR_RPC_SERVER)
            return error.exception_class_name
        if isinstance(error, HopsFSError):
            java_class = hadoop_exception_class(error)
            self._write_error(call.call_id, java_class, str(error))
            return java_class
        log.error("%s from %s failed", method.name, self.peer, exc_info=error)
        self._write_error(call.call_id, IO_EXCEPTION, f"internal error in {method.name}: {error!r}")
        return IO_EXCEPTION

    # -- output ---------------------------------------------------------------------------------

    def _write(self, frame: bytes) -> None:
        if self._transport is not None:
            self._transport.write(frame)

    def _write_error(
        self,
        call_id: int,
        exception_class_name: str,
        message: str,
        error_detail: int = RpcResponseHeaderProto.ERROR_APPLICATION,
    ) -> None:
        self._write(self._codec.error_response(call_id, exception_class_name, message, error_detail))

    def _fail(self, error: RemoteProtocolError) -> None:
        log.info("closing connection from %s: %s", self.peer, error)
        self._server.metrics.protocol_errors += 1
        with contextlib.suppress(LocalProtocolError):  # already closed: nothing more to say
            self._write(self._codec.protocol_error_response(error))
        self.close()


def _run(
    server: NamenodeServer, caller: Caller, method: Method, call: Call
) -> tuple[Message | None, BaseException | None]:
    retry = RetryKey(call.client_id, call.call_id, call.retry_count) if method.at_most_once else None
    try:
        return server.service.call(caller, method, call.request_bytes, retry), None
    except Exception as error:  # every failure becomes this call's answer, never a dead connection
        return None, error


def _unauthorized(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        message,
        error_detail=protocol_errors.FATAL_UNAUTHORIZED,
        exception_class_name=protocol_errors.ACCESS_CONTROL_EXCEPTION,
    )
