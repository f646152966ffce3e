"""Results of the RPC benchmark as JSON lines and as a markdown report: machine, namespace, the
in-process engine baseline, every RPC configuration with its ratio to that baseline, and the target.

Target (the 2-core reference machine): at least TARGET_GET_FILE_INFO_OPS_PER_S getFileInfo/s with
TARGET_NAMENODES namenode processes, the best client count of each client kind. Tests never assert
speed; this table states whether a run met it.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from typing import Any

from google.protobuf.internal import api_implementation

from bench.engine.report import machine_info
from bench.engine.run import RunSettings
from bench.engine.workloads import OperationResult
from bench.rpc.cluster import REPOSITORY_ROOT
from bench.rpc.load import GET_FILE_INFO, OPERATIONS
from bench.rpc.run import ENGINE, BackendResult, RpcRow, RpcSettings

TARGET_GET_FILE_INFO_OPS_PER_S = 5_000
TARGET_NAMENODES = 2
GIT_TIMEOUT_S = 10.0
GIT_CHANGED_FILES_MAX = 50


def rpc_machine_info(mysql_server_url: str | None, settings: RpcSettings) -> dict[str, Any]:
    """bench.engine's machine record plus what the wire path depends on."""
    engine_settings = RunSettings(
        duration_s=settings.duration_s, ops_max=0, processes=settings.load_processes, seed=settings.seed
    )
    machine = machine_info(mysql_server_url, engine_settings)
    del machine["ops_max"]
    machine.update(
        {
            "benchmark": "rpc",
            "load_processes": machine.pop("processes"),
            "uvloop": _package_version("uvloop"),
            "protobuf": _package_version("protobuf"),
            "protobuf_implementation": api_implementation.Type(),
            "python_executable": sys.executable,
            "files": settings.files,
            "client_kinds": list(settings.client_kinds),
            "namenode_counts": list(settings.namenode_counts),
            "client_counts": list(settings.client_counts),
            "shared_port": settings.shared_port,
            "handler_threads": settings.handler_threads,
            **_source_state(),
        }
    )
    return machine


def _source_state() -> dict[str, Any]:
    """The commit measured and the tracked files changed on top of it (read-only git commands)."""
    try:
        commit = _git("rev-parse", "HEAD").strip()
        changed = [line[3:] for line in _git("status", "--porcelain", "--untracked-files=no").splitlines()]
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_changed_files": None}
    return {"git_commit": commit, "git_changed_files": changed[:GIT_CHANGED_FILES_MAX]}


def _git(*arguments: str) -> str:
    completed = subprocess.run(
        ["git", *arguments],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_S,
        check=True,
    )
    return completed.stdout


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


# -- records -----------------------------------------------------------------------------------------


def backend_records(result: BackendResult) -> list[dict[str, Any]]:
    """The namespace, each engine window, the pooled baselines, every RPC row, then the targets."""
    records: list[dict[str, Any]] = [
        {
            "kind": "namespace",
            "backend": result.backend,
            "driver": result.driver,
            "inodes": result.inode_count,
            "files": result.file_count,
            "directories": result.directory_count,
            "populate_s": round(result.populate_s, 3),
        }
    ]
    for row in result.engine_windows:
        records.append({**row_record(result, row), "kind": "engine_window", "window": row.window})
    for operation in OPERATIONS:
        records.append(
            {
                "kind": "engine",
                "backend": result.backend,
                "window": "pooled",
                **_rounded(result.engine(operation).as_dict()),
            }
        )
    records += [row_record(result, row) for row in result.rows]
    return records + target_records(result)


def row_record(result: BackendResult, row: RpcRow) -> dict[str, Any]:
    engine = result.engine(row.result.operation)
    return {
        "kind": "rpc",
        "backend": row.backend,
        "client": row.client_kind,
        "namenodes": row.namenodes,
        "clients": row.clients,
        **_rounded(row.result.as_dict()),
        "ratio_ops_per_s_to_engine": round(row.result.ops_per_s / engine.ops_per_s, 4),
        "ratio_p50_to_engine": round(row.result.p50_us / engine.p50_us, 2),
        "server_cpu_us_per_op": _maybe_rounded(row.server_cpu_us_per_op),
        "client_cpu_us_per_op": _maybe_rounded(row.client_cpu_us_per_op),
        "database_cpu_us_per_op": _maybe_rounded(row.database_cpu_us_per_op),
        "machine_busy_percent": row.machine_busy_percent,
        "others_busy_percent": row.others_busy_percent,
        "engine_us_per_op": round(1e6 / engine.ops_per_s, 1),
        "load_average_1m": row.load_average_1m,
        "calls_outside_window": row.calls_outside_window,
    }


