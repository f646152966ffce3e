"""Command line: python -m bench.smallfiles.native_reads [--files 400] [--size 4096]

What an unmodified HDFS client (hdfs-native) pays to read small files: the same files stored inline
(read from the namenode's transfer server: getBlockLocations, then READ_BLOCK at the namenode) and in
blocks (getBlockLocations, then READ_BLOCK at a datanode), beside the local filesystem, in one run
on a cluster like `hopsfs up` (1 namenode on embedded SQLite, 3 datanodes). One reader, one file at
a time, each opened and read whole. Files per second; a markdown table on stdout and in
bench/results/smallfiles-native-<time>.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from hdfs_native import Client as NativeClient

from hopsfs.cli.cluster import ClusterOptions, LocalCluster
from hopsfs.client import AsyncClient
from namenode.dal.store import MetadataStore

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"


async def write_files(url: str, directory: str, data: bytes, files: int, *, inline: bool) -> None:
    client = AsyncClient(url, user="hdfs", inline_offer_bytes_max=64 * 1024 if inline else 0)
    try:
        for index in range(files):
            await client.write_bytes(f"{directory}/f{index}", data, overwrite=False)
        stored_inline = await client.inline_bytes(f"{directory}/f0") is not None
        assert stored_inline == inline, f"{directory}: expected inline={inline}"
    finally:
        await client.close()


def native_read_rate(url: str, directory: str, size: int, files: int) -> float:
    client = NativeClient(url.replace("hopsfs://", "hdfs://"))
    started = time.perf_counter()
    for index in range(files):
        with client.read(f"{directory}/f{index}") as reader:
            assert len(reader.read()) == size
    return files / (time.perf_counter() - started)


def local_read_rate(root: Path, data: bytes, files: int) -> float:
    directory = root / "local"
    directory.mkdir()
    for index in range(files):
        (directory / f"f{index}").write_bytes(data)
    started = time.perf_counter()
    for index in range(files):
        with (directory / f"f{index}").open("rb") as file:
            assert len(file.read()) == len(data)
    return files / (time.perf_counter() - started)


def run(files: int, size: int) -> dict[str, float]:
    os.environ.setdefault("HADOOP_USER_NAME", "hdfs")
    data = os.urandom(size)
    with tempfile.TemporaryDirectory(prefix="hopsfs-bench-native-") as temporary:
        base = Path(temporary)
        (base / "cluster").mkdir(parents=True)
        metadata_url = f"sqlite:///{base}/cluster/metadata.db"
        store = MetadataStore(metadata_url)  # formatted here, as `hopsfs up` does on first use
        store.format_if_empty(superuser="hdfs", supergroup="supergroup", now_ms=int(time.time() * 1000))
        store.dispose()
        cluster = LocalCluster(
            ClusterOptions(
                data_dir=base / "cluster",
                metadata_url=metadata_url,
                port=0,
                namenodes=1,
                datanodes=3,
                cdc=False,
            )
        )
        url = cluster.start()
        try:
            asyncio.run(write_files(url, "/inline", data, files, inline=True))
            asyncio.run(write_files(url, "/blocks", data, files, inline=False))
            native_read_rate(url, "/blocks", size, min(files, 20))  # warm up connections and caches
            return {
                "inline (namenode)": native_read_rate(url, "/inline", size, files),
                "blocks (datanode)": native_read_rate(url, "/blocks", size, files),
                "local filesystem": local_read_rate(base, data, files),
            }
        finally:
            cluster.stop()


def report(rates: dict[str, float], files: int, size: int) -> str:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        f"# hdfs-native reading small files, {stamp} on {platform.node()} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()})",
        "",
        f"{files} files of {size} bytes, one reader, open + read whole each.",
        "",
        "| stored | files per second | ÷ blocks |",
        "|---|---|---|",
    ]
    blocks = rates["blocks (datanode)"]
    lines += [f"| {case} | {rate:,.0f} | {rate / blocks:.1f}x |" for case, rate in rates.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.smallfiles.native_reads")
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--size", type=int, default=4096)
    arguments = parser.parse_args(argv)
    text = report(run(arguments.files, arguments.size), arguments.files, arguments.size)
    print(text, end="")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"smallfiles-native-{time.strftime('%Y%m%d-%H%M%S')}.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
