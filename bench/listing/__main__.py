"""Command line: python -m bench.listing [--files 1000] [--duration-s 5] [--out DIR]

A directory of small files on the embedded store (SQLite), listed with every file's locations two
ways in the same run, rounds interleaved: one snapshot per page (`Namespace.list_located`, what
getListing with needLocation does) against the baseline of a listing then one getBlockLocations
transaction per file (how it was answered before). Writes `listing-<time>.jsonl` and `.md` into --out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hopsfs.types import Caller
from namenode.block_entities import DatanodeInfo
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

SUPERUSER = Caller("hdfs")
DIRECTORY = "/listed"
FILE_BYTES = 100
ROUNDS = 3
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results"
# Where an inline file's single block is served from (any address will do: nothing connects).
NAMENODE_TRANSFER = DatanodeInfo("namenode", "namenode", "127.0.0.1", 8024, 0, 0, 0, 0, 0, 0)


def populate(url: str, files: int) -> Namespace:
    store = MetadataStore(url)
    store.format(superuser=SUPERUSER.user, supergroup="supergroup", now_ms=1, force=True)
    namespace = Namespace(store)
    namespace.inline_block_location = NAMENODE_TRANSFER
    for index in range(files):
        namespace.create_with_data(SUPERUSER, f"{DIRECTORY}/f{index:06d}", b"x" * FILE_BYTES)
    return namespace


def one_snapshot(namespace: Namespace) -> int:
    page, located = namespace.list_located(SUPERUSER, DIRECTORY)
    assert len(located) == len(page.entries)
    return len(located)


def per_file(namespace: Namespace) -> int:
    page = namespace.list(SUPERUSER, DIRECTORY)
    return len(
        [namespace.get_block_locations(SUPERUSER, entry.path, 0, entry.size) for entry in page.entries]
    )


def listings_per_second(work: Callable[[Namespace], int], namespace: Namespace, duration_s: float) -> float:
    started = time.perf_counter()
    done = 0
    while time.perf_counter() - started < duration_s:
        work(namespace)
        done += 1
    return done / (time.perf_counter() - started)


def run(files: int, duration_s: float, work_dir: str) -> dict[str, list[float]]:
    namespace = populate(f"sqlite:///{work_dir}/listing.db", files)
    try:
        rates: dict[str, list[float]] = {"one snapshot": [], "per file (baseline)": []}
        for _ in range(ROUNDS):
            rates["one snapshot"].append(listings_per_second(one_snapshot, namespace, duration_s))
            rates["per file (baseline)"].append(listings_per_second(per_file, namespace, duration_s))
        return rates
    finally:
        namespace.close()


def render(files: int, rates: dict[str, list[float]]) -> str:
    baseline = sorted(rates["per file (baseline)"])[ROUNDS // 2]
    lines = [
        f"# Located listing of {files} small files (SQLite, in-process engine)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs, load"
        f" {os.getloadavg()[0]:.2f}; Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}."
        f" Median of {ROUNDS} interleaved rounds.",
        "",
        "| how | listings/s | files located/s | ÷ per file |",
        "|---|---|---|---|",
    ]
    for name, measured in rates.items():
        median = sorted(measured)[ROUNDS // 2]
        lines.append(f"| {name} | {median:,.1f} | {median * files:,.0f} | {median / baseline:.1f}x |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listing", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files", type=int, default=1000, help="files in the directory (one listing page: 1000)"
    )
    parser.add_argument("--duration-s", type=float, default=5.0, help="seconds per way per round")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work_dir:
        rates = run(arguments.files, arguments.duration_s, work_dir)
    report = render(arguments.files, rates)
    print(report)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / f"listing-{stamp}.md").write_text(report)
    record = {"kind": "listing", "files": arguments.files, "rates": rates}
    (arguments.out / f"listing-{stamp}.jsonl").write_text(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
