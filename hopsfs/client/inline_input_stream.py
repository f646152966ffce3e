"""A read stream over a small file's bytes, fetched with its status in one readWithMetadata call:
a file stored in the metadata store has no blocks, so the block-reading machinery of
`AsyncInputStream` is replaced by a slice of the bytes already here. Position, seek and the read
methods are the base class's, so callers cannot tell the two apart."""

from __future__ import annotations

from hopsfs.client.data_context import DataContext
from hopsfs.client.input_stream import AsyncInputStream


class InlineInputStream(AsyncInputStream):
    def __init__(self, context: DataContext, path: str, data: bytes) -> None:
        # The base initializer would set up block locations and replica reads: nothing to set up.
        self.path = path
        self._context = context
        self._data = memoryview(data)
        self._read_ahead_bytes = 0
        self._position = 0
        self._read_ahead = None
        self._closed = False
        context.open_streams.add(self)

    @property
    def length(self) -> int:
        return len(self._data)

    @property
    def failovers(self) -> int:
        return 0

    @property
    def location_fetches(self) -> int:
        return 0

    @property
    def corrupt_replicas(self) -> set[tuple[int, str]]:
        return set()

    async def refresh(self) -> int:
        """A small file is never open for writing: its length cannot change under the reader."""
        self._check_open()
        return self.length

    async def read_at(self, offset: int, size: int) -> bytes:
        self._check_open()
        if offset < 0 or size < 0:
            raise ValueError(f"a positional read needs offset >= 0 and size >= 0, not {offset}, {size}")
        return bytes(self._data[offset : offset + size])

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._context.open_streams.discard(self)

    async def _take(self, size: int) -> memoryview:
        return self._data[self._position : self._position + size]

    async def _stop_read_ahead(self) -> None:
        return None
