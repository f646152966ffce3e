"""Results as rows (one per operation of each phase, plus the phase's "all"), JSON lines, a markdown
report and the short summary the command prints.

Every figure of a target is also given as a ratio to the local-disk baseline of the same workload,
phase, operation and client count, measured in the same run: ops/s ÷ local (above 1: faster than
local disk) and p50 ÷ local, p99 ÷ local (above 1: slower). A row's `share %` is its fraction of the
phase's steps; for an operation mix it sits beside the mix's weight, and operations the target could
not do stay in the table with their unsupported count and the target's reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.harness.results import ALL_OPERATIONS, OK, ConfigurationResult, OperationTally, PhaseResult

NS_PER_US = 1000.0
BYTES_PER_MB = 1e6


def result_rows(results: list[ConfigurationResult]) -> list[dict[str, Any]]:
    """One row per operation and one per phase total, with ratios to the matching baseline row."""
    rows = [row for result in results if result.status == OK for row in _configuration_rows(result)]
    baseline = {_key(row): row for row in rows if row["baseline"]}
    for row in rows:
        local = baseline.get(_key(row)) if row["ops"] else None  # nothing measured: no ratio
        for name, field in (("ops_per_s", "ops_per_s"), ("p50", "p50_us"), ("p99", "p99_us")):
            row[f"ratio_{name}_to_local"] = _ratio(row[field], None if local is None else local[field])
    return rows


def configuration_records(results: list[ConfigurationResult]) -> list[dict[str, Any]]:
    return [
        {
            "kind": "configuration",
            "target": result.target.label,
            "target_kind": result.target.kind,
            "target_url": result.target.url,
            "baseline": result.baseline,
            "workload": result.workload,
            "clients": result.clients,
            "status": result.status,
            "reason": result.reason,
            "load_average_1m": result.load_average_1m,
        }
        for result in results
    ]


def write_json_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record) + "\n")


def _configuration_rows(result: ConfigurationResult) -> list[dict[str, Any]]:
    rows = []
    for phase in result.phases:
        total = phase.total()
        for tally in [*sorted(phase.tallies.values(), key=lambda tally: -tally.attempts), total]:
            rows.append(_row(result, phase, tally, total.attempts))
    return rows


def _row(
    result: ConfigurationResult, phase: PhaseResult, tally: OperationTally, attempts: int
) -> dict[str, Any]:
    histogram = tally.histogram
    measured = histogram.count > 0
    shares = phase.expected_shares or {}
    return {
        "kind": "operation",
        "target": result.target.label,
        "target_kind": result.target.kind,
        "baseline": result.baseline,
        "workload": result.workload,
        "phase": phase.phase,
        "clients": result.clients,
        "operation": tally.operation,
        "ops": tally.ops,
        "errors": tally.errors,
        "unsupported": tally.unsupported,
        "skipped": tally.skipped,
        "share_percent": round(100 * tally.attempts / attempts, 3) if attempts else None,
        "weight_percent": round(100 * shares[tally.operation], 3) if tally.operation in shares else None,
        "elapsed_s": round(phase.elapsed_s, 4),
        "ops_per_s": round(phase.ops_per_s(tally), 1),
        "mb_per_s": round(tally.payload_bytes / BYTES_PER_MB / phase.elapsed_s, 2)
        if tally.payload_bytes and phase.elapsed_s > 0
        else None,
        "payload_bytes": tally.payload_bytes,
        "p50_us": _percentile_us(tally, 0.50) if measured else None,
        "p90_us": _percentile_us(tally, 0.90) if measured else None,
        "p99_us": _percentile_us(tally, 0.99) if measured else None,
        "mean_us": round(histogram.mean_ns / NS_PER_US, 1) if measured else None,
        "max_us": round(histogram.maximum_ns / NS_PER_US, 1) if measured else None,
        "truncated": phase.truncated,
        "unsupported_reason": tally.unsupported_reason,
        "error_samples": list(tally.error_samples),
        "latency_histogram": {
            "buckets": histogram.as_pairs(),
            "total_ns": histogram.total_ns,
            "minimum_ns": histogram.minimum_ns,
            "maximum_ns": histogram.maximum_ns,
        },
    }


def _percentile_us(tally: OperationTally, fraction: float) -> float:
    return round(tally.histogram.percentile_ns(fraction) / NS_PER_US, 1)


def _key(row: dict[str, Any]) -> tuple[str, str, int, str]:
    return row["workload"], row["phase"], row["clients"], row["operation"]


def _ratio(value: float | None, local: float | None) -> float | None:
    if value is None or not local:
        return None
    return round(value / local, 3)


# -- markdown ----------------------------------------------------------------------------------------

TABLE_HEAD = (
    "| target | clients | phase | operation | share % (mix %) | ops | ops/s | MB/s | p50 µs | p90 µs | "
    "p99 µs | ops/s ÷ local | p50 ÷ local | p99 ÷ local | errors | unsupported |"
)
TABLE_RULE = "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def render_markdown(
    machine: dict[str, Any],
    settings: dict[str, Any],
    results: list[ConfigurationResult],
    plot_names: list[str],
) -> str:
    rows = result_rows(results)
    lines = [f"# Benchmark harness, {machine['time_utc']}", "", *_preamble(machine, settings)]
    loads = [result.load_average_1m for result in results if result.load_average_1m is not None]
    if loads:
        lines.append(
            f"The machine's 1-minute load average after each configuration: {min(loads):.2f} to "
            f"{max(loads):.2f} on {machine['cpu_count']} CPUs (this run's own processes included)."
        )
    lines.append("")
    for workload in dict.fromkeys(result.workload for result in results):
        workload_rows = [row for row in rows if row["workload"] == workload]
        if not workload_rows:
            continue
        lines += [f"## {workload}", "", TABLE_HEAD, TABLE_RULE]
        lines += [_table_line(row) for row in workload_rows]
        lines.append("")
    lines += _not_run_lines(results) + _unsupported_lines(rows) + _error_lines(rows)
    if plot_names:
        lines += ["## Plots", ""] + [f"![{name}]({name})" for name in plot_names] + [""]
    return "\n".join(lines)


def summary_lines(results: list[ConfigurationResult]) -> list[str]:
    """The phase totals only, as a short markdown table for the terminal."""
    lines = [
        "| target | workload | phase | clients | ops/s | MB/s | p50 µs | p99 µs | ops/s ÷ local "
        "| p50 ÷ local |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result_rows(results):
        if row["operation"] != ALL_OPERATIONS:
            continue
        lines.append(
            f"| {row['target']} | {row['workload']} | {row['phase']} | {row['clients']} | "
            f"{row['ops_per_s']:,.0f} | {_number(row['mb_per_s'], 1)} | {_number(row['p50_us'])} | "
            f"{_number(row['p99_us'])} | {_number(row['ratio_ops_per_s_to_local'], 3)} | "
            f"{_number(row['ratio_p50_to_local'], 2)} |"
        )
    for result in results:
        if result.status != OK:
            head = f"- {result.target.label} {result.workload} ({result.clients} clients)"
            lines.append(f"{head}: {result.status}: {result.reason}")
    return lines


def _preamble(machine: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{name} {version or 'n/a'}" for name, version in machine["packages"].items())
    disks = "; ".join(
        f"{path}: {disk.get('filesystem')} on {disk.get('source')} "
        f"({'rotational' if disk.get('rotational') else 'non-rotational'} per the kernel)"
        for path, disk in machine["disks"].items()
    )
    memory_gib = (machine["memory_bytes"] or 0) / 2**30
    return [
        f"Machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), {memory_gib:.1f} GiB RAM, "
        f"kernel {machine['kernel']}, load {machine['load_average_1m']:.2f} at start. Disks: {disks}.",
        f"Versions: Python {machine['python']}, hopsfs at commit {str(machine['git_commit'])[:12]} (HEAD; "
        f"uncommitted changes are not detected); {packages}.",
        f"Baseline: every workload also runs on {settings['baseline']} through plain `os` calls in the same "
        "run; `÷ local` compares with it (same workload, phase, operation and client count).",
        "Targets: "
        + "; ".join(f"{target['label']} ({target['url']})" for target in settings["targets"])
        + ".",
        f"Settings: {_settings_text(settings)}.",
        "Clients are processes; each phase starts on all of them at once; throughput is all clients' "
        "operations over the time from that start to the last one's end; latencies are per call, merged "
        "over clients (log-bucket histograms, < 0.4% error).",
    ]


def _settings_text(settings: dict[str, Any]) -> str:
    shown = {key: value for key, value in settings.items() if key not in ("kind", "baseline", "targets")}
    return ", ".join(f"{key} {value}" for key, value in shown.items())


def _table_line(row: dict[str, Any]) -> str:
    share = _number(row["share_percent"], 2)
    if row["weight_percent"] is not None:
        share += f" ({row['weight_percent']:.2f})"
    operation = f"**{row['operation']}**" if row["operation"] == ALL_OPERATIONS else row["operation"]
    target = f"{row['target']} (baseline)" if row["baseline"] else row["target"]
    phase = row["phase"] + (" (truncated)" if row["truncated"] else "")
    return (
        f"| {target} | {row['clients']} | {phase} | {operation} | {share} | {row['ops']:,} | "
        f"{row['ops_per_s']:,.0f} | {_number(row['mb_per_s'], 1)} | {_number(row['p50_us'])} | "
        f"{_number(row['p90_us'])} | {_number(row['p99_us'])} | "
        f"{_number(row['ratio_ops_per_s_to_local'], 3)} | {_number(row['ratio_p50_to_local'], 2)} | "
        f"{_number(row['ratio_p99_to_local'], 2)} | {row['errors']:,} | {row['unsupported']:,} |"
    )


def _number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _not_run_lines(results: list[ConfigurationResult]) -> list[str]:
    not_run = [result for result in results if result.status != OK]
    if not not_run:
        return []
    lines = ["## Skipped and failed", ""]
    for result in not_run:
        lines.append(
            f"- {result.target.label}, {result.workload}, {result.clients} client(s): "
            f"**{result.status}**: {result.reason}"
        )
    return [*lines, ""]


def _unsupported_lines(rows: list[dict[str, Any]]) -> list[str]:
    found = {
        (row["target"], row["operation"]): row["unsupported_reason"]
        for row in rows
        if row["unsupported"] and row["operation"] != ALL_OPERATIONS
    }
    if not found:
        return []
    lines = [
        "## Operations a target cannot do",
        "",
        "Counted in the tables above, never dropped from a mix.",
        "",
    ]
    lines += [f"- {target}: `{operation}`: {reason}" for (target, operation), reason in found.items()]
    return [*lines, ""]


def _error_lines(rows: list[dict[str, Any]]) -> list[str]:
    failing = [row for row in rows if row["errors"] and row["operation"] != ALL_OPERATIONS]
    if not failing:
        return []
    lines = ["## Errors", ""]
    for row in failing:
        samples = "; ".join(row["error_samples"])
        lines.append(
            f"- {row['target']}, {row['workload']} {row['phase']} `{row['operation']}` "
            f"({row['clients']} clients): {row['errors']:,} error(s), e.g. {samples}"
        )
    return [*lines, ""]
