"""Moving file data for `HopsFileSystem`: cat, pipe, put, get and cp, as coroutines.

A mixin, as `hopsfs.client.file_streams` is for the client, so `filesystem.py` keeps to the
namespace. Each coroutine moves one file; fsspec's bulk forms (`cat`, `pipe`, `put`, `get`, `copy`)
run many of them concurrently on the driver's one client, at most `batch_size` in flight.

Bounds: whole-file reads (`cat_file`) hold the range asked for, nothing more; streaming copies
(put, get, cp) hold one chunk of `TRANSFER_CHUNK_BYTES` plus the input stream's read-ahead. Local
disk I/O runs in a worker thread so the loop keeps serving the other transfers.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback

from hopsfs.client import AsyncClient, AsyncInputStream, AsyncOutputStream
from hopsfs.fsspec.errors import translated
from hopsfs.fsspec.files import open_stream
from hopsfs.fsspec.paths import strip_protocol
from hopsfs.invariants import check

TRANSFER_CHUNK_BYTES = 8 * 1024 * 1024
WRITE_MODES = {"overwrite": True, "create": False}


def byte_range(start: int | None, end: int | None, length: int) -> tuple[int, int]:
    """fsspec's [start, end) for a file of `length` bytes as offsets in 0..length (negative values
    count from the end, as in Python slices); an empty range when end falls before start."""
    first = _offset(start, length, 0)
    stop = _offset(end, length, length)
    return first, max(first, stop)


def _offset(value: int | None, length: int, default: int) -> int:
    if value is None:
        return default
    if value < 0:
        return max(length + value, 0)
    return min(value, length)


class Transfers:
    def _client(self) -> AsyncClient:
        raise NotImplementedError

    async def _makedirs(self, path: str, exist_ok: bool = False) -> None:
        raise NotImplementedError

    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        path = strip_protocol(path)
        stream = await open_stream(self._client(), path, "rb", buffer_size=0)
        check(isinstance(stream, AsyncInputStream), "mode rb opens an input stream")
        with translated(path):
            try:
                first, stop = byte_range(start, end, stream.length)
                data = await stream.read_at(first, stop - first)
            finally:
                await stream.close()
        check(len(data) == stop - first, "a ranged read returns the whole range of a closed file")
        return data

    async def _pipe_file(
        self, path: str, value: bytes | bytearray | memoryview, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        if mode not in WRITE_MODES:
            raise ValueError(f"mode must be one of {sorted(WRITE_MODES)}, not {mode!r}")
        path = strip_protocol(path)
        with translated(path):
            await self._client().write_bytes(path, value, overwrite=WRITE_MODES[mode])

    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        source = strip_protocol(path1)
        target = strip_protocol(path2)
        if source == target:
            return  # copying onto itself would truncate the source before reading it
        client = self._client()
        with translated(source):
            status = await client.stat(source)
        if status.is_directory:
            # fsspec hands a recursive copy's directories here too: an empty one must exist after.
            with translated(target):
                await client.mkdirs(target)
            return
        with translated(source):
            reader = await client.open_input(source)
        try:
            with translated(target):
                writer = await client.create(target, overwrite=True)
            await _copy_stream(reader, writer, target, DEFAULT_CALLBACK)
        finally:
            await reader.close()

    async def _put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        if mode not in WRITE_MODES:
            raise ValueError(f"mode must be one of {sorted(WRITE_MODES)}, not {mode!r}")
        target = strip_protocol(rpath)
        if os.path.isdir(lpath):
            await self._makedirs(target, exist_ok=True)
            return
        with open(lpath, "rb") as local:
            callback.set_size(os.fstat(local.fileno()).st_size)
            with translated(target):
                writer = await self._client().create(target, overwrite=WRITE_MODES[mode])
            try:
                while chunk := await asyncio.to_thread(local.read, TRANSFER_CHUNK_BYTES):
                    with translated(target):
                        await writer.write(chunk)
                    callback.relative_update(len(chunk))
                with translated(target):
                    await writer.close()
            except BaseException:
                await writer.abort()
                raise

    async def _get_file(
        self, rpath: str, lpath: str, callback: Callback = DEFAULT_CALLBACK, **kwargs: Any
    ) -> None:
        source = strip_protocol(rpath)
        client = self._client()
        with translated(source):
            status = await client.stat(source)
        if status.is_directory:
            os.makedirs(lpath, exist_ok=True)
            return
        with translated(source):
            reader = await client.open_input(source)
        try:
            callback.set_size(reader.length)
            with open(lpath, "wb") as local:
                while True:
                    with translated(source):
                        chunk = await reader.read(TRANSFER_CHUNK_BYTES)
                    if not chunk:
                        break
                    await asyncio.to_thread(local.write, chunk)
                    callback.relative_update(len(chunk))
        finally:
            await reader.close()


async def _copy_stream(
    reader: AsyncInputStream, writer: AsyncOutputStream, target: str, callback: Callback
) -> None:
    """Everything `reader` holds into `writer`, which is completed (or aborted on failure)."""
    copied = 0
    try:
        while True:
            with translated(reader.path):
                chunk = await reader.read(TRANSFER_CHUNK_BYTES)
            if not chunk:
                break
            with translated(target):
                await writer.write(chunk)
            copied += len(chunk)
            callback.relative_update(len(chunk))
        with translated(target):
            await writer.close()
    except BaseException:
        await writer.abort()
        raise
    check(copied == reader.length, "a copy moves every byte the source had when opened")
