"""Command line: python -m bench.fsspec [--parquet-mib 100] [--small-files 1000] [--small-file-bytes 4096]

Starts a cluster like `hopsfs up` (1 namenode on embedded SQLite, 3 datanodes, all on this machine)
in a temporary directory and runs every workload of `bench.fsspec.workloads` twice in the same run:
on `hopsfs://` through the fsspec driver, and on the local disk through fsspec's `file://` driver in
a temporary directory of the same filesystem. Reports, per workload and phase, MB/s and items/s on
each and the ratio hopsfs ÷ local (1.0 = as fast as local): a markdown table on stdout and in
--out/fsspec-TIME.md, one JSON line per measurement in --out/fsspec-TIME.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from bench.fsspec.workloads import MIB, Measurement, dataset_scan, make_frame, parquet_round_trip, small_files
from bench.harness.cluster import local_cluster
from hopsfs.fsspec import HopsFileSystem

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
LOCAL = "local"
HOPSFS = "hopsfs"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fsspec", description=__doc__.splitlines()[0])
    parser.add_argument("--parquet-mib", type=int, default=100, help="the frame's size (default 100)")
    parser.add_argument("--small-files", type=int, default=1000, help="files to pipe and cat (default 1000)")
    parser.add_argument("--small-file-bytes", type=int, default=4096, help="each small file (default 4096)")
    parser.add_argument("--directory", type=Path, default=None, help="where the cluster and local copy live")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory (bench/results)")
    return parser.parse_args(argv)


def run_target(
    fs: fsspec.AbstractFileSystem, root: str, target: str, arguments: argparse.Namespace
) -> list[Measurement]:
    frame = make_frame(arguments.parquet_mib * MIB)
    fs.makedirs(root, exist_ok=True)
    results = parquet_round_trip(fs, root, target, frame)
    results += dataset_scan(fs, root, target, frame)
    results += small_files(fs, root, target, arguments.small_files, arguments.small_file_bytes)
    fs.rm(root, recursive=True)
    return results


def run(arguments: argparse.Namespace) -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="hopsfs-bench-fsspec-", dir=arguments.directory) as temporary:
        base = Path(temporary)
        results = run_target(LocalFileSystem(), str(base / "local"), LOCAL, arguments)
        with local_cluster(1, base) as url:
            fs = HopsFileSystem(url=url, skip_instance_cache=True)
            try:
                results += run_target(fs, "/bench-fsspec", HOPSFS, arguments)
            finally:
                fs.close()
    return results


def ratios(results: list[Measurement]) -> dict[tuple[str, str], float]:
    """hopsfs time ÷ local time, inverted: throughput of hopsfs as a fraction of local's."""
    local = {(m.workload, m.phase): m.seconds for m in results if m.target == LOCAL}
    return {
        (m.workload, m.phase): local[(m.workload, m.phase)] / m.seconds
        for m in results
        if m.target == HOPSFS and (m.workload, m.phase) in local
    }


def report(results: list[Measurement], arguments: argparse.Namespace) -> str:
    by_key = {(m.workload, m.phase, m.target): m for m in results}
    lines = [
        f"# fsspec / pandas / pyarrow on hopsfs vs local, {time.strftime('%Y-%m-%d %H:%M:%S')} on "
        f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})",
        "",
        f"Frame {arguments.parquet_mib} MiB; {arguments.small_files} small files of "
        f"{arguments.small_file_bytes} bytes. Command: `python -m bench.fsspec "
        f"--parquet-mib {arguments.parquet_mib} --small-files {arguments.small_files} "
        f"--small-file-bytes {arguments.small_file_bytes}`",
        "",
        "| workload | phase | local MB/s | hopsfs MB/s | local items/s | hopsfs items/s | hopsfs ÷ local |",
        "|---|---|---|---|---|---|---|",
    ]
    for (workload, phase), ratio in ratios(results).items():
        local, hops = by_key[(workload, phase, LOCAL)], by_key[(workload, phase, HOPSFS)]
        lines.append(
            f"| {workload} | {phase} | {local.mb_per_s:,.1f} | {hops.mb_per_s:,.1f} | "
            f"{local.items_per_s:,.0f} | {hops.items_per_s:,.0f} | {ratio:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    results = run(arguments)
    text = report(results, arguments)
    print(text)
    arguments.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (arguments.out / f"fsspec-{stamp}.md").write_text(text)
    found = ratios(results)
    with (arguments.out / f"fsspec-{stamp}.jsonl").open("w") as out:
        for m in results:
            record = {**asdict(m), "mb_per_s": m.mb_per_s, "items_per_s": m.items_per_s}
            record["ratio_to_local"] = found.get((m.workload, m.phase)) if m.target == HOPSFS else None
            out.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
