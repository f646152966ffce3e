"""Command line: python -m bench.rpc [--backends sqlite,mysql] [--mysql-url URL] [--duration S]
[--files N] [--quick] ...

Runs every backend in turn, prints progress and the markdown report, and writes `rpc-<time>.jsonl` and
`rpc-<time>.md` into --out (bench/results/ by default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

from bench.engine.report import append_json_lines
from bench.engine.run import MYSQL, SQLITE, mysql_database, mysql_server_url, sqlite_database
from bench.rpc.cluster import HANDLER_THREADS_DEFAULT
from bench.rpc.load import CLIENT_KINDS, PROCESSES_MAX, WARMUP_CALLS, LoadPool
from bench.rpc.report import backend_records, render_markdown, rpc_machine_info
from bench.rpc.run import BackendResult, RpcSettings, run_backend
from hopsfs.invariants import check

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results"
DEFAULT_DURATION_S = 5.0
DEFAULT_FILES = 100_000
QUICK_DURATION_S = 0.15
QUICK_FILES = 1_000
QUICK_WARMUP_CALLS = 5


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rpc", description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=SQLITE, help="comma-separated: sqlite,mysql")
    parser.add_argument(
        "--mysql-url", default=None, help="server URL, e.g. mysql+pymysql://root@127.0.0.1:3306/"
    )
    parser.add_argument(
        "--duration", type=float, default=None, help=f"seconds per window ({DEFAULT_DURATION_S})"
    )
    parser.add_argument("--files", type=int, default=None, help=f"files in the namespace ({DEFAULT_FILES:,})")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a run of seconds: {QUICK_FILES:,} files, {QUICK_DURATION_S} s windows (for the smoke test)",
    )
    parser.add_argument(
        "--clients", default=",".join(CLIENT_KINDS), help="client kinds: hopsfs (AsyncClient), lean (codec)"
    )
    parser.add_argument("--namenodes", default="1,2", help="namenode process counts, ascending")
    parser.add_argument("--concurrency", default="1,16", help="concurrent client counts")
    parser.add_argument("--load-processes", type=int, default=2, help="processes the clients are spread over")
    parser.add_argument(
        "--shared-port",
        action="store_true",
        help="namenodes share one port (SO_REUSEPORT) instead of own ports",
    )
    parser.add_argument(
        "--handler-threads",
        type=int,
        default=HANDLER_THREADS_DEFAULT,
        help="each namenode's --handler-threads (calls that do not run on its event loop)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="directory for the .jsonl and .md results"
    )
    parser.add_argument("--work-dir", type=Path, default=None, help="where SQLite databases go (a temp dir)")
    parser.add_argument("--keep-databases", action="store_true", help="leave the databases behind")
    return parser.parse_args(argv)


def settings_from(arguments: argparse.Namespace) -> RpcSettings:
    duration_s = arguments.duration or (QUICK_DURATION_S if arguments.quick else DEFAULT_DURATION_S)
    files = arguments.files or (QUICK_FILES if arguments.quick else DEFAULT_FILES)
    kinds = tuple(_words(arguments.clients))
    unknown = set(kinds) - set(CLIENT_KINDS)
    if unknown or not kinds:
        raise SystemExit(f"unknown client kind(s) {sorted(unknown)}: use {', '.join(CLIENT_KINDS)}")
    if not 1 <= arguments.load_processes <= PROCESSES_MAX:
        raise SystemExit(f"--load-processes must be 1 to {PROCESSES_MAX}")
    return RpcSettings(
        duration_s=duration_s,
        files=files,
        client_kinds=kinds,
        namenode_counts=tuple(sorted({int(word) for word in _words(arguments.namenodes)})),
        client_counts=tuple(int(word) for word in _words(arguments.concurrency)),
        load_processes=arguments.load_processes,
        shared_port=arguments.shared_port,
        seed=arguments.seed,
        warmup_calls=QUICK_WARMUP_CALLS if arguments.quick else WARMUP_CALLS,
        handler_threads=arguments.handler_threads,
    )


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


def _backends(arguments: argparse.Namespace) -> list[str]:
    backends = _words(arguments.backends)
    unknown = set(backends) - {SQLITE, MYSQL}
    if unknown or not backends:
        raise SystemExit(f"unknown backend(s) {sorted(unknown)}: use sqlite and/or mysql")
    return backends


def _mysql_url(arguments: argparse.Namespace) -> str | None:
    return mysql_server_url(arguments.mysql_url)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    settings = settings_from(arguments)
    backends = _backends(arguments)
    mysql_url = _mysql_url(arguments)
    if MYSQL in backends and mysql_url is None:
        raise SystemExit(
            "the mysql backend needs --mysql-url (or HOPSFS_BENCH_MYSQL_URL); "
            "`bash scripts/mariadb.sh url` prints a running test server's"
        )
    arguments.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    jsonl_path = arguments.out / f"rpc-{stamp}.jsonl"
    markdown_path = arguments.out / f"rpc-{stamp}.md"
    machine = rpc_machine_info(mysql_url if MYSQL in backends else None, settings)
    append_json_lines(jsonl_path, [machine])
    results: list[BackendResult] = []
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="hopsfs-bench-rpc-") as temporary,
        LoadPool(settings.load_processes) as pool,
    ):
        work_directory = arguments.work_dir or Path(temporary)
        work_directory.mkdir(parents=True, exist_ok=True)
        for backend in backends:
            with _database(
                backend, work_directory, mysql_url, settings.files, arguments.keep_databases
            ) as url:
                result = run_backend(backend, url, settings, pool)
            results.append(result)
            append_json_lines(jsonl_path, backend_records(result))
            markdown_path.write_text(render_markdown(machine, results), encoding="utf-8")
    markdown = render_markdown(machine, results)
    markdown_path.write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"total {time.perf_counter() - started:.0f} s; wrote {jsonl_path} and {markdown_path}")
    return 0


def _database(
    backend: str, work_directory: Path, mysql_url: str | None, files: int, keep: bool
) -> AbstractContextManager[str]:
    if backend == SQLITE:
        return sqlite_database(work_directory, files, keep)
    check(mysql_url is not None, "a MariaDB run needs a server URL")
    assert mysql_url is not None
    return mysql_database(mysql_url, files, keep)


if __name__ == "__main__":
    raise SystemExit(main())
