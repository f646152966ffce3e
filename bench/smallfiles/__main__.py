"""Command line: python -m bench.smallfiles [--files 400] [--batch-files 10000] [--directory DIR]

Starts a cluster like `hopsfs up` (1 namenode on embedded SQLite, 3 datanodes, all on this machine)
in a temporary directory, then measures in one run, for files of 4 KiB, 16 KiB and 64 KiB with 1 and
with 8 clients (8 `AsyncClient`s, each with its own namenode connection, on one event loop):
- inline: `write_bytes` (one createWithData call per file) and `read_bytes` (one readWithMetadata);
- block path: the same files through blocks (`AsyncClient(inline_offer_bytes_max=0)`: create, addBlock,
  a replication-3 pipeline, complete; reads: readWithMetadata, getBlockLocations, a datanode read);
- local filesystem: the same files written and read with plain Python file I/O, without fsync (the
  embedded store commits in WAL mode with synchronous=NORMAL, which does not fsync each commit either;
  the datanodes do fsync a finalized replica, which the block path pays for).
Then the put of --batch-files distinct 4 KiB files, every method over the same files into fresh
directories: batchCreateWithData (1000 files a call) against one createWithData call per file (the
way write_bytes puts a small file without the batch path; two rounds in alternating order, summed),
the block path one file at a time (on --files of them), and `hopsfs dfs -put DIR` end to end, process
start included: batched (--batch-files files), and with -D dfs.replication=3, which turns batching
off, so the command puts one file at a time as Hadoop's -put does (check the target, create
`._COPYING_`, write, close, rename; a small file is completed inline at close) (--batch-files / 5
files). The report ends with both batch ÷ one-by-one ratios, of the calls and of the command
(issue 5's target: 20x). Each figure is files per second. Results: a markdown table on stdout and in
bench/results/smallfiles-<time>.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from hopsfs.cli.cluster import ClusterOptions, LocalCluster
from hopsfs.client import AsyncClient

KIB = 1024
SIZES = (4 * KIB, 16 * KIB, 64 * KIB)
CLIENT_COUNTS = (1, 8)
BATCH_FILES = 1000  # files per batchCreateWithData call (the namenode's maximum)
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
CLI_BATCHED = "`dfs -put DIR`, batched"
CLI_ONE_BY_ONE = "`dfs -D dfs.replication=3 -put DIR`, one file at a time"


@dataclass(frozen=True, slots=True)
class Rate:
    case: str
    size: int
    clients: int
    operation: str
    files: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.files / self.seconds


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.smallfiles", description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400, help="files per case (default 400)")
    parser.add_argument("--batch-files", type=int, default=10_000, help="files of the batch put (10000)")
    parser.add_argument("--directory", type=Path, default=None, help="where the cluster and files live")
    return parser.parse_args(argv)


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


async def hopsfs_case(url: str, case: str, size: int, clients: int, files: int) -> list[Rate]:
    """`files` files of `size` bytes written then read by `clients` clients, each its own share."""
    offer = 0 if case == "block path" else 64 * KIB
    data = os.urandom(size)
    directory = f"/bench/{case.replace(' ', '-')}/{size}-{clients}"
    opened = [AsyncClient(url, user="hdfs", inline_offer_bytes_max=offer) for _ in range(clients)]
    try:
        await opened[0].mkdirs(directory)

        async def each(action: Callable[[AsyncClient, str], Awaitable[object]]) -> None:
            async def share(client: AsyncClient, first: int) -> None:
                for index in range(first, files, clients):
                    await action(client, f"{directory}/f{index}")

            await asyncio.gather(*(share(client, first) for first, client in enumerate(opened)))

        async def write(client: AsyncClient, path: str) -> None:
            await client.write_bytes(path, data, overwrite=False)

        async def read(client: AsyncClient, path: str) -> None:
            got = await client.read_bytes(path)
            assert len(got) == size, f"{path}: read {len(got)} of {size} bytes"

        write_seconds = await timed(lambda: each(write))
        read_seconds = await timed(lambda: each(read))
    finally:
        for client in opened:
            await client.close()
    return [
        Rate(case, size, clients, "create+write", files, write_seconds),
        Rate(case, size, clients, "read", files, read_seconds),
    ]


def local_case(root: Path, size: int, clients: int, files: int) -> list[Rate]:
    """The same files on the local filesystem, `clients` threads (Python file I/O releases the GIL)."""
    data = os.urandom(size)
    directory = root / f"local-{size}-{clients}"
    directory.mkdir(parents=True)

    def write(path: Path) -> None:
        with path.open("xb") as file:
            file.write(data)

    def read(path: Path) -> None:
        with path.open("rb") as file:
            assert len(file.read()) == size

    async def each(action: Callable[[Path], None]) -> None:
        def share(first: int) -> None:
            for index in range(first, files, clients):
                action(directory / f"f{index}")

        await asyncio.gather(*(asyncio.to_thread(share, first) for first in range(clients)))

    write_seconds = asyncio.run(timed(lambda: each(write)))
    read_seconds = asyncio.run(timed(lambda: each(read)))
    return [
        Rate("local filesystem", size, clients, "create+write", files, write_seconds),
        Rate("local filesystem", size, clients, "read", files, read_seconds),
    ]


def put_payloads(files: int) -> list[bytes]:
    """The files of the put comparison: `files` distinct 4 KiB payloads, the same for every method."""
    seed = os.urandom(4 * KIB)
    return [index.to_bytes(4, "big") + seed[4:] for index in range(files)]


async def put_inline(url: str, directory: str, payloads: list[bytes], *, batched: bool) -> float:
    """Seconds to create `payloads` under the fresh `directory`: in batchCreateWithData calls of
    BATCH_FILES files, or one createWithData call (write_bytes) per file."""
    entries = [(f"{directory}/f{index}", data) for index, data in enumerate(payloads)]
    async with AsyncClient(url, user="hdfs") as client:
        await client.mkdirs(directory)

        async def batches() -> None:
            for start in range(0, len(entries), BATCH_FILES):
                created = await client.batch_create_with_data(entries[start : start + BATCH_FILES])
                assert created is not None, "a 4 KiB file was refused inline"

        async def one_by_one() -> None:
            for path, data in entries:
                await client.write_bytes(path, data, overwrite=False)

        return await timed(batches if batched else one_by_one)


async def put_blocks(url: str, directory: str, payloads: list[bytes]) -> float:
    async with AsyncClient(url, user="hdfs", inline_offer_bytes_max=0) as client:

        async def through_blocks() -> None:
            for index, data in enumerate(payloads):
                await client.write_bytes(f"{directory}/f{index}", data, overwrite=False)

        return await timed(through_blocks)


def put_command(url: str, local: Path, target: str, *options: str) -> float:
    """Seconds of `hopsfs dfs [options] -put LOCAL TARGET`, the whole command (process start included)."""
    command = [sys.executable, "-m", "hopsfs.cli.main", "dfs", "-fs", url, *options, "-put", str(local)]
    environment = {**os.environ, "HADOOP_USER_NAME": "hdfs"}
    started = time.perf_counter()
    done = subprocess.run([*command, target], capture_output=True, env=environment, check=False)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return seconds


def local_directory(root: Path, payloads: list[bytes]) -> Path:
    root.mkdir(parents=True)
    for index, data in enumerate(payloads):
        (root / f"f{index}").write_bytes(data)
    return root


def batch_put(url: str, base: Path, files: int, block_files: int) -> list[Rate]:
    """The put of `files` 4 KiB files, each method over the same files into fresh directories: in
    batches against one call a file, twice in alternating order (neither always meets the larger
    store), then the block path one at a time on `block_files` of them (it is the slow one), then
    `hopsfs dfs -put DIR` end to end: a directory of `files` (batched) and, with -D dfs.replication=3,
    which turns batching off (one file at a time, as Hadoop's -put), a directory of `files // 5`."""
    payloads = put_payloads(files)
    seconds = {True: 0.0, False: 0.0}
    for round_index, order in enumerate(((True, False), (False, True))):
        for batched in order:
            directory = f"/put/{'batch' if batched else 'single'}-{round_index}"
            seconds[batched] += asyncio.run(put_inline(url, directory, payloads, batched=batched))
    rates = [
        Rate(f"inline, batches of {BATCH_FILES}", 4 * KIB, 1, "put", 2 * files, seconds[True]),
        Rate("inline, one call a file", 4 * KIB, 1, "put", 2 * files, seconds[False]),
    ]
    block_seconds = asyncio.run(put_blocks(url, "/put/blocks", payloads[:block_files]))
    rates.append(Rate("block path, one file at a time", 4 * KIB, 1, "put", block_files, block_seconds))
    batched_local = local_directory(base / "put-local" / "batched", payloads)
    cli_seconds = put_command(url, batched_local, "/put/cli")
    rates.append(Rate(CLI_BATCHED, 4 * KIB, 1, "put", files, cli_seconds))
    single_files = max(1, files // 5)
    single_local = local_directory(base / "put-local" / "single", payloads[:single_files])
    cli_seconds = put_command(url, single_local, "/put/cli-single", "-D", "dfs.replication=3")
    rates.append(Rate(CLI_ONE_BY_ONE, 4 * KIB, 1, "put", single_files, cli_seconds))
    return rates


def start_cluster(base: Path) -> tuple[LocalCluster, str]:
    (base / "cluster").mkdir(parents=True, exist_ok=True)
    metadata_url = f"sqlite:///{base}/cluster/metadata.db"
    from namenode.dal.store import MetadataStore  # the bench formats its own store, as `hopsfs up` does

    store = MetadataStore(metadata_url)
    store.format_if_empty(superuser="hdfs", supergroup="supergroup", now_ms=int(time.time() * 1000))
    store.dispose()
    cluster = LocalCluster(
        ClusterOptions(data_dir=base / "cluster", metadata_url=metadata_url, port=0, namenodes=1, datanodes=3)
    )
    return cluster, cluster.start()


def run(arguments: argparse.Namespace) -> list[Rate]:
    base = arguments.directory or Path(tempfile.mkdtemp(prefix="hopsfs-smallfiles-"))
    cluster, url = start_cluster(base)
    rates: list[Rate] = []
    try:
        for size in SIZES:
            for clients in CLIENT_COUNTS:
                for case in ("inline", "block path"):
                    rates.extend(asyncio.run(hopsfs_case(url, case, size, clients, arguments.files)))
                rates.extend(local_case(base / "local", size, clients, arguments.files))
        rates.extend(batch_put(url, base, arguments.batch_files, arguments.files))
    finally:
        cluster.stop()
    return rates


def report(rates: list[Rate]) -> str:
    by_key = {(rate.case, rate.size, rate.clients, rate.operation): rate.per_second for rate in rates}
    lines = [
        f"# Small files, {time.strftime('%Y-%m-%d %H:%M:%S')} on {platform.node()} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}); files per second",
        "",
        "| size | clients | operation | inline | block path | local filesystem | inline ÷ block path |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in SIZES:
        for clients in CLIENT_COUNTS:
            for operation in ("create+write", "read"):
                inline, block, local = (
                    by_key[(case, size, clients, operation)]
                    for case in ("inline", "block path", "local filesystem")
                )
                lines.append(
                    f"| {size // KIB} KiB | {clients} | {operation} | {inline:,.0f} | {block:,.0f} "
                    f"| {local:,.0f} | {inline / block:.1f}x |"
                )
    puts = [rate for rate in rates if rate.operation == "put"]
    lines += ["", "| put of 4 KiB files | files | files per second | ÷ batches |", "|---|---|---|---|"]
    batch_rate = puts[0].per_second
    for rate in puts:
        lines.append(
            f"| {rate.case} | {rate.files} | {rate.per_second:,.0f} | {batch_rate / rate.per_second:.1f}x |"
        )
    ratio = batch_rate / puts[1].per_second
    by_case = {rate.case: rate.per_second for rate in puts}
    command_ratio = by_case[CLI_BATCHED] / by_case[CLI_ONE_BY_ONE]
    lines += [
        "",
        f"Batch put ÷ one by one, the calls (batchCreateWithData ÷ createWithData): **{ratio:.1f}x**;",
        f"the command (`dfs -put DIR` batched ÷ one file at a time): **{command_ratio:.1f}x** (target: 20x).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    text = report(run(arguments))
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"smallfiles-{time.strftime('%Y%m%d-%H%M%S')}.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
