"""Data workloads: small files (write, then read back, N files of 4-64 KiB per client) and big files
(one file per client written, then read, sequentially in chunks).

Contents are random bytes from the client's seeded generator. Every read is compared with what was
written (outside the timed call): a small file byte for byte, a big file chunk by chunk, each chunk
carrying its own index in its first 8 bytes so a chunk read from the wrong offset is caught.
Both need the target's `data` capability; without it the runner skips them with the target's reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from bench.harness import distributions
from bench.harness.errors import WrongAnswer
from bench.harness.targets import DATA
from bench.harness.workloads.base import ClientContext, Step, Workload, WorkloadSettings
from bench.harness.workloads.checks import bind, expect_bytes

WRITE = "write"
READ = "read"
OPEN = "open"
CLOSE = "close"
CHUNK_INDEX_BYTES = 8


class _DataWorkload(Workload):
    phases = (WRITE, READ)

    def __init__(self, context: ClientContext) -> None:
        super().__init__(context)
        self.directory = context.path(context.client_name)

    @classmethod
    def requirements(cls, settings: WorkloadSettings) -> frozenset[str]:
        return frozenset({DATA})

    @property
    def home(self) -> str:
        return self.directory

    def setup(self) -> None:
        self.target.mkdirs(self.directory)

    def teardown(self) -> None:
        self.target.delete(self.directory, recursive=True)


class SmallFilesWorkload(_DataWorkload):
    name = "small-files"

    def __init__(self, context: ClientContext) -> None:
        super().__init__(context)
        generator = context.random
        low, high = distributions.SMALL_FILE_BYTES_MIN, distributions.SMALL_FILE_BYTES_MAX
        self.payload = generator.randbytes(2 * high)
        self.files: list[tuple[str, bytes]] = []
        for index in range(self.settings.small_files):
            size = generator.randint(low, high)
            offset = generator.randrange(high)  # every file's bytes differ from its neighbours'
            self.files.append((f"{self.directory}/s{index}", self.payload[offset : offset + size]))

    def steps(self, phase: str) -> Iterator[Step]:
        for path, data in self.files:
            if phase == WRITE:
                yield Step(WRITE, bind(self.target.create, path, data), payload_bytes=len(data))
            elif phase == READ:
                yield Step(READ, bind(self.target.read, path), expect_bytes(path, data), len(data))
            else:
                raise ValueError(f"small-files has no phase {phase!r}")


class BigFilesWorkload(_DataWorkload):
    name = "big-files"

    def __init__(self, context: ClientContext) -> None:
        super().__init__(context)
        self.path = f"{self.directory}/big"
        self.chunk = context.random.randbytes(self.settings.chunk_bytes)
        self.stream: BinaryIO | None = None

    def steps(self, phase: str) -> Iterator[Step]:
        if phase not in (WRITE, READ):
            raise ValueError(f"big-files has no phase {phase!r}")
        opening = Step(
            OPEN, bind(self.target.open_write if phase == WRITE else self.target.open_read, self.path)
        )
        opening.done = self._keep_stream
        yield opening
        if not opening.succeeded:
            return
        for index, size in enumerate(self._chunk_sizes()):
            expected = self._chunk(index, size)
            step = (
                Step(WRITE, bind(self._write, expected), payload_bytes=size)
                if phase == WRITE
                else Step(
                    READ, bind(self._read, size), expect_bytes(f"{self.path} chunk {index}", expected), size
                )
            )
            yield step
            if not step.succeeded:
                break
        yield Step(CLOSE, self._close)

    def _chunk_sizes(self) -> Iterator[int]:
        remaining = self.settings.big_file_bytes
        while remaining > 0:
            size = min(remaining, self.settings.chunk_bytes)
            yield size
            remaining -= size

    def _chunk(self, index: int, size: int) -> bytes:
        header = index.to_bytes(CHUNK_INDEX_BYTES, "big")
        return (header + self.chunk[CHUNK_INDEX_BYTES:])[:size]

    def _keep_stream(self, stream: object) -> None:
        self.stream = stream  # type: ignore[assignment]  # a file object from the target

    def _write(self, data: bytes) -> None:
        if self.stream is None:
            raise WrongAnswer(f"write {self.path}: no open stream")
        written = self.stream.write(data)
        if written is not None and written != len(data):
            raise WrongAnswer(f"write {self.path}: wrote {written} of {len(data)} bytes")

    def _read(self, size: int) -> bytes:
        if self.stream is None:
            raise WrongAnswer(f"read {self.path}: no open stream")
        return self.stream.read(size)

    def _close(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            stream.close()
