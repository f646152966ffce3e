"""Recycled packet buffers: a buffer is lent again only once no view of it survives, and the framing
reader assembles packets in them, whether bytes are fed or received in place."""

from __future__ import annotations

import os

from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType, compute_checksums
from hopsfs.protocol.dtp_framing import UnitReader, UnitSpec
from hopsfs.protocol.dtp_wire import PacketHeader, decode_packet, encode_packet
from hopsfs.protocol.packet_buffers import BUFFER_STEP_BYTES, PacketBuffers

PACKET = UnitSpec("packet", 16 * 1024 * 1024, "read packet")


def test_a_buffer_is_reused_only_after_every_view_is_gone() -> None:
    pool = PacketBuffers()
    first = pool.take(1000)
    first[:5] = b"hello"
    kept = first[1:3]  # a slice of the first buffer, as a reader keeps a packet's data
    del first
    second = pool.take(1000)
    assert pool.allocated == 2 and pool.reused == 0
    assert bytes(kept) == b"el"
    del second
    third = pool.take(900)
    assert pool.reused == 1 and len(third) == 900
    assert bytes(kept) == b"el"  # the buffer under `kept` was not the one lent again


def test_buffers_are_sized_in_steps_and_bigger_packets_replace_small_free_buffers() -> None:
    pool = PacketBuffers(buffers_max=1)
    view = pool.take(10)
    assert len(view.obj) == BUFFER_STEP_BYTES  # type: ignore[arg-type]
    del view
    bigger = pool.take(BUFFER_STEP_BYTES + 1)
    assert len(bigger.obj) == 2 * BUFFER_STEP_BYTES  # type: ignore[arg-type]
    del bigger
    pool.take(BUFFER_STEP_BYTES + 5)
    assert pool.allocated == 2 and pool.reused == 1


def _packet(data: bytes, seqno: int = 0) -> bytes:
    spec = ChecksumSpec(ChecksumType.CRC32C, 512)
    header = PacketHeader(0, seqno, False, len(data))
    return encode_packet(header, compute_checksums(spec, data), data)


def test_packets_received_in_place_equal_packets_fed() -> None:
    payloads = [os.urandom(size) for size in (1, 700, 70_000)]
    wire = b"".join(_packet(data, seqno) for seqno, data in enumerate(payloads))
    fed = [bytes(decode_packet(unit.data).data) for unit in UnitReader(len(wire)).feed(wire, lambda: PACKET)]
    pool = PacketBuffers()
    reader = UnitReader(len(wire), pool.take)
    received: list[bytes] = []
    offset = 0
    while offset < len(wire):
        target = reader.receive_target()
        if target is None:
            # Between packets: a small read through `feed` (the lengths and a little more).
            chunk = wire[offset : offset + 9]
            offset += len(chunk)
            received += [bytes(decode_packet(u.data).data) for u in reader.feed(chunk, lambda: PACKET)]
            continue
        count = min(len(target), 4096, len(wire) - offset)
        target[:count] = wire[offset : offset + count]
        offset += count
        unit = reader.received_into(count)
        if unit is not None:
            received.append(bytes(decode_packet(unit.data).data))
    assert fed == payloads and received == payloads
    assert reader.at_boundary and reader.receive_target() is None
