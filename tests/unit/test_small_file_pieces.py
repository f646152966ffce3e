"""The pure pieces of small files: which tier a size selects, chunking, the client's batching of a
put, and the in-memory read stream's file-object semantics."""

from __future__ import annotations

import asyncio
import io
import weakref
from types import SimpleNamespace
from typing import Any, cast

import pytest

from hopsfs.client.inline_input_stream import InlineInputStream
from hopsfs.client.small_file_calls import BATCH_BYTES_MAX, BATCH_FILES_MAX, small_file_batches
from namenode import schema
from namenode.dal.inline_dal import CHUNKED, inline_chunks, inline_tier_of


def test_a_size_names_exactly_one_tier() -> None:
    assert inline_tier_of(0) is None
    assert [inline_tier_of(size) for size in (1, 1024, 1025, 2000, 2001, 4000)] == [0, 0, 1, 1, 2, 2]
    assert inline_tier_of(4001) == CHUNKED
    assert inline_tier_of(schema.INLINE_FILE_BYTES_MAX) == CHUNKED


def test_chunks_are_full_but_the_last_and_join_back() -> None:
    data = bytes(range(256)) * 100  # 25,600 bytes
    chunks = inline_chunks(data)
    assert [len(chunk) for chunk in chunks] == [8000, 8000, 8000, 1600]
    assert b"".join(chunks) == data


def test_put_batches_respect_both_bounds_and_keep_order() -> None:
    many = [(f"/f{index}", b"x") for index in range(2 * BATCH_FILES_MAX + 1)]
    batches = list(small_file_batches(many))
    assert [len(batch) for batch in batches] == [BATCH_FILES_MAX, BATCH_FILES_MAX, 1]
    assert [entry for batch in batches for entry in batch] == many
    big = [(f"/b{index}", b"y" * (BATCH_BYTES_MAX // 3 + 1)) for index in range(4)]
    assert [len(batch) for batch in small_file_batches(big)] == [2, 2]
    assert list(small_file_batches([])) == []


def _stream(data: bytes) -> InlineInputStream:
    context = SimpleNamespace(open_streams=weakref.WeakSet())
    return InlineInputStream(cast(Any, context), "/f", data)


def test_the_inline_stream_reads_seeks_and_closes_like_a_file() -> None:
    data = bytes(range(200))

    async def scenario() -> None:
        stream = _stream(data)
        assert stream.length == 200 and await stream.read(10) == data[:10]
        assert stream.seek(-5, io.SEEK_END) == 195 and await stream.read() == data[195:]
        assert await stream.read() == b""
        stream.seek(50)
        buffer = bytearray(30)
        assert await stream.readinto(buffer) == 30 and bytes(buffer) == data[50:80]
        assert await stream.read1(1000) == data[80:]
        assert await stream.read_at(190, 100) == data[190:] and stream.tell() == 200
        assert await stream.refresh() == 200
        await stream.close()
        with pytest.raises(ValueError, match="closed"):
            await stream.read()

    asyncio.run(scenario())
