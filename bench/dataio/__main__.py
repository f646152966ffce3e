"""Command line: python -m bench.dataio [--size-mib 1024] [--files 32] [--file-mib 32] [--block-mib 128]

Starts a cluster like `hopsfs up` (1 namenode on embedded SQLite, 3 datanodes, all on this machine)
in a temporary directory, then measures, in one run:
- local disk: the same bytes written (then fsynced, as a datanode finalizes a replica) and read with
  plain Python file I/O in the same filesystem: the baseline every figure is divided by;
- one client writing a --size-mib file with replication 1 and with replication 3, and reading each back
  over TCP; the replication-1 file is also read short-circuit (the client on the datanodes' host reads
  the replica files the datanode hands it over its domain socket, as HDFS local reads do);
- --files concurrent writers of --file-mib files (replication 3), then concurrent readers.
For each: MB/s (10**6 bytes/s), the ratio to the local-disk rate of the same direction, and CPU
seconds per GB summed over every process involved (client, namenode, datanodes). Every read is
measured twice: "cold" after dropping the file's pages from the page cache on both sides
(posix_fadvise DONTNEED on the local file and on every block file of the datanodes: no root needed),
so both read the disk; and "warm" from the page cache, which compares the software paths alone.
Reads are repeated --repeats times, each round measuring the local file and then each hopsfs read,
so drift on a shared machine hits all of them alike; the table shows each case's median round and the
range of all rounds.
Results: a markdown table on stdout and in bench/results/dataio-<time>.md (+ .jsonl).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import hopsfs
from hopsfs.cli.cluster import ClusterOptions, LocalCluster
from hopsfs.client import AsyncClient

MIB = 1024 * 1024
CHUNK_BYTES = 4 * MIB
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


@dataclass(frozen=True, slots=True)
class Measurement:
    label: str
    direction: str  # "write" or "read"
    bytes_moved: int
    seconds: float
    cpu_seconds: float

    @property
    def mb_per_s(self) -> float:
        return self.bytes_moved / self.seconds / 1e6

    @property
    def cpu_s_per_gb(self) -> float:
        return self.cpu_seconds / (self.bytes_moved / 1e9)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.dataio", description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="the sequential file (default 1024)")
    parser.add_argument("--files", type=int, default=32, help="concurrent files (default 32)")
    parser.add_argument("--file-mib", type=int, default=32, help="size of each concurrent file (default 32)")
    parser.add_argument("--block-mib", type=int, default=128, help="block size (default 128)")
    parser.add_argument("--directory", type=Path, default=None, help="where the cluster and baseline live")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every read (default 3)")
    return parser.parse_args(argv)


def payload(size: int) -> bytes:
    """Incompressible-looking bytes, made once: a repeated random 4 MiB chunk."""
    chunk = os.urandom(min(CHUNK_BYTES, size))
    return (chunk * (size // len(chunk) + 1))[:size]


class CpuMeter:
    """CPU seconds of this process plus every cluster process (from /proc), between start and stop."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self._started = 0.0

    def _total(self) -> float:
        own = os.times()
        total = own.user + own.system
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in self._pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def start(self) -> None:
        self._started = self._total()

    def stop(self) -> float:
        return self._total() - self._started


def measure(
    label: str, direction: str, size: int, meter: CpuMeter, action: Callable[[], None]
) -> Measurement:
    meter.start()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    return Measurement(label, direction, size, seconds, meter.stop())


def drop_cached_pages(paths: list[Path]) -> None:
    """Evict these files' pages from the page cache (their data is on disk: written and fsynced)."""
    for path in paths:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)


def block_files(cluster_dir: Path) -> list[Path]:
    return [path for path in cluster_dir.glob("datanode-*/**/*") if path.is_file()]


def local_write(path: Path, data: bytes) -> None:
    with path.open("wb") as file:
        view = memoryview(data)
        for offset in range(0, len(data), CHUNK_BYTES):
            file.write(view[offset : offset + CHUNK_BYTES])
        file.flush()
        os.fsync(file.fileno())


def local_read(path: Path, size: int) -> None:
    with path.open("rb") as file:
        total = 0
        while chunk := file.read(CHUNK_BYTES):
            total += len(chunk)
    assert total == size, f"local read returned {total} of {size} bytes"


def hopsfs_write(client: hopsfs.Client, path: str, data: bytes, replication: int, block_size: int) -> None:
    with client.create(path, overwrite=True, replication=replication, block_size=block_size) as stream:
        view = memoryview(data)
        for offset in range(0, len(data), CHUNK_BYTES):
            stream.write(view[offset : offset + CHUNK_BYTES])


def hopsfs_read(client: hopsfs.Client, path: str, size: int) -> None:
    with client.open(path, "rb") as stream:
        total = 0
        while chunk := stream.read(CHUNK_BYTES):
            total += len(chunk)
    assert total == size, f"hopsfs read returned {total} of {size} bytes"


async def concurrent(url: str, action: Callable[[AsyncClient, int], Awaitable[None]], count: int) -> None:
    async with AsyncClient(url, user="hdfs") as client:
        await asyncio.gather(*(action(client, index) for index in range(count)))