def target_records(result: BackendResult) -> list[dict[str, Any]]:
    """Per client kind: the best getFileInfo rate with TARGET_NAMENODES namenodes, against the target."""
    records = []
    for client_kind in dict.fromkeys(row.client_kind for row in result.rows):
        candidates = [
            row
            for row in result.rows
            if row.client_kind == client_kind
            and row.namenodes == TARGET_NAMENODES
            and row.result.operation == GET_FILE_INFO
        ]
        if not candidates:
            continue
        best = max(candidates, key=lambda row: row.result.ops_per_s)
        records.append(
            {
                "kind": "target",
                "target": f"getFileInfo ops/s with {TARGET_NAMENODES} namenodes",
                "backend": result.backend,
                "client": client_kind,
                "clients": best.clients,
                "value": round(best.result.ops_per_s),
                "limit": f">= {TARGET_GET_FILE_INFO_OPS_PER_S:,}",
                "ok": best.result.ops_per_s >= TARGET_GET_FILE_INFO_OPS_PER_S,
            }
        )
    return records


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {key: round(value, 2) if isinstance(value, float) else value for key, value in values.items()}


def _maybe_rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# -- markdown ----------------------------------------------------------------------------------------


def render_markdown(machine: dict[str, Any], results: list[BackendResult]) -> str:
    lines = [
        f"# Namenode RPC benchmark, {machine['time_utc']}",
        "",
        f"Machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), "
        f"load {machine['load_average_1m']:.2f} at start, Python {machine['python']}, "
        f"SQLite {machine['sqlite']}, MariaDB {machine['mariadb'] or 'n/a'}, "
        f"SQLAlchemy {machine['sqlalchemy']}, PyMySQL {machine['pymysql']}, uvloop {machine['uvloop']}, "
        f"protobuf {machine['protobuf']} ({machine['protobuf_implementation']}).",
        f"Each window {machine['duration_s']} s. Clients run in up to {machine['load_processes']} load "
        "processes on the same cores as the namenodes; each client is one connection with one call in "
        f"flight. Namenodes {'share one port (SO_REUSEPORT)' if machine['shared_port'] else 'on own ports'}, "
        f"{machine['handler_threads']} handler threads each. "
        f"Source: commit {str(machine['git_commit'])[:12]}, "
        f"{len(machine['git_changed_files'] or [])} tracked file(s) changed on top. "
        "`engine` is `Namespace.stat` / `Namespace.list` in-process, single-threaded "
        "(pooled over a window before and one after the RPC runs).",
        "",
        "## Namespaces",
        "",
        "| backend | driver | inodes | files | directories | load s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result.backend} | {result.driver} | {result.inode_count:,} | {result.file_count:,} | "
            f"{result.directory_count:,} | {result.populate_s:.1f} |"
        )
    lines += [
        "",
        "## getFileInfo and getListing (one page of 100 entries)",
        "",
        "ops/s ÷ engine and p50 ÷ engine compare with the in-process call of the same backend; "
        "CPU µs/op is the CPU the namenode processes (server) and the load processes (client) spent "
        "in the window per completed call (the engine's own cost per call is 10⁶ ÷ its ops/s); database "
        "CPU is a MariaDB server's on this machine; machine busy % is all cores, every process; others % "
        "is the part of it no process of the benchmark spent (other tenants: a window with much of it "
        "is unreliable).",
        "",
        "| backend | client | namenodes | clients | operation | ops | ops/s | p50 µs | p99 µs | "
        "ops/s ÷ engine | p50 ÷ engine | server CPU µs/op | client CPU µs/op | database CPU µs/op | "
        "machine busy % | others % | load |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines += _engine_lines(result) + [_row_line(result, row) for row in result.rows]
    lines += _target_lines(results)
    return "\n".join(lines) + "\n"


def _engine_lines(result: BackendResult) -> list[str]:
    lines = []
    for operation in OPERATIONS:
        engine: OperationResult = result.engine(operation)
        lines.append(
            f"| {result.backend} | {ENGINE} | - | 1 | {operation} | {engine.ops:,} | "
            f"{engine.ops_per_s:,.0f} | {engine.p50_us:.1f} | {engine.p99_us:.1f} | 1.000 | 1.0 | "
            "- | - | - | - | - | - |"
        )
    return lines


def _row_line(result: BackendResult, row: RpcRow) -> str:
    record = row_record(result, row)
    measured = row.result
    return (
        f"| {row.backend} | {row.client_kind} | {row.namenodes} | {row.clients} | {measured.operation} | "
        f"{measured.ops:,} | {measured.ops_per_s:,.0f} | {measured.p50_us:.1f} | {measured.p99_us:.1f} | "
        f"{record['ratio_ops_per_s_to_engine']:.3f} | {record['ratio_p50_to_engine']:.1f} | "
        f"{_cpu_text(row.server_cpu_us_per_op)} | {_cpu_text(row.client_cpu_us_per_op)} | "
        f"{_cpu_text(row.database_cpu_us_per_op)} | {_cpu_text(row.machine_busy_percent)} | "
        f"{_cpu_text(row.others_busy_percent)} | {row.load_average_1m:.1f} |"
    )


def _cpu_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _target_lines(results: list[BackendResult]) -> list[str]:
    lines = [
        "",
        "## Target",
        "",
        "| target | backend | client | clients | value | limit | met |",
        "|---|---|---|---:|---:|---|---|",
    ]
    for result in results:
        for record in target_records(result):
            lines.append(
                f"| {record['target']} | {record['backend']} | {record['client']} | {record['clients']} | "
                f"{record['value']:,} | {record['limit']} | {'yes' if record['ok'] else '**no**'} |"
            )
    return lines
