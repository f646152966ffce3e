"""Results as JSON lines and as a markdown report: machine, namespace sizes, every operation with its
ratio to the raw point-select baseline, latency flatness across sizes, and the issue's targets.

Targets (the 2-core reference machine): stat at least STAT_TO_BASELINE_MIN of the raw point-select rate
(SQLite); p50 latency at the largest size at most FLATNESS_MAX times the smallest; at most
BYTES_PER_INODE_MAX bytes of database per loaded inode.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy

from bench.engine.run import SQLITE, RunSettings, SizeResult
from bench.engine.workloads import BASELINE, OperationResult, mysql_scalar

STAT_TO_BASELINE_MIN = 0.15
FLATNESS_MAX = 1.5
BYTES_PER_INODE_MAX = 300


def machine_info(mysql_server_url: str | None, settings: RunSettings) -> dict[str, Any]:
    return {
        "kind": "machine",
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "load_average_1m": os.getloadavg()[0],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "pymysql": _package_version("pymysql"),
        "mariadb": _mariadb_version(mysql_server_url) if mysql_server_url else None,
        "duration_s": settings.duration_s,
        "ops_max": settings.ops_max,
        "processes": settings.processes,
        "seed": settings.seed,
    }


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mariadb_version(server_url: str) -> str:
    return str(mysql_scalar(server_url, "SELECT VERSION()"))


# -- records -----------------------------------------------------------------------------------------


def size_records(result: SizeResult) -> list[dict[str, Any]]:
    """One namespace record, then one record per operation (the baseline first)."""
    records: list[dict[str, Any]] = [
        {
            "kind": "namespace",
            "backend": result.backend,
            "inodes": result.inode_count,
            "files": result.file_count,
            "directories": result.directory_count,
            "top_directories": result.top_directory_count,
            "populate_s": round(result.populate_s, 3),
            "populate_inodes_per_s": round(result.inode_count / result.populate_s),
            "warm_s": round(result.warm_s, 3),
            "bytes_loaded": result.bytes_loaded,
            "bytes_per_inode": round(result.bytes_per_inode, 1),
            "bytes_after": result.bytes_after,
            "inodes_after": result.inodes_after,
            "bytes_per_inode_after": round(result.bytes_after / max(1, result.inodes_after), 1),
            "hint_cache_entries": result.hint_cache_entries,
            "hint_cache_repairs": result.hint_cache_repairs,
            "transaction_retries": result.transaction_retries,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
    ]
    for operation in [result.baseline, *result.operations]:
        records.append(_operation_record(result, operation))
    return records


def _operation_record(result: SizeResult, operation: OperationResult) -> dict[str, Any]:
    baseline = result.baseline
    return {
        "kind": "operation",
        "backend": result.backend,
        "inodes": result.inode_count,
        **{key: _rounded(value) for key, value in operation.as_dict().items()},
        "ratio_ops_per_s_to_baseline": round(operation.ops_per_s / baseline.ops_per_s, 4),
        "ratio_p50_to_baseline": round(operation.p50_us / baseline.p50_us, 2),
    }


def _rounded(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


def flatness_records(results: list[SizeResult]) -> list[dict[str, Any]]:
    """p50 at the largest size over p50 at the smallest, per backend and operation."""
    records = []
    for backend in _backends(results):
        sized = sorted((r for r in results if r.backend == backend), key=lambda r: r.inode_count)
        if len(sized) < 2:
            continue
        smallest, largest = sized[0], sized[-1]
        for name in [BASELINE, *(o.operation for o in smallest.operations)]:
            small, large = _find(smallest, name), _find(largest, name)
            if small is None or large is None:
                continue
            ratio = large.p50_us / small.p50_us
            records.append(
                {
                    "kind": "flatness",
                    "backend": backend,
                    "operation": name,
                    "inodes_smallest": smallest.inode_count,
                    "inodes_largest": largest.inode_count,
                    "p50_us_smallest": round(small.p50_us, 1),
                    "p50_us_largest": round(large.p50_us, 1),
                    "ratio": round(ratio, 2),
                    "ok": ratio <= FLATNESS_MAX,
                }
            )
    return records


def target_records(results: list[SizeResult]) -> list[dict[str, Any]]:
    records = []
    for result in results:
        stat = _find(result, "stat")
        if stat is not None and result.backend == SQLITE:
            ratio = stat.ops_per_s / result.baseline.ops_per_s
            records.append(
                _target(
                    "stat / raw select ops/s",
                    result,
                    ratio,
                    f">= {STAT_TO_BASELINE_MIN}",
                    ratio >= STAT_TO_BASELINE_MIN,
                )
            )
        records.append(
            _target(
                "bytes per inode",
                result,
                result.bytes_per_inode,
                f"<= {BYTES_PER_INODE_MAX}",
                result.bytes_per_inode <= BYTES_PER_INODE_MAX,
            )
        )
    for flat in flatness_records(results):
        if flat["operation"] in ("stat", "list", "create", "mkdir", "rename", "delete"):
            records.append(
                {
                    "kind": "target",
                    "target": f"p50 flatness {flat['operation']}",
                    "backend": flat["backend"],
                    "inodes": flat["inodes_largest"],
                    "value": flat["ratio"],
                    "limit": f"<= {FLATNESS_MAX}",
                    "ok": flat["ok"],
                }
            )
    return records


def _target(name: str, result: SizeResult, value: float, limit: str, ok: bool) -> dict[str, Any]:
    return {
        "kind": "target",
        "target": name,
        "backend": result.backend,
        "inodes": result.inode_count,
        "value": round(value, 3),
        "limit": limit,
        "ok": ok,
    }


def _find(result: SizeResult, name: str) -> OperationResult | None:
    if name == BASELINE:
        return result.baseline
    found = [operation for operation in result.operations if operation.operation == name]
    return found[0] if found else None


def _backends(results: Iterable[SizeResult]) -> list[str]:
    return list(dict.fromkeys(result.backend for result in results))


def append_json_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with path.open("a", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record, sort_keys=False) + "\n")


# -- markdown ----------------------------------------------------------------------------------------


def render_markdown(machine: dict[str, Any], results: list[SizeResult]) -> str:
    lines = [
        f"# Engine benchmark, {machine['time_utc']}",
        "",
        f"Machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), "
        f"load {machine['load_average_1m']:.2f}, "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, MariaDB {machine['mariadb'] or 'n/a'}, "
        f"SQLAlchemy {machine['sqlalchemy']}, PyMySQL {machine['pymysql']}.",
        f"Each workload: {machine['duration_s']} s or {machine['ops_max']:,} ops, single-threaded through "
        "`Namespace` (in-process engine), warm hint cache; `stat xN` is N processes at once.",
        "",
        "## Namespaces",
        "",
        "| backend | inodes | files | dirs | load s | load inodes/s | warm s | bytes/inode | "
        "bytes/inode after | raw select ops/s | raw p50 µs | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        record = size_records(result)[0]
        lines.append(
            f"| {result.backend} | {result.inode_count:,} | {result.file_count:,} | "
            f"{result.directory_count:,} | "
            f"{result.populate_s:.1f} | {record['populate_inodes_per_s']:,} | {result.warm_s:.2f} | "
            f"{record['bytes_per_inode']:.0f} | {record['bytes_per_inode_after']:.0f} | "
            f"{result.baseline.ops_per_s:,.0f} | {result.baseline.p50_us:.1f} | "
            f"{record['load_average_1m']:.1f} |"
        )
    lines += [
        "",
        "## Operations",
        "",
        "Ratios are to the raw primary-key select of the same backend and size "
        "(ops/s: op ÷ raw; p50: op ÷ raw).",
        "",
        "| backend | inodes | operation | ops | ops/s | p50 µs | p99 µs | ops/s ÷ raw | p50 ÷ raw |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for operation in [result.baseline, *result.operations]:
            record = _operation_record(result, operation)
            lines.append(
                f"| {result.backend} | {result.inode_count:,} | {operation.operation} | {operation.ops:,} | "
                f"{operation.ops_per_s:,.0f} | {operation.p50_us:.1f} | {operation.p99_us:.1f} | "
                f"{record['ratio_ops_per_s_to_baseline']:.3f} | {record['ratio_p50_to_baseline']:.1f} |"
            )
    lines += _flatness_lines(results) + _target_lines(results)
    return "\n".join(lines) + "\n"


def _flatness_lines(results: list[SizeResult]) -> list[str]:
    records = flatness_records(results)
    if not records:
        return []
    lines = [
        "",
        "## Flatness (p50 at the largest size ÷ p50 at the smallest)",
        "",
        "| backend | operation | inodes | p50 µs small | p50 µs large | ratio |",
        "|---|---|---|---:|---:|---:|",
    ]
    for record in records:
        lines.append(
            f"| {record['backend']} | {record['operation']} | {record['inodes_smallest']:,} → "
            f"{record['inodes_largest']:,} | {record['p50_us_smallest']:.1f} | "
            f"{record['p50_us_largest']:.1f} | "
            f"{record['ratio']:.2f} |"
        )
    return lines


def _target_lines(results: list[SizeResult]) -> list[str]:
    lines = [
        "",
        "## Targets",
        "",
        "| target | backend | inodes | value | limit | met |",
        "|---|---|---:|---:|---|---|",
    ]
    for record in target_records(results):
        lines.append(
            f"| {record['target']} | {record['backend']} | {record['inodes']:,} | {record['value']} | "
            f"{record['limit']} | {'yes' if record['ok'] else '**no**'} |"
        )
    return lines
