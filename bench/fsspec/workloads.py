"""The measured workloads of `python -m bench.fsspec`, each run on one fsspec filesystem and root:
the same code measures hopsfs (`hopsfs://`) and the local disk (`file://`), so a ratio compares the
storage paths and nothing else.

- parquet: pandas `to_parquet` then `read_parquet` of one file (a frame of random numbers, so the
  file is about as large as the frame: no compression gain);
- dataset: pyarrow writes the frame as a hive-partitioned parquet dataset, then scans it whole
  through `pyarrow.dataset` on `PyFileSystem(FSSpecHandler(fs))`;
- small files: fsspec `pipe` of N small files in one call, then `cat` of all of them in one call
  (concurrent on hopsfs: fsspec's async bulk path; one after another on the local driver).
Reads are measured warm (the data was just written, so both sides read from the page cache).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from fsspec import AbstractFileSystem

MIB = 1024 * 1024
PARTITIONS = 8
FLOAT_COLUMNS = 6


@dataclass(frozen=True, slots=True)
class Measurement:
    workload: str
    phase: str
    target: str
    bytes_moved: int
    items: int
    seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.bytes_moved / self.seconds / 1e6

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds


def make_frame(size_bytes: int, seed: int = 1) -> pd.DataFrame:
    """A frame of about `size_bytes` of random float64 and int64 columns, plus a partition key."""
    rows = max(size_bytes // (8 * (FLOAT_COLUMNS + 1)), PARTITIONS)
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {f"x{index}": rng.random(rows) for index in range(FLOAT_COLUMNS)}
    columns["id"] = np.arange(rows, dtype=np.int64)
    columns["part"] = (np.arange(rows) % PARTITIONS).astype(np.int32)
    return pd.DataFrame(columns)


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def parquet_round_trip(
    fs: AbstractFileSystem, root: str, target: str, frame: pd.DataFrame
) -> list[Measurement]:
    path = f"{root}/frame.parquet"

    def write() -> None:
        with fs.open(path, "wb") as file:
            frame.to_parquet(file, engine="pyarrow")

    def read() -> pd.DataFrame:
        with fs.open(path, "rb") as file:
            return pd.read_parquet(file, engine="pyarrow")

    write_seconds, _ = timed(write)
    size = fs.size(path)
    read_seconds, back = timed(read)
    if len(back) != len(frame):  # type: ignore[arg-type]
        raise RuntimeError(f"{target}: read {len(back)} rows of {len(frame)}")  # type: ignore[arg-type]
    return [
        Measurement("parquet", "write", target, size, 1, write_seconds),
        Measurement("parquet", "read", target, size, 1, read_seconds),
    ]


def dataset_scan(fs: AbstractFileSystem, root: str, target: str, frame: pd.DataFrame) -> list[Measurement]:
    filesystem = pafs.PyFileSystem(pafs.FSSpecHandler(fs))
    base = f"{root}/dataset"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    write_seconds, _ = timed(
        lambda: pq.write_to_dataset(table, base, partition_cols=["part"], filesystem=filesystem)
    )
    size = int(fs.du(base))
    files = len(fs.find(base))
    dataset = ds.dataset(base, format="parquet", partitioning="hive", filesystem=filesystem)
    scan_seconds, scanned = timed(dataset.to_table)
    if scanned.num_rows != len(frame):  # type: ignore[attr-defined]
        raise RuntimeError(f"{target}: the scan found {scanned.num_rows} rows of {len(frame)}")  # type: ignore[attr-defined]
    return [
        Measurement("dataset", "write", target, size, files, write_seconds),
        Measurement("dataset", "scan", target, size, files, scan_seconds),
    ]


def small_files(
    fs: AbstractFileSystem, root: str, target: str, count: int, size_bytes: int
) -> list[Measurement]:
    contents = {
        f"{root}/small/{index:05}": index.to_bytes(4, "big") * (size_bytes // 4) for index in range(count)
    }
    fs.makedirs(f"{root}/small", exist_ok=True)
    pipe_seconds, _ = timed(lambda: fs.pipe(contents))
    cat_seconds, found = timed(lambda: fs.cat(list(contents)))
    if found != contents:
        raise RuntimeError(f"{target}: cat returned other bytes than were piped")
    total = sum(len(value) for value in contents.values())
    return [
        Measurement("small files", "pipe", target, total, count, pipe_seconds),
        Measurement("small files", "cat", target, total, count, cat_seconds),
    ]
