"""Whole-packet CRC32C verification: it accepts exactly the packets the per-chunk check accepts (every
size, chunk size and single-bit flip), falls back to naming the bad chunk, and the codec uses it."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hopsfs.protocol.crc32c_combine import Crc32cCombiner
from hopsfs.protocol.dtp_checksum import (
    ChecksumSpec,
    ChecksumType,
    chunked_crc32c,
    crc32c_combiner,
    crc32c_function,
    first_mismatch,
)

SIZES = [1, 3, 4, 511, 512, 513, 1024, 1027, 5000, 64 * 1024 + 1, 512 * 1024 - 7, 512 * 1024]


@pytest.mark.parametrize("bytes_per_checksum", [4, 512, 4096])
@pytest.mark.parametrize("size", SIZES)
def test_intact_packets_match(bytes_per_checksum: int, size: int) -> None:
    data = os.urandom(size)
    combiner = Crc32cCombiner(crc32c_function(), bytes_per_checksum)
    assert combiner.matches(data, chunked_crc32c(data, bytes_per_checksum))


def test_an_empty_packet_matches_its_empty_checksums() -> None:
    assert Crc32cCombiner(crc32c_function(), 512).matches(b"", b"")


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=20_000),
    bytes_per_checksum=st.sampled_from([4, 8, 512, 1024]),
    flip=st.integers(min_value=0),
    in_checksums=st.booleans(),
)
def test_any_single_bit_flip_is_caught(
    data: bytes, bytes_per_checksum: int, flip: int, in_checksums: bool
) -> None:
    checksums = bytearray(chunked_crc32c(data, bytes_per_checksum))
    damaged = bytearray(data)
    target = checksums if in_checksums else damaged
    bit = flip % (8 * len(target))
    target[bit // 8] ^= 1 << (bit % 8)
    combiner = crc32c_combiner(bytes_per_checksum)
    assert not combiner.matches(bytes(damaged), bytes(checksums))


def test_swapped_chunks_are_caught() -> None:
    # Each chunk still matches its own checksum, but not in this order: the combine is positional.
    data = os.urandom(2048)
    checksums = chunked_crc32c(data, 512)
    swapped = data[512:1024] + data[:512] + data[1024:]
    assert not crc32c_combiner(512).matches(swapped, checksums)


def test_a_mismatch_still_names_the_first_bad_chunk() -> None:
    spec = ChecksumSpec(ChecksumType.CRC32C, 512)
    data = bytearray(os.urandom(512 * 10))
    checksums = chunked_crc32c(data, 512)
    data[512 * 7 + 100] ^= 0x40
    assert first_mismatch(spec, data, checksums) == 7


def test_chunk_sizes_not_a_multiple_of_four_use_the_per_chunk_check() -> None:
    spec = ChecksumSpec(ChecksumType.CRC32C, 510)
    data = bytearray(os.urandom(5000))
    checksums = chunked_crc32c(data, 510)
    assert first_mismatch(spec, data, checksums) is None
    data[3000] ^= 1
    assert first_mismatch(spec, data, checksums) == 3000 // 510
    with pytest.raises(Exception, match="4-byte words"):
        Crc32cCombiner(crc32c_function(), 510)
