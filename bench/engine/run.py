"""One benchmark run: for each backend and size, a fresh database, the bulk load, the baseline and every
workload, then sizes and results.

`run_size` works on a database URL it is handed (empty, not formatted) and leaves the database in place;
`run_benchmark` creates and drops one database per backend and size (a SQLite file in the work
directory, or a utf8mb4_bin database on the MariaDB server) and writes results as each size finishes, so
a long run that dies keeps what it measured.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench.engine.parallel import run_parallel_stat, warm_hint_cache
from bench.engine.populate import Owner, PopulatedTree, populate
from bench.engine.workloads import (
    FileModel,
    OperationResult,
    Workload,
    connect_mysql,
    mysql_baseline,
    mysql_scalar,
    run_engine_workloads,
    sqlite_baseline,
)
from hopsfs.invariants import check
from hopsfs.types import Caller
from namenode import schema
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

SUPERUSER = "root"
SUPERGROUP = "supergroup"
# The workloads run as an ordinary user who owns the tree, so permission checks run as for any client.
BENCH_USER = "bench"
BENCH_GROUPS = ("users",)
SQLITE = "sqlite"
MYSQL = "mysql"
MYSQL_URL_ENVIRONMENT = ("HOPSFS_BENCH_MYSQL_URL", "HOPSFS_TEST_MYSQL_URL")


def mysql_server_url(explicit: str | None) -> str | None:
    """The MariaDB server to benchmark on: --mysql-url, else the first variable of
    MYSQL_URL_ENVIRONMENT that is set, else None."""
    if explicit:
        return explicit
    for name in MYSQL_URL_ENVIRONMENT:
        if os.environ.get(name):
            return os.environ[name]
    return None


MYSQL_DATABASE_PREFIX = "hopsfs_bench_"


@dataclass(frozen=True, slots=True)
class RunSettings:
    duration_s: float = 10.0
    ops_max: int = 1_000_000
    processes: int = 2  # 1 turns the multi-process stat variant off
    seed: int = 1


@dataclass(slots=True)
class SizeResult:
    backend: str
    inode_count: int
    file_count: int
    directory_count: int
    top_directory_count: int
    populate_s: float
    bytes_loaded: int
    baseline: OperationResult
    operations: list[OperationResult]
    warm_s: float
    bytes_after: int = 0
    inodes_after: int = 0
    hint_cache_entries: int = 0
    hint_cache_repairs: int = 0
    transaction_retries: int = 0

    @property
    def bytes_per_inode(self) -> float:
        return self.bytes_loaded / self.inode_count

    def operation(self, name: str) -> OperationResult:
        found = [result for result in self.operations if result.operation == name]
        check(len(found) == 1, f"exactly one result for {name}")
        return found[0]


def run_size(
    url: str, inode_count: int, settings: RunSettings, log: Callable[[str], None] = print
) -> SizeResult:
    """Format the empty database at `url`, load `inode_count` inodes and measure everything on it."""
    store = MetadataStore(url)
    backend = SQLITE if url.startswith("sqlite") else MYSQL
    now_ms = int(time.time() * 1000)
    store.format(superuser=SUPERUSER, supergroup=SUPERGROUP, now_ms=now_ms)
    tree = populate(store, inode_count, Owner(BENCH_USER, SUPERGROUP), now_ms)
    rate = inode_count / tree.seconds
    log(f"  {backend} {inode_count}: loaded in {tree.seconds:.1f} s ({rate:,.0f} inodes/s)")
    bytes_loaded = measure_size_bytes(store, url)
    namespace = Namespace(store)
    try:
        measured = _measure(namespace, backend, url, tree, settings)
    finally:
        namespace.close()
    result = SizeResult(
        backend=backend,
        inode_count=inode_count,
        file_count=tree.file_count,
        directory_count=len(tree.directory_paths) + 1,
        top_directory_count=tree.top_directory_count,
        populate_s=tree.seconds,
        bytes_loaded=bytes_loaded,
        baseline=measured.operations[0],
        operations=measured.operations[1:],
        warm_s=measured.warm_s,
        hint_cache_entries=measured.hint_cache_entries,
        hint_cache_repairs=measured.hint_cache_repairs,
        transaction_retries=measured.transaction_retries,
    )
    stat_rate = result.operation("stat").ops_per_s
    log(
        f"  {backend} {inode_count}: raw select {result.baseline.ops_per_s:,.0f} ops/s, stat {stat_rate:,.0f}"
    )
    store = MetadataStore(url)
    try:
        result.bytes_after = measure_size_bytes(store, url)
        result.inodes_after = count_inodes(url)
    finally:
        store.dispose()
    return result


@dataclass(frozen=True, slots=True)
class _Measured:
    warm_s: float
    operations: list[OperationResult]  # the baseline first
    hint_cache_entries: int
    hint_cache_repairs: int
    transaction_retries: int


def _measure(
    namespace: Namespace, backend: str, url: str, tree: PopulatedTree, settings: RunSettings
) -> _Measured:
    """Warm the hint cache, run the parallel stat variant, then the baseline and every workload."""
    caller = Caller(BENCH_USER, BENCH_GROUPS)
    started = time.perf_counter()
    warm_hint_cache(namespace, caller, tree)
    warm_s = time.perf_counter() - started
    parallel = []
    if settings.processes > 1:
        seed = settings.seed + 100
        parallel.append(
            run_parallel_stat(
                url, tree, caller, settings.processes, settings.duration_s, settings.ops_max, seed
            )
        )
    model = FileModel(tree, settings.seed)
    with _baseline(backend, url, FileModel(tree, settings.seed + 7), settings.ops_max) as baseline:
        measured = run_engine_workloads(
            namespace, caller, model, baseline, settings.duration_s, settings.ops_max
        )
    context = namespace.context
    return _Measured(
        warm_s=warm_s,
        operations=measured + parallel,
        hint_cache_entries=len(context.hint_cache),
        hint_cache_repairs=context.hint_cache.repairs,
        transaction_retries=context.statistics["retries"],
    )


def _baseline(backend: str, url: str, model: FileModel, ops_max: int) -> AbstractContextManager[Workload]:
    if backend == SQLITE:
        return sqlite_baseline(sqlite_path(url), model, ops_max)
    return mysql_baseline(url, model, ops_max)


def measure_size_bytes(store: MetadataStore, url: str) -> int:
    """Database bytes with sizes made current: WAL folded in (SQLite), statistics refreshed (MariaDB)."""
    if store.backend.value == SQLITE:
        connection = sqlite3.connect(sqlite_path(url), isolation_level=None)
        try:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            check(busy == 0, "the WAL checkpoint must not be blocked by a reader")
        finally:
            connection.close()
    else:
        connection = connect_mysql(url)
        try:
            with connection.cursor() as cursor:
                names = ", ".join(f"`{table.name}`" for table in schema.metadata.sorted_tables)
                cursor.execute(f"ANALYZE TABLE {names}")
                cursor.fetchall()
        finally:
            connection.close()
    return store.size_bytes()


def count_inodes(url: str) -> int:
    if url.startswith("sqlite"):
        connection = sqlite3.connect(sqlite_path(url))
        try:
            return int(connection.execute("SELECT COUNT(*) FROM inodes").fetchone()[0])
        finally:
            connection.close()
    return int(mysql_scalar(url, "SELECT COUNT(*) FROM inodes"))


def sqlite_path(url: str) -> str:
    path = make_url(url).database
    check(bool(path) and path != ":memory:", "the bench needs a SQLite file")
    return str(path)


# -- databases per size, for the command line --------------------------------------------------------


@contextmanager
def sqlite_database(work_directory: Path, inode_count: int, keep: bool) -> Iterator[str]:
    path = work_directory / f"bench-{inode_count}.db"
    _remove_sqlite_files(path)
    try:
        yield f"sqlite:///{path}"
    finally:
        if not keep:
            _remove_sqlite_files(path)


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def mysql_database(server_url: str, inode_count: int, keep: bool) -> Iterator[str]:
    """A fresh utf8mb4_bin database on the server; dropped afterwards unless `keep`."""
    name = f"{MYSQL_DATABASE_PREFIX}{inode_count}_{secrets.token_hex(4)}"
    _server_statement(server_url, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            _server_statement(server_url, f"DROP DATABASE IF EXISTS `{name}`")


def _server_statement(server_url: str, statement: str) -> None:
    connection = connect_mysql(make_url(server_url).set(database="").render_as_string(hide_password=False))
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def run_benchmark(
    plan: list[tuple[str, int]],
    settings: RunSettings,
    *,
    work_directory: Path,
    mysql_server_url: str | None,
    keep_databases: bool,
    on_result: Callable[[SizeResult], None],
    log: Callable[[str], None] = print,
) -> list[SizeResult]:
    """Every (backend, inode count) of `plan` in order; `on_result` sees each as soon as it is done."""
    results: list[SizeResult] = []
    for backend, inode_count in plan:
        log(f"{backend} at {inode_count:,} inodes")
        database: Any
        if backend == SQLITE:
            database = sqlite_database(work_directory, inode_count, keep_databases)
        else:
            check(mysql_server_url is not None, "a MariaDB run needs a server URL")
            assert mysql_server_url is not None
            database = mysql_database(mysql_server_url, inode_count, keep_databases)
        with database as url:
            result = run_size(url, inode_count, settings, log)
        results.append(result)
        on_result(result)
    return results
