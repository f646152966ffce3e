"""How written bytes become packets: whole chunks, no packet across a block boundary, an end-of-block
packet per full block, an append's first packet ending at the chunk boundary, hflush resending the
partial chunk, seqnos in order, checksums matching the data."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hopsfs.client.stream_settings import StreamSettings
from hopsfs.client.write_packets import Packetizer, WritePacket
from hopsfs.protocol.dtp_checksum import ChecksumSpec, ChecksumType, compute_checksums

CRC32C = ChecksumSpec(ChecksumType.CRC32C)
SETTINGS = StreamSettings()
PACKET = SETTINGS.packet_data_bytes_max
BLOCK = 4 * PACKET + 2048  # a multiple of 512 that does not divide into whole packets


def replay(packets: list[WritePacket], block_size: int, initial: bytes = b"") -> list[bytes]:
    """The blocks a datanode would end up with, applying packets at their offsets."""
    blocks = [bytearray(initial)]
    for packet in packets:
        current = blocks[-1]
        assert packet.offset_in_block <= len(current), "a packet never skips data"
        del current[packet.offset_in_block :]
        current += packet.data
        assert len(current) <= block_size
        if packet.last_in_block:
            assert len(current) == packet.offset_in_block
            blocks.append(bytearray())
    if not blocks[-1]:
        blocks.pop()
    return [bytes(block) for block in blocks]


def check_packet_shapes(packets: list[WritePacket]) -> None:
    seqnos = [packet.seqno for packet in packets]
    assert seqnos == list(range(seqnos[0], seqnos[0] + len(seqnos))) if seqnos else True
    for packet in packets:
        assert packet.checksums == compute_checksums(CRC32C, packet.data)
        assert len(packet.data) <= PACKET
        if packet.last_in_block:
            assert packet.data == b""


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=3 * PACKET), min_size=1, max_size=12),
    flush_after=st.sets(st.integers(min_value=0, max_value=11)),
)
def test_any_writes_and_flushes_replay_to_the_same_bytes(sizes: list[int], flush_after: set[int]) -> None:
    rng = random.Random(sum(sizes))
    packetizer = Packetizer(SETTINGS, CRC32C, BLOCK)
    written, packets = b"", []
    for index, size in enumerate(sizes):
        data = rng.randbytes(size)
        written += data
        packets += packetizer.write(data)
        if index in flush_after:
            packets += packetizer.flush(sync=index % 2 == 0)
    packets += packetizer.finish()
    check_packet_shapes(packets)
    assert b"".join(replay(packets, BLOCK)) == written
    assert [len(block) for block in replay(packets, BLOCK)] == [
        min(BLOCK, len(written) - start) for start in range(0, len(written), BLOCK)
    ]


def test_full_packets_are_chunk_aligned_and_a_full_block_ends_with_an_empty_packet() -> None:
    packetizer = Packetizer(SETTINGS, CRC32C, BLOCK)
    packets = list(packetizer.write(bytes(BLOCK + 10)))
    assert [packet.offset_in_block for packet in packets] == [
        0,
        PACKET,
        2 * PACKET,
        3 * PACKET,
        4 * PACKET,
        BLOCK,
    ]
    assert [len(packet.data) for packet in packets] == [PACKET] * 4 + [2048, 0]
    assert packets[-1].last_in_block
    assert packetizer.bytes_in_block == 10
    tail = packetizer.finish()
    assert [(packet.offset_in_block, len(packet.data), packet.last_in_block) for packet in tail] == [
        (0, 10, False),
        (10, 0, True),
    ]


@pytest.mark.parametrize("existing", [1, 100, 511, 513, 1000])
def test_an_append_first_fills_the_partial_chunk_then_goes_aligned(existing: int) -> None:
    packetizer = Packetizer(SETTINGS, CRC32C, BLOCK, bytes_in_block=existing)
    packets = list(packetizer.write(bytes(3 * PACKET)))
    first, second = packets[0], packets[1]
    assert first.offset_in_block == existing
    assert first.end == existing + (512 - existing % 512)  # up to the chunk boundary only
    assert second.offset_in_block % 512 == 0 and len(second.data) == PACKET


def test_hflush_resends_the_partial_chunk_with_the_next_bytes() -> None:
    packetizer = Packetizer(SETTINGS, CRC32C, BLOCK)
    assert list(packetizer.write(b"a" * 700)) == []
    flushed = packetizer.flush()
    assert [(packet.offset_in_block, len(packet.data)) for packet in flushed] == [(0, 700)]
    assert packetizer.flush() == []  # nothing new: nothing to send
    assert [(p.offset_in_block, len(p.data), p.sync_block) for p in packetizer.flush(sync=True)] == [
        (700, 0, True)
    ]
    assert list(packetizer.write(b"b" * 100)) == []
    again = packetizer.flush()
    # The chunk [512, 1024) is sent again from its start, now with 188 old and 100 new bytes.
    assert [(packet.offset_in_block, packet.data) for packet in again] == [(512, b"a" * 188 + b"b" * 100)]


def test_seqnos_run_on_across_blocks_from_the_first_one() -> None:
    packetizer = Packetizer(SETTINGS, CRC32C, 1024, first_seqno=41)
    packets = [*packetizer.write(bytes(2500)), *packetizer.finish()]
    assert [packet.seqno for packet in packets] == list(range(41, 41 + len(packets)))
    assert [packet.last_in_block for packet in packets].count(True) == 3


def test_a_block_size_that_is_not_a_multiple_of_the_chunk_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 512"):
        Packetizer(SETTINGS, CRC32C, 1000)
