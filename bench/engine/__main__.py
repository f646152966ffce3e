"""Command line: python -m bench.engine [--sizes ...] [--backends sqlite,mysql] [--mysql-url URL] ...

Runs every size on every backend, prints progress and the markdown report, and writes
`engine-<time>.jsonl` and `engine-<time>.md` into --out (bench/results/ by default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.engine.report import (
    append_json_lines,
    flatness_records,
    machine_info,
    render_markdown,
    size_records,
    target_records,
)
from bench.engine.run import MYSQL, SQLITE, RunSettings, SizeResult, mysql_server_url, run_benchmark

DEFAULT_SIZES = "10000,100000,1000000"
DEFAULT_MYSQL_SIZES = "10000,100000"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results"


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=DEFAULT_SIZES,
        help="inode counts for SQLite (and MariaDB, if --mysql-sizes is not given and --sizes is)",
    )
    parser.add_argument(
        "--mysql-sizes", default=None, help=f"inode counts for MariaDB (default {DEFAULT_MYSQL_SIZES})"
    )
    parser.add_argument("--backends", default=SQLITE, help="comma-separated: sqlite,mysql")
    parser.add_argument(
        "--mysql-url", default=None, help="server URL, e.g. mysql+pymysql://root@127.0.0.1:3306/"
    )
    parser.add_argument("--duration-s", type=float, default=10.0, help="seconds per workload")
    parser.add_argument("--ops-max", type=int, default=1_000_000, help="operations per workload at most")
    parser.add_argument(
        "--processes", type=int, default=2, help="processes of the parallel stat variant (1: off)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="directory for the .jsonl and .md results"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where SQLite databases go (default: a temp dir)"
    )
    parser.add_argument("--keep-databases", action="store_true", help="leave the databases behind")
    return parser.parse_args(argv)


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def _mysql_url(arguments: argparse.Namespace) -> str | None:
    return mysql_server_url(arguments.mysql_url)


def build_plan(arguments: argparse.Namespace) -> list[tuple[str, int]]:
    backends = [name.strip() for name in arguments.backends.split(",") if name.strip()]
    unknown = set(backends) - {SQLITE, MYSQL}
    if unknown:
        raise SystemExit(f"unknown backend(s) {sorted(unknown)}: use sqlite and/or mysql")
    plan = [(SQLITE, size) for size in _sizes(arguments.sizes)] if SQLITE in backends else []
    if MYSQL in backends:
        mysql_sizes = arguments.mysql_sizes or (
            DEFAULT_MYSQL_SIZES if arguments.sizes == DEFAULT_SIZES else arguments.sizes
        )
        plan += [(MYSQL, size) for size in _sizes(mysql_sizes)]
    return plan


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    plan = build_plan(arguments)
    mysql_url = _mysql_url(arguments)
    if any(backend == MYSQL for backend, _ in plan) and mysql_url is None:
        raise SystemExit(
            "the mysql backend needs --mysql-url (or HOPSFS_BENCH_MYSQL_URL); "
            "`bash scripts/mariadb.sh url` prints a running test server's"
        )
    settings = RunSettings(arguments.duration_s, arguments.ops_max, arguments.processes, arguments.seed)
    arguments.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    jsonl_path = arguments.out / f"engine-{stamp}.jsonl"
    markdown_path = arguments.out / f"engine-{stamp}.md"
    machine = machine_info(mysql_url if any(b == MYSQL for b, _ in plan) else None, settings)
    append_json_lines(jsonl_path, [machine])
    done: list[SizeResult] = []

    def on_result(result: SizeResult) -> None:
        done.append(result)
        append_json_lines(jsonl_path, size_records(result))
        markdown_path.write_text(render_markdown(machine, done), encoding="utf-8")

    with tempfile.TemporaryDirectory(prefix="hopsfs-bench-") as temporary:
        work_directory = arguments.work_dir or Path(temporary)
        work_directory.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        results = run_benchmark(
            plan,
            settings,
            work_directory=work_directory,
            mysql_server_url=mysql_url,
            keep_databases=arguments.keep_databases,
            on_result=on_result,
        )
    append_json_lines(jsonl_path, flatness_records(results) + target_records(results))
    markdown = render_markdown(machine, results)
    markdown_path.write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"total {time.perf_counter() - started:.0f} s; wrote {jsonl_path} and {markdown_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
