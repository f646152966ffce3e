"""Property tests of the DataTransferProtocol codec: packet sequences survive any chunking of the byte
stream, corrupt checksums are always caught, and truncated, oversized, mutated or random input only ever
raises RemoteProtocolError without buffering past the bound."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.byte_mutations import mutate, mutation_ops

from hopsfs.protocol import dtp_wire
from hopsfs.protocol.dtp_checksum import ChecksumMismatch, ChecksumSpec, ChecksumType
from hopsfs.protocol.dtp_codec import DataTransferClientConnection, DataTransferServerConnection
from hopsfs.protocol.dtp_events import (
    ClientEvent,
    ConnectionClosed,
    PacketReceived,
    ServerEvent,
    TransferState,
    WriteBlockRequested,
)
from hopsfs.protocol.errors import RemoteProtocolError
from hopsfs.protocol.proto import datatransfer_pb2, hdfs_pb2

FUZZ_DEADLINE = timedelta(seconds=5)
PEAK_ALLOCATION_BYTES_MAX = 1024 * 1024
# A small buffer cap for the fuzzing server: every unit it accepts is at most this big.
SMALL_BUFFER_BYTES = 8192

checksum_specs = st.builds(
    ChecksumSpec, st.sampled_from(list(ChecksumType)), st.sampled_from([1, 7, 64, 512, 4096])
)
crc_specs = st.builds(
    ChecksumSpec, st.sampled_from([ChecksumType.CRC32, ChecksumType.CRC32C]), st.sampled_from([7, 64, 512])
)


@dataclass(frozen=True)
class WriteItem:
    """One write packet (data, maybe an hflush with sync) or a heartbeat."""

    heartbeat: bool
    data: bytes
    sync_block: bool


write_items = st.lists(
    st.builds(WriteItem, heartbeat=st.booleans(), data=st.binary(max_size=2500), sync_block=st.booleans()),
    max_size=6,
)


def write_request(spec: ChecksumSpec) -> datatransfer_pb2.OpWriteBlockProto:
    block = hdfs_pb2.ExtendedBlockProto(poolId="BP-1", blockId=1, generationStamp=1)
    # An empty client name: a datanode replicating, which streams packets right after the op.
    header = datatransfer_pb2.ClientOperationHeaderProto(
        baseHeader=datatransfer_pb2.BaseHeaderProto(block=block), clientName=""
    )
    return datatransfer_pb2.OpWriteBlockProto(
        header=header,
        stage=datatransfer_pb2.OpWriteBlockProto.PIPELINE_SETUP_CREATE,
        pipelineSize=1,
        minBytesRcvd=0,
        maxBytesRcvd=0,
        latestGenerationStamp=1,
        requestedChecksum=spec.to_proto(),
    )


def write_frames(spec: ChecksumSpec, items: list[WriteItem]) -> list[bytes]:
    """Everything a replicating datanode sends: the op, each packet, the empty last packet."""
    client = DataTransferClientConnection()
    frames = [client.send_write_block(write_request(spec))]
    offset = 0
    for item in items:
        if item.heartbeat:
            frames.append(client.send_heartbeat())
        else:
            frames.append(client.send_packet(offset, item.data, sync_block=item.sync_block)[1])
            offset += len(item.data)
    frames.append(client.send_last_packet(offset)[1])
    return frames


def feed_in_chunks(
    connection: DataTransferServerConnection | DataTransferClientConnection,
    stream: bytes,
    cuts: list[int],
    buffer_bound: int | None = None,
) -> list[ServerEvent | ClientEvent]:
    """Feed `stream` split at `cuts`, checking after each chunk that no more than `buffer_bound` is held."""
    events: list[ServerEvent | ClientEvent] = []
    for start, stop in pairwise([0, *sorted(cuts), len(stream)]):
        if connection.state is TransferState.CLOSED:
            break  # an error response or a failed ack ended the connection; a transport stops reading
        if stop > start:
            events.extend(connection.receive_data(stream[start:stop]))
            if buffer_bound is not None:
                assert connection.buffered_bytes <= buffer_bound
    return events


def cut_points(data: st.DataObject, stream: bytes) -> list[int]:
    return data.draw(st.lists(st.integers(0, len(stream)), max_size=24), label="cuts")


@settings(max_examples=150, deadline=FUZZ_DEADLINE)
@given(spec=checksum_specs, items=write_items, data=st.data())
def test_write_packets_survive_any_chunking(
    spec: ChecksumSpec, items: list[WriteItem], data: st.DataObject
) -> None:
    stream = b"".join(write_frames(spec, items))
    server = DataTransferServerConnection()
    events = feed_in_chunks(server, stream, cut_points(data, stream))
    assert isinstance(events[0], WriteBlockRequested) and events[0].checksum == spec
    packets = [event for event in events[1:] if isinstance(event, PacketReceived)]
    assert len(packets) == len(events) - 1 == len(items) + 1
    for item, packet in zip(items, packets, strict=False):
        assert packet.header.is_heartbeat == item.heartbeat
        assert bytes(packet.data) == (b"" if item.heartbeat else item.data)
        assert packet.header.sync_block == (item.sync_block and not item.heartbeat)
    assert packets[-1].header.last_packet_in_block
    assert server.state is TransferState.WRITE_CLOSING
    assert server.acks_pending == tuple(packet.header.seqno for packet in packets)


def read_stream(
    spec: ChecksumSpec, block: bytes, offset: int, length: int, packet_sizes: list[int]
) -> tuple[DataTransferClientConnection, bytes, int]:
    """A client that asked for [offset, offset+length), and the datanode's whole answer to it."""
    client, server = DataTransferClientConnection(), DataTransferServerConnection()
    block_header = datatransfer_pb2.ClientOperationHeaderProto(
        baseHeader=datatransfer_pb2.BaseHeaderProto(
            block=hdfs_pb2.ExtendedBlockProto(poolId="BP-1", blockId=1, generationStamp=1)
        ),
        clientName="reader",
    )
    request = datatransfer_pb2.OpReadBlockProto(header=block_header, offset=offset, len=length)
    server.receive_data(client.send_read_block(request))
    chunk_offset = offset - offset % spec.bytes_per_checksum
    parts = [server.send_response(dtp_wire.read_response(spec, chunk_offset))]
    position = chunk_offset
    # A datanode sends whole chunks: the last packet may run on to the end of the chunk holding the end.
    chunk_end = -(-(offset + length) // spec.bytes_per_checksum) * spec.bytes_per_checksum
    for index in range(len(block)):
        if position >= offset + length:
            break
        size = min(packet_sizes[index % len(packet_sizes)], chunk_end - position)
        parts.append(server.send_packet(position, block[position : position + size]))
        position += size
    parts.append(server.send_last_packet())
    return client, b"".join(parts), chunk_offset


@settings(max_examples=150, deadline=FUZZ_DEADLINE)
@given(
    spec=checksum_specs,
    offset=st.integers(0, 3000),
    length=st.integers(0, 3000),
    packet_sizes=st.lists(st.integers(1, 2000), min_size=1, max_size=4),
    data=st.data(),
)
def test_read_packets_survive_any_chunking(
    spec: ChecksumSpec, offset: int, length: int, packet_sizes: list[int], data: st.DataObject
) -> None:
    block = bytes(index % 251 for index in range(offset + length + 2000))
    client, stream, chunk_offset = read_stream(spec, block, offset, length, packet_sizes)
    events = feed_in_chunks(client, stream, cut_points(data, stream))
    packets = [event for event in events if isinstance(event, PacketReceived)]
    received = b"".join(bytes(packet.data) for packet in packets)
    assert received == block[chunk_offset : chunk_offset + len(received)]
    assert chunk_offset + len(received) >= offset + length
    assert packets[-1].header.last_packet_in_block and client.state is TransferState.READ_STATUS_DUE


@settings(max_examples=150, deadline=FUZZ_DEADLINE)
@given(spec=crc_specs, items=write_items, data=st.data())
def test_corrupt_write_checksums_are_always_detected(
    spec: ChecksumSpec, items: list[WriteItem], data: st.DataObject
) -> None:
    frames = write_frames(spec, items)
    candidates = [
        (index, item) for index, item in enumerate(items, start=1) if not item.heartbeat and item.data
    ]
    if not candidates:
        return
    frame_index, item = data.draw(st.sampled_from(candidates), label="packet")
    frame = bytearray(frames[frame_index])
    # Flip one bit among the packet's checksums and data: a CRC catches every single-bit error.
    covered = spec.checksums_length(len(item.data)) + len(item.data)
    bit = data.draw(st.integers(0, covered * 8 - 1), label="bit")
    frame[len(frame) - covered + bit // 8] ^= 1 << (bit % 8)
    frames[frame_index] = bytes(frame)
    stream = b"".join(frames)
    server = DataTransferServerConnection()
    with pytest.raises(ChecksumMismatch) as caught:
        feed_in_chunks(server, stream, cut_points(data, stream))
    # Data packets are numbered 0, 1, ... in order; heartbeats carry -1.
    assert caught.value.seqno == sum(1 for entry in items[: frame_index - 1] if not entry.heartbeat)
    assert server.state is TransferState.ERROR
    # The corrupt packet was admitted so it can be acked ERROR_CHECKSUM in its turn.
    assert server.acks_pending[-1] == caught.value.seqno


@settings(max_examples=100, deadline=FUZZ_DEADLINE)
@given(
    spec=crc_specs,
    length=st.integers(1, 3000),
    packet_size=st.integers(1, 1500),
    data=st.data(),
)
def test_corrupt_read_checksums_are_always_detected(
    spec: ChecksumSpec, length: int, packet_size: int, data: st.DataObject
) -> None:
    block = bytes(index % 253 for index in range(length + 2000))
    client, stream, _ = read_stream(spec, block, 0, length, [packet_size])
    # The first packet starts after the response; flip a bit among its checksums and data.
    response_length = stream[0] + 1
    first_length = dtp_wire.packet_wire_length(stream[response_length : response_length + 6])
    data_length = min(packet_size, -(-length // spec.bytes_per_checksum) * spec.bytes_per_checksum)
    covered = spec.checksums_length(data_length) + data_length
    bit = data.draw(st.integers(0, covered * 8 - 1), label="bit")
    corrupt = bytearray(stream)
    corrupt[response_length + first_length - covered + bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(ChecksumMismatch) as caught:
        feed_in_chunks(client, bytes(corrupt), cut_points(data, stream))
    assert caught.value.seqno == 0


@settings(max_examples=300, deadline=FUZZ_DEADLINE, suppress_health_check=[HealthCheck.too_slow])
@given(spec=checksum_specs, items=write_items, ops=mutation_ops, data=st.data())
def test_mutated_write_streams_only_raise_remote_errors(
    spec: ChecksumSpec, items: list[WriteItem], ops: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    stream = mutate(b"".join(write_frames(spec, items)), ops)
    server = DataTransferServerConnection(buffered_bytes_max=SMALL_BUFFER_BYTES)
    try:
        events = feed_in_chunks(server, stream, cut_points(data, stream), SMALL_BUFFER_BYTES)
        assert all(isinstance(event, ServerEvent) for event in events)
        assert server.receive_data(b"") == [ConnectionClosed()]
    except RemoteProtocolError:
        assert server.state is TransferState.ERROR
        assert server.buffered_bytes <= SMALL_BUFFER_BYTES


@settings(max_examples=200, deadline=FUZZ_DEADLINE, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=checksum_specs,
    length=st.integers(0, 3000),
    packet_size=st.integers(1, 1500),
    ops=mutation_ops,
    data=st.data(),
)
def test_mutated_read_streams_only_raise_remote_errors(
    spec: ChecksumSpec, length: int, packet_size: int, ops: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    block = bytes(range(256)) * 20
    client, stream, _ = read_stream(spec, block, 0, length, [packet_size])
    stream = mutate(stream, ops)
    try:
        events = feed_in_chunks(client, stream, cut_points(data, stream))
        assert all(isinstance(event, ClientEvent) for event in events)
        if client.state is not TransferState.CLOSED:
            assert client.receive_data(b"") == [ConnectionClosed()]
    except RemoteProtocolError:
        assert client.state is TransferState.ERROR


@settings(max_examples=150, deadline=FUZZ_DEADLINE)
@given(spec=checksum_specs, items=write_items, cut=st.integers(0))
def test_truncated_streams_close_cleanly_only_at_unit_boundaries(
    spec: ChecksumSpec, items: list[WriteItem], cut: int
) -> None:
    frames = write_frames(spec, items)
    stream = b"".join(frames)
    end = cut % (len(stream) + 1)
    boundaries = {0, *(sum(len(frame) for frame in frames[: count + 1]) for count in range(len(frames)))}
    server = DataTransferServerConnection()
    if end:
        server.receive_data(stream[:end])
    if end in boundaries:
        assert server.receive_data(b"") == [ConnectionClosed()]
    else:
        with pytest.raises(RemoteProtocolError, match="inside a message"):
            server.receive_data(b"")


@settings(max_examples=300, deadline=FUZZ_DEADLINE)
@given(garbage=st.binary(max_size=256), data=st.data())
def test_random_bytes_only_raise_remote_errors(garbage: bytes, data: st.DataObject) -> None:
    server = DataTransferServerConnection(buffered_bytes_max=SMALL_BUFFER_BYTES)
    try:
        feed_in_chunks(server, garbage, cut_points(data, garbage), SMALL_BUFFER_BYTES)
        server.receive_data(b"")
    except RemoteProtocolError:
        assert server.state is TransferState.ERROR


def writing_server() -> DataTransferServerConnection:
    server = DataTransferServerConnection()
    server.receive_data(
        DataTransferClientConnection().send_write_block(write_request(ChecksumSpec(ChecksumType.CRC32C)))
    )
    assert server.state is TransferState.WRITE_STREAMING
    return server


@settings(max_examples=50, deadline=None)
@given(
    payload_length=st.integers(4, 2**31 - 1),
    header_length=st.integers(1, dtp_wire.PACKET_HEADER_BYTES_MAX),
    body_start=st.binary(max_size=64),
)
def test_packets_over_the_maximum_are_rejected_before_allocation(
    payload_length: int, header_length: int, body_start: bytes
) -> None:
    if payload_length + header_length <= dtp_wire.PACKET_SIZE_BYTES_MAX:
        payload_length = dtp_wire.PACKET_SIZE_BYTES_MAX
    server = writing_server()
    lengths = payload_length.to_bytes(4, "big") + header_length.to_bytes(2, "big")
    tracemalloc.start()
    try:
        with pytest.raises(RemoteProtocolError, match="exceeds"):
            server.receive_data(lengths + body_start)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_bytes < PEAK_ALLOCATION_BYTES_MAX


@settings(max_examples=50, deadline=None)
@given(length=st.integers(dtp_wire.OP_MESSAGE_BYTES_MAX + 1, 2**32 - 1))
def test_ops_over_the_maximum_are_rejected_from_their_length(length: int) -> None:
    from hopsfs.protocol.ipc_wire import encode_varint

    server = DataTransferServerConnection()
    with pytest.raises(RemoteProtocolError, match="exceeds the 1048576-byte maximum"):
        server.receive_data(bytes.fromhex("001c 50") + encode_varint(length))
    assert server.buffered_bytes <= 3 + 5


@settings(max_examples=50)
@given(body_length=st.integers(1, dtp_wire.PACKET_SIZE_BYTES_MAX - 100), body_start=st.binary(max_size=64))
def test_accepted_packets_buffer_only_the_bytes_received(body_length: int, body_start: bytes) -> None:
    server = writing_server()
    header_length = 25
    payload_length = body_length + 4 - header_length if body_length > header_length else 4
    body_start = body_start[: payload_length - 4 + header_length - 1]  # stay short of a whole packet
    lengths = payload_length.to_bytes(4, "big") + header_length.to_bytes(2, "big")
    assert server.receive_data(lengths + body_start) == []
    assert server.buffered_bytes == 6 + len(body_start)
