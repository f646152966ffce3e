"""Shared by the harness's integration tests: quick options, running the command line, reading
its JSON lines back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.harness.__main__ import main

CLIENT_COUNTS = (1, 2)
MDTEST_FILES = 24
MDTEST_DIRECTORIES = 3
SMALL_FILES = 10
BIG_FILE_BYTES = 256 * 1024
CHUNK_BYTES = 64 * 1024
QUICK = [
    "--clients",
    ",".join(map(str, CLIENT_COUNTS)),
    "--duration",
    "0.3",
    "--warmup-ops",
    "10",
    "--mdtest-files",
    str(MDTEST_FILES),
    "--mdtest-dirs",
    str(MDTEST_DIRECTORIES),
    "--small-files",
    str(SMALL_FILES),
    "--big-file-size",
    str(BIG_FILE_BYTES),
    "--chunk-size",
    str(CHUNK_BYTES),
]


def run_harness(out: Path, *arguments: str) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """Run the command line; its exit status and its JSON lines grouped by kind."""
    status = main([*arguments, "--out", str(out)])
    return status, read_records(out)


def read_records(out: Path) -> dict[str, list[dict[str, Any]]]:
    """The JSON lines of the one run written into `out`, grouped by kind."""
    [jsonl] = out.glob("harness-*.jsonl")
    records: dict[str, list[dict[str, Any]]] = {}
    for line in jsonl.read_text().splitlines():
        record = json.loads(line)
        records.setdefault(record["kind"], []).append(record)
    return records


def rows_of(records: dict[str, list[dict[str, Any]]], **match: object) -> list[dict[str, Any]]:
    return [row for row in records["operation"] if all(row[key] == value for key, value in match.items())]
