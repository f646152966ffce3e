"""Command line: python -m bench.cdc [--backends sqlite,mysql] [--mysql-url URL] [--duration S]
[--writers N] [--backlog N] [--quick]

Runs each backend in turn, prints the markdown report, and writes `cdc-<time>.jsonl` and
`cdc-<time>.md` into --out (bench/results/ by default). Targets (issue 8): lag p50 < 100 ms,
p99 < 1 s; capture faster than the writers.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from bench.cdc.run import CdcResult, CdcSettings, run_backend
from bench.engine.report import append_json_lines
from bench.engine.run import MYSQL, SQLITE, mysql_database, mysql_server_url

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results"
DEFAULTS = CdcSettings()
QUICK = CdcSettings(duration_s=1.5, writers=1, backlog_operations=300)
LAG_P50_TARGET_MS = 100.0
LAG_P99_TARGET_MS = 1000.0


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.cdc", description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=SQLITE, help="comma-separated: sqlite,mysql")
    parser.add_argument(
        "--mysql-url", default=None, help="server URL, e.g. mysql+pymysql://root@127.0.0.1:3306/"
    )
    parser.add_argument("--duration", type=float, default=DEFAULTS.duration_s, help="steady seconds")
    parser.add_argument("--writers", type=int, default=DEFAULTS.writers, help="writer threads")
    parser.add_argument(
        "--backlog", type=int, default=DEFAULTS.backlog_operations, help="catch-up operations"
    )
    parser.add_argument("--quick", action="store_true", help="a few seconds, to check the harness works")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the results go")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    settings = (
        QUICK if arguments.quick else CdcSettings(arguments.duration, arguments.writers, arguments.backlog)
    )
    results: list[CdcResult] = []
    for backend in [name.strip() for name in arguments.backends.split(",") if name.strip()]:
        print(f"bench.cdc: {backend} ...", flush=True)
        if backend == SQLITE:
            with tempfile.TemporaryDirectory(prefix="bench-cdc-db-") as directory:
                results.append(run_backend(backend, f"sqlite:///{directory}/meta.db", settings))
        elif backend == MYSQL:
            server = mysql_server_url(arguments.mysql_url)
            if server is None:
                print(
                    "bench.cdc: no --mysql-url (or HOPSFS_BENCH_MYSQL_URL): skipping mysql", file=sys.stderr
                )
                continue
            with mysql_database(server, 0, keep=False) as url:
                results.append(run_backend(backend, url, settings))
        else:
            print(f"bench.cdc: unknown backend {backend!r}", file=sys.stderr)
            return 2
    report = render_markdown(results)
    print(report)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    arguments.out.mkdir(parents=True, exist_ok=True)
    append_json_lines(arguments.out / f"cdc-{stamp}.jsonl", [result.record() for result in results])
    (arguments.out / f"cdc-{stamp}.md").write_text(report, encoding="utf-8")
    return 0


def render_markdown(results: list[CdcResult]) -> str:
    lines = [
        f"# CDC benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, "
        f"{platform.python_implementation()} {platform.python_version()})",
        "",
        "| backend | writers | write ops/s | events | delivered/s | lag p50 ms | lag p99 ms | lag max ms "
        "| from txn start p50 / p99 ms | backlog | capture events/s | catch-up delivered/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(
            f"| {result.backend} | {result.writers} | {result.write_ops_per_s:,.0f} | {result.events:,} "
            f"| {result.delivered_events_per_s:,.0f} | {result.lag_ms_p50:.1f} | {result.lag_ms_p99:.1f} "
            f"| {result.lag_ms_max:.1f} | {result.start_lag_ms_p50:.1f} / {result.start_lag_ms_p99:.1f} "
            f"| {result.backlog_events:,} | {result.capture_events_per_s:,.0f} "
            f"| {result.catch_up_delivered_events_per_s:,.0f} |"
        )
    lines.append("")
    lines.append(
        f"Targets: lag p50 < {LAG_P50_TARGET_MS:.0f} ms, p99 < {LAG_P99_TARGET_MS:.0f} ms. Lag: from the "
        "moment a create returned (committed) to the subscriber receiving its event; 'from txn start' "
        "uses every event's time_ms (the namenode's clock when the transaction began), an upper bound."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
