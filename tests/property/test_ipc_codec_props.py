"""Property tests of the Hadoop IPC codec: split invariance, mutated streams, frame-size bounds."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.byte_mutations import mutate, mutation_ops

from hopsfs.protocol.errors import RemoteProtocolError
from hopsfs.protocol.ipc_codec import (
    FRAME_SIZE_BYTES_MAX,
    SETUP_FRAME_SIZE_BYTES_MAX,
    Call,
    ClientConnection,
    ConnectionClosed,
    ConnectionPreamble,
    ConnectionState,
    ServerConnection,
)
from hopsfs.protocol.ipc_events import ClientEvent, ServerEvent

# Mutation examples must finish well inside this: the codec's work is bounded by the bytes fed.
FUZZ_DEADLINE = timedelta(seconds=5)
PEAK_ALLOCATION_BYTES_MAX = 1024 * 1024

SINT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class CallSpec:
    method_name: str
    request: bytes
    retry_count: int
    state_id: int | None
    ping_after: bool


@dataclass(frozen=True)
class ClientStream:
    user: str
    client_id: bytes
    calls: tuple[CallSpec, ...]

    def connection(self) -> ClientConnection:
        return ClientConnection(effective_user=self.user, client_id=self.client_id)

    def encode(self) -> bytes:
        """Everything a client sends: handshake, then each call (and a ping where asked)."""
        client = self.connection()
        parts = [client.start()]
        for spec in self.calls:
            _, frame = client.send_call(
                spec.method_name, spec.request, retry_count=spec.retry_count, state_id=spec.state_id
            )
            parts.append(frame)
            if spec.ping_after:
                parts.append(client.send_ping())
        return b"".join(parts)


call_specs = st.builds(
    CallSpec,
    method_name=st.text(min_size=1, max_size=24),
    request=st.binary(max_size=128),
    retry_count=SINT32,
    state_id=st.none() | INT64,
    ping_after=st.booleans(),
)
client_streams = st.builds(
    ClientStream,
    user=st.text(max_size=16),
    client_id=st.binary(min_size=16, max_size=16),
    calls=st.lists(call_specs, max_size=6).map(tuple),
)


def feed_in_chunks(
    connection: ServerConnection | ClientConnection, stream: bytes, cuts: list[int]
) -> list[ServerEvent | ClientEvent]:
    """Feed `stream` split at `cuts` (positions into it), skipping empty chunks (b"" means EOF)."""
    events: list[ServerEvent | ClientEvent] = []
    for start, stop in pairwise([0, *sorted(cuts), len(stream)]):
        if stop > start:
            events.extend(connection.receive_data(stream[start:stop]))
    return events


def cut_points(data: st.DataObject, stream: bytes) -> list[int]:
    return data.draw(st.lists(st.integers(0, len(stream)), max_size=24), label="cuts")


@settings(max_examples=150)
@given(client_stream=client_streams, data=st.data())
def test_server_events_do_not_depend_on_split_points(
    client_stream: ClientStream, data: st.DataObject
) -> None:
    stream = client_stream.encode()
    expected = ServerConnection().receive_data(stream)
    events = feed_in_chunks(ServerConnection(), stream, cut_points(data, stream))
    assert events == expected
    calls = [event for event in events if isinstance(event, Call)]
    assert [(call.method_name, call.request_bytes) for call in calls] == [
        (spec.method_name, spec.request) for spec in client_stream.calls
    ]
    assert [(call.retry_count, call.state_id) for call in calls] == [
        (spec.retry_count, spec.state_id) for spec in client_stream.calls
    ]
    assert all(call.client_id == client_stream.client_id for call in calls)


@dataclass(frozen=True)
class Answer:
    succeed: bool
    body: bytes
    state_id: int | None


answers = st.builds(Answer, succeed=st.booleans(), body=st.binary(max_size=64), state_id=st.none() | INT64)


def answered_pair(client_stream: ClientStream, replies: list[Answer], order: list[int]) -> bytes:
    """The server's response stream to `client_stream`'s calls, answered in `order`."""
    client = client_stream.connection()
    server = ServerConnection()
    server.receive_data(client.start())
    call_ids = []
    for spec in client_stream.calls:
        call_id, frame = client.send_call(spec.method_name, spec.request)
        server.receive_data(frame)
        call_ids.append(call_id)
    frames = []
    for index in order:
        reply = replies[index]
        if reply.succeed:
            frames.append(server.success_response(call_ids[index], reply.body, state_id=reply.state_id))
        else:
            frames.append(server.error_response(call_ids[index], "java.io.IOException", repr(reply.body)))
    return b"".join(frames)


def ready_client(client_stream: ClientStream) -> ClientConnection:
    """A client in the state `answered_pair` left its twin in: handshake done, every call sent."""
    client = client_stream.connection()
    client.start()
    for spec in client_stream.calls:
        client.send_call(spec.method_name, spec.request)
    return client


@settings(max_examples=100)
@given(client_stream=client_streams, data=st.data())
def test_client_events_do_not_depend_on_split_points(
    client_stream: ClientStream, data: st.DataObject
) -> None:
    count = len(client_stream.calls)
    replies = data.draw(st.lists(answers, min_size=count, max_size=count), label="replies")
    order = data.draw(st.permutations(range(count)), label="order")
    stream = answered_pair(client_stream, replies, list(order))
    expected = feed_in_chunks(ready_client(client_stream), stream, [])
    events = feed_in_chunks(ready_client(client_stream), stream, cut_points(data, stream))
    assert events == expected
    assert len(events) == count


@settings(max_examples=300, deadline=FUZZ_DEADLINE, suppress_health_check=[HealthCheck.too_slow])
@given(client_stream=client_streams, ops=mutation_ops, data=st.data())
def test_mutated_client_streams_only_raise_remote_errors(
    client_stream: ClientStream, ops: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    stream = mutate(client_stream.encode(), ops)
    server = ServerConnection()
    try:
        events = feed_in_chunks(server, stream, cut_points(data, stream))
        for event in events:
            assert isinstance(event, ServerEvent)
            if isinstance(event, Call):
                # Every admitted call must be answerable exactly once.
                server.success_response(event.call_id, b"")
        assert server.receive_data(b"") == [ConnectionClosed()]
    except RemoteProtocolError as error:
        assert server.state is ConnectionState.ERROR
        # The fatal answer Hadoop would send must always be encodable, whatever the error.
        assert server.protocol_error_response(error)
        assert server.state is ConnectionState.CLOSED


@settings(max_examples=300, deadline=FUZZ_DEADLINE, suppress_health_check=[HealthCheck.too_slow])
@given(client_stream=client_streams, ops=mutation_ops, data=st.data())
def test_mutated_server_streams_only_raise_remote_errors(
    client_stream: ClientStream, ops: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    count = len(client_stream.calls)
    replies = data.draw(st.lists(answers, min_size=count, max_size=count), label="replies")
    stream = mutate(answered_pair(client_stream, replies, list(range(count))), ops)
    client = ready_client(client_stream)
    try:
        events = feed_in_chunks(client, stream, cut_points(data, stream))
        assert all(isinstance(event, ClientEvent) for event in events)
        if client.state is not ConnectionState.CLOSED:
            assert client.receive_data(b"") == [ConnectionClosed()]
    except RemoteProtocolError:
        assert client.state is ConnectionState.ERROR


@settings(max_examples=300, deadline=FUZZ_DEADLINE)
@given(garbage=st.binary(max_size=256), data=st.data())
def test_random_bytes_only_raise_remote_errors(garbage: bytes, data: st.DataObject) -> None:
    server = ServerConnection()
    try:
        feed_in_chunks(server, garbage, cut_points(data, garbage))
        server.receive_data(b"")
    except RemoteProtocolError:
        assert server.state is ConnectionState.ERROR


def ready_server() -> ServerConnection:
    server = ServerConnection()
    events = server.receive_data(ClientConnection(effective_user="alice").start())
    assert isinstance(events[0], ConnectionPreamble)
    return server


@settings(max_examples=50, deadline=None)
@given(
    length=st.integers(FRAME_SIZE_BYTES_MAX + 1, 2**31 - 1),
    body_start=st.binary(max_size=64),
)
def test_frames_over_the_maximum_are_rejected_before_allocation(length: int, body_start: bytes) -> None:
    server = ready_server()
    tracemalloc.start()
    try:
        with pytest.raises(RemoteProtocolError):
            server.receive_data(length.to_bytes(4, "big") + body_start)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_bytes < PEAK_ALLOCATION_BYTES_MAX


@settings(max_examples=50, deadline=None)
@given(length=st.integers(SETUP_FRAME_SIZE_BYTES_MAX + 1, 2**31 - 1))
def test_setup_frames_over_their_maximum_are_rejected(length: int) -> None:
    server = ServerConnection()
    with pytest.raises(RemoteProtocolError):
        server.receive_data(b"hrpc\x09\x00\x00" + length.to_bytes(4, "big"))


@settings(max_examples=50)
@given(length=st.integers(1, FRAME_SIZE_BYTES_MAX), body_start=st.binary(max_size=64))
def test_accepted_frames_buffer_only_the_bytes_received(length: int, body_start: bytes) -> None:
    server = ready_server()
    body_start = body_start[: length - 1]  # stay short of a complete frame
    assert server.receive_data(length.to_bytes(4, "big") + body_start) == []
    assert server._reader.buffered_bytes == len(body_start)
