"""One Hadoop IPC connection from the client to one namenode, on asyncio.

Many calls share the connection: each gets a future keyed by its call id, resolved when its response
arrives, in whatever order the server answers. When the connection breaks, every waiting call fails
with `ConnectionLost`, which says whether the call had been handed to the socket (the caller decides
whether it is safe to send it again).
"""

from __future__ import annotations

import asyncio
import time

from google.protobuf.message import Message

from hopsfs.errors import HopsFSError, error_from_hadoop
from hopsfs.protocol.errors import RemoteProtocolError
from hopsfs.protocol.ipc_codec import CallError, CallResult, ClientConnection, ConnectionClosed


class ConnectionLost(HopsFSError):
    """The connection broke; `sent` tells whether the call may have reached the server."""

    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class RpcConnection(asyncio.Protocol):
    def __init__(
        self, *, user: str, client_id: bytes, address: tuple[str, int], caller_context: str | None = None
    ) -> None:
        self.address = address
        self._codec = ClientConnection(
            effective_user=user, client_id=client_id, caller_context=caller_context
        )
        self._transport: asyncio.Transport | None = None
        self._waiting: dict[int, asyncio.Future[bytes]] = {}
        self._closed_reason: str | None = None
        self.last_used = time.monotonic()

    @classmethod
    async def open(
        cls,
        address: tuple[str, int],
        *,
        user: str,
        client_id: bytes,
        timeout_s: float,
        caller_context: str | None = None,
    ) -> RpcConnection:
        loop = asyncio.get_running_loop()
        host, port = address
        _, connection = await asyncio.wait_for(
            loop.create_connection(
                lambda: cls(user=user, client_id=client_id, address=address, caller_context=caller_context),
                host,
                port,
            ),
            timeout_s,
        )
        return connection

    @property
    def is_open(self) -> bool:
        return self._transport is not None and self._closed_reason is None

    @property
    def calls_in_flight(self) -> int:
        return len(self._waiting)

    # -- asyncio.Protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        # Auth NONE: preamble and connection context go out at once; the server answers neither.
        self._transport.write(self._codec.start())  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        try:
            events = self._codec.receive_data(data)
        except RemoteProtocolError as error:
            self._break(f"protocol error from {self._peer()}: {error}")
            return
        for event in events:
            if isinstance(event, CallResult):
                self._resolve(event.call_id, event.response_bytes, None)
            elif isinstance(event, CallError):
                failure = error_from_hadoop(event.exception_class_name, event.message)
                if event.fatal:
                    self._break(f"{self._peer()} closed the connection: {failure}")
                    return
                self._resolve(event.call_id, None, failure)
            elif isinstance(event, ConnectionClosed):
                self._break(f"{self._peer()} closed the connection")

    def eof_received(self) -> bool:
        self._break(f"{self._peer()} closed the connection")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._break(f"connection to {self._peer()} lost" + (f": {exc}" if exc else ""))

    # -- calls ----------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        request: Message | bytes,
        response_type: type[Message],
        timeout_s: float,
        *,
        call_id: int | None = None,
        retry_count: int = 0,
    ) -> Message:
        """Send one call and wait for its answer; `request` may come serialized already (a batch of
        small files is encoded by hand). `call_id` None lets the connection pick one; a client that
        re-sends a call passes the id it used before and how many times it sent it."""
        if not self.is_open:
            raise ConnectionLost(self._closed_reason or "connection closed", sent=False)
        call_id, frame = self._codec.send_call(method, request, call_id=call_id, retry_count=retry_count)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        self.last_used = time.monotonic()
        assert self._transport is not None
        self._transport.write(frame)
        try:
            body = await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            self._waiting.pop(call_id, None)
            # The codec still expects an answer for this id; a late one would be a protocol error,
            # so the connection is not reused.
            self._break(f"call {method} to {self._peer()} timed out after {timeout_s:.0f} s")
            raise ConnectionLost(
                f"{method} to {self._peer()} timed out after {timeout_s:.0f} s", sent=True
            ) from None
        self.last_used = time.monotonic()
        response = response_type()
        response.ParseFromString(body)
        return response

    def close(self) -> None:
        self._break("connection closed by the client")

    # -- internals ------------------------------------------------------------------------------

    def _resolve(self, call_id: int, body: bytes | None, error: BaseException | None) -> None:
        future = self._waiting.pop(call_id, None)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(body or b"")

    def _break(self, reason: str) -> None:
        if self._closed_reason is None:
            self._closed_reason = reason
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(ConnectionLost(reason, sent=True))
        if self._transport is not None:
            transport, self._transport = self._transport, None
            transport.close()

    def _peer(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"