def run(arguments: argparse.Namespace) -> list[Measurement]:
    base = arguments.directory or Path(tempfile.mkdtemp(prefix="hopsfs-dataio-"))
    size = arguments.size_mib * MIB
    block_size = arguments.block_mib * MIB
    data = payload(size)
    cluster = LocalCluster(
        ClusterOptions(
            data_dir=base / "cluster",
            metadata_url=f"sqlite:///{base}/cluster/metadata.db",
            port=0,
            namenodes=1,
            datanodes=3,
        )
    )
    (base / "cluster").mkdir(parents=True, exist_ok=True)
    from namenode.dal.store import MetadataStore  # the bench formats its own store, as `hopsfs up` does

    store = MetadataStore(f"sqlite:///{base}/cluster/metadata.db")
    store.format_if_empty(superuser="hdfs", supergroup="supergroup", now_ms=int(time.time() * 1000))
    store.dispose()
    url = cluster.start()
    results: list[Measurement] = []
    try:
        meter = CpuMeter([managed.pid for managed in cluster.processes])
        local_file = base / "local.bin"
        results.append(measure("local disk", "write", size, meter, lambda: local_write(local_file, data)))
        blocks_dir = base / "cluster"
        with (
            hopsfs.connect(url, user="hdfs") as client,
            hopsfs.connect(url, user="hdfs", domain_socket=cluster.domain_socket) as local_client,
        ):
            client.mkdirs("/bench")
            for replication in (1, 3):
                path = f"/bench/seq-r{replication}"
                label = f"hopsfs 1 client, replication {replication}"
                results.append(
                    measure(
                        label,
                        "write",
                        size,
                        meter,
                        lambda path=path, replication=replication: hopsfs_write(
                            client, path, data, replication, block_size
                        ),
                    )
                )
                readers: list[tuple[str, Callable[[], None]]] = [
                    (label, lambda path=path: hopsfs_read(client, path, size))
                ]
                if replication == 1:
                    readers.append(
                        (f"{label}, short-circuit", lambda path=path: hopsfs_read(local_client, path, size))
                    )
                for _ in range(arguments.repeats):
                    for direction in ("read cold", "read warm"):
                        if replication == 1:  # the baseline, in the same rounds as the first file's reads
                            if direction == "read cold":
                                drop_cached_pages([local_file])
                            results.append(
                                measure(
                                    "local disk", direction, size, meter, lambda: local_read(local_file, size)
                                )
                            )
                        for reader_label, read in readers:
                            if direction == "read cold":
                                drop_cached_pages(block_files(blocks_dir))
                            results.append(measure(reader_label, direction, size, meter, read))
                client.delete(path)
        local_file.unlink()
        file_size = arguments.file_mib * MIB
        small = data[:file_size]

        async def write_one(client: AsyncClient, index: int) -> None:
            async with await client.create(f"/bench/many/{index}", overwrite=True, replication=3) as stream:
                await stream.write(small)

        async def read_one(client: AsyncClient, index: int) -> None:
            async with await client.open(f"/bench/many/{index}") as stream:
                got = await stream.read()
            assert len(got) == file_size

        total = file_size * arguments.files
        label = f"hopsfs {arguments.files} concurrent files of {arguments.file_mib} MiB, replication 3"
        results.append(
            measure(
                label, "write", total, meter, lambda: asyncio.run(concurrent(url, write_one, arguments.files))
            )
        )
        drop_cached_pages(block_files(base / "cluster"))
        for direction in ("read cold", "read warm"):
            results.append(
                measure(
                    label,
                    direction,
                    total,
                    meter,
                    lambda: asyncio.run(concurrent(url, read_one, arguments.files)),
                )
            )
    finally:
        cluster.stop()
    return results


def medians(results: list[Measurement]) -> list[tuple[Measurement, float, float, int]]:
    """Per (label, direction), in first-seen order: the median round, the lowest and highest MB/s, and
    the number of rounds."""
    rounds: dict[tuple[str, str], list[Measurement]] = {}
    for m in results:
        rounds.setdefault((m.label, m.direction), []).append(m)
    summary = []
    for runs in rounds.values():
        ordered = sorted(runs, key=lambda m: m.mb_per_s)
        median = ordered[(len(ordered) - 1) // 2]
        summary.append((median, ordered[0].mb_per_s, ordered[-1].mb_per_s, len(runs)))
    return summary


def report(results: list[Measurement]) -> str:
    summary = medians(results)
    baseline = {m.direction: m.mb_per_s for m, *_ in summary if m.label == "local disk"}
    lines = [
        f"# Data path, {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()})",
        "",
        "| what | direction | MB/s (median) | ÷ local disk | rounds: MB/s range | CPU s per GB |",
        "|---|---|---|---|---|---|",
    ]
    for m, lowest, highest, count in summary:
        ratio = m.mb_per_s / baseline[m.direction]
        spread = f"{count}: {lowest:,.0f} to {highest:,.0f}" if count > 1 else "1"
        lines.append(
            f"| {m.label} | {m.direction} | {m.mb_per_s:,.0f} | {ratio:.2f} | {spread} "
            f"| {m.cpu_s_per_gb:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    results = run(arguments)
    text = report(results)
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"dataio-{stamp}.md").write_text(text)
    with (RESULTS_DIR / f"dataio-{stamp}.jsonl").open("w") as out:
        for m in results:
            out.write(
                json.dumps({**asdict(m), "mb_per_s": m.mb_per_s, "cpu_s_per_gb": m.cpu_s_per_gb}) + "\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
