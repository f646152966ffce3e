"""Timed workloads: engine operations through `Namespace`, and raw point selects as the baseline.

Each workload runs single-threaded for a fixed duration or op count, whichever ends first. Arguments
(paths, keys) are generated in batches outside the timed region, so ops/s and latencies count only the
call under test plus two clock reads. Write workloads keep a model of the namespace (`FileModel`) so
every operation is valid: renamed files are found under their new path, deleted files are never used
again, and new names never collide. The baseline runs interleaved with stat, batch by batch, so their
ratio (a target) does not carry the shared machine's load swings between two separate windows.

Bounds: BATCH_OPS arguments in memory at a time; deletes stop before half of the loaded files are gone.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from bench.engine.populate import PopulatedTree
from hopsfs.invariants import check
from hopsfs.types import Caller
from namenode.engine.namespace import Namespace

T = TypeVar("T")

BATCH_OPS = 256
WARMUP_OPS = 50
PICK_ATTEMPTS_MAX = 1000
OPERATIONS = ("stat", "list", "create", "mkdir", "rename", "delete")
BASELINE = "raw_select"
POINT_SELECT_SQLITE = "SELECT * FROM inodes WHERE partition_id = ? AND parent_id = ? AND name = ?"
POINT_SELECT_MYSQL = "SELECT * FROM inodes WHERE partition_id = %s AND parent_id = %s AND name = %s"
SQLITE_CACHE_PRAGMA = "PRAGMA cache_size=-65536"  # the engine's own setting (namenode/dal/connection.py)


@dataclass(frozen=True, slots=True)
class OperationResult:
    operation: str
    ops: int
    seconds: float
    ops_per_s: float
    p50_us: float
    p99_us: float
    mean_us: float
    processes: int = 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(operation: str, latencies_ns: list[int], seconds: float, processes: int = 1) -> OperationResult:
    check(len(latencies_ns) > 0, f"workload {operation} ran no operation")
    check(seconds > 0, "a workload takes time")
    ordered = sorted(latencies_ns)
    return OperationResult(
        operation=operation,
        ops=len(ordered),
        seconds=seconds,
        ops_per_s=len(ordered) / seconds,
        p50_us=_percentile(ordered, 0.50) / 1000,
        p99_us=_percentile(ordered, 0.99) / 1000,
        mean_us=sum(ordered) / len(ordered) / 1000,
        processes=processes,
    )


def _percentile(ordered: list[int], fraction: float) -> float:
    return float(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))])


@dataclass(frozen=True, slots=True)
class Workload:
    """One operation to time: how to run it once, and how to make `n` fresh arguments for it."""

    operation: str
    run_one: Callable[[Any], object]
    arguments: Callable[[int], list[Any]]
    ops_max: int


def measure_latencies(
    run_one: Callable[[T], object], arguments: Callable[[int], list[T]], duration_s: float, ops_max: int
) -> tuple[list[int], float]:
    """Per-op latencies (ns) and the busy seconds, after WARMUP_OPS untimed operations."""
    workload = Workload("", run_one, arguments, ops_max)
    [(latencies, seconds)] = _measure_in_turn([workload], duration_s)
    return latencies, seconds


def measure_interleaved(workloads: Sequence[Workload], duration_s: float) -> list[OperationResult]:
    """Batches of each workload in turn, so all of them run through the same spells of machine noise
    (the shared machine's load varies within seconds; a ratio of two separate runs would carry it)."""
    measured = _measure_in_turn(workloads, duration_s)
    return [
        summarize(workload.operation, latencies, seconds)
        for workload, (latencies, seconds) in zip(workloads, measured, strict=True)
    ]


def _measure_in_turn(workloads: Sequence[Workload], duration_s: float) -> list[tuple[list[int], float]]:
    for workload in workloads:
        for argument in workload.arguments(min(WARMUP_OPS, workload.ops_max)):
            workload.run_one(argument)
    latencies: list[list[int]] = [[] for _ in workloads]
    elapsed_ns = [0] * len(workloads)
    duration_ns = int(duration_s * 1e9)
    active = list(range(len(workloads)))
    while active:
        for index in list(active):
            workload, done = workloads[index], latencies[index]
            batch = workload.arguments(min(BATCH_OPS, workload.ops_max - len(done)))
            elapsed_ns[index] += _run_batch(workload.run_one, batch, done)
            if not batch or elapsed_ns[index] >= duration_ns or len(done) >= workload.ops_max:
                active.remove(index)
    return [(done, elapsed / 1e9) for done, elapsed in zip(latencies, elapsed_ns, strict=True)]


def _run_batch(run_one: Callable[[Any], object], batch: list[Any], latencies: list[int]) -> int:
    """Run the batch, appending each op's latency; returns the batch's wall time in ns."""
    clock = time.perf_counter_ns
    batch_started = clock()
    for argument in batch:
        started = clock()
        run_one(argument)
        latencies.append(clock() - started)
    return clock() - batch_started


class FileModel:
    """Where each loaded file is now: moved by renames, gone after deletes; plus fresh names."""

    def __init__(self, tree: PopulatedTree, seed: int) -> None:
        check(len(tree.full_leaves) > 1, "the workloads need at least two full leaf directories")
        self.tree = tree
        self.random = random.Random(seed)
        self.moved: dict[int, str] = {}
        self.deleted: set[int] = set()
        self._names_issued = 0

    def pick_file(self) -> int:
        """A random loaded file that still exists."""
        for _ in range(PICK_ATTEMPTS_MAX):
            ordinal = self.random.randrange(self.tree.file_count)
            if ordinal not in self.deleted:
                return ordinal
        raise RuntimeError("could not find a live file: too many were deleted")

    def path_of(self, ordinal: int) -> str:
        return self.moved.get(ordinal) or self.tree.file_path(ordinal)

    def full_leaf_path(self) -> str:
        return self.tree.leaf_paths[self.random.choice(self.tree.full_leaves)]

    def fresh_name(self, prefix: str) -> str:
        self._names_issued += 1
        return f"{prefix}{self._names_issued:07d}"

    @property
    def live_files(self) -> int:
        return self.tree.file_count - len(self.deleted)

    # -- argument generators, one per workload ---------------------------------------------------

    def stat_paths(self, count: int) -> list[str]:
        return [self.path_of(self.pick_file()) for _ in range(count)]

    def list_paths(self, count: int) -> list[str]:
        return [self.full_leaf_path() for _ in range(count)]

    def new_paths(self, prefix: str, count: int) -> list[str]:
        return [f"{self.full_leaf_path()}/{self.fresh_name(prefix)}" for _ in range(count)]

    def rename_pairs(self, count: int) -> list[tuple[str, str]]:
        """Alternately within the file's directory and into another leaf directory."""
        pairs: list[tuple[str, str]] = []
        for _ in range(count):
            ordinal = self.pick_file()
            source = self.path_of(ordinal)
            within = self._names_issued % 2 == 0
            directory = source.rsplit("/", 1)[0] if within else self.full_leaf_path()
            target = f"{directory}/{self.fresh_name('r')}"
            self.moved[ordinal] = target
            pairs.append((source, target))
        return pairs

    def delete_paths(self, count: int) -> list[str]:
        paths: list[str] = []
        for _ in range(count):
            ordinal = self.pick_file()
            self.deleted.add(ordinal)
            paths.append(self.path_of(ordinal))
        return paths

    def point_keys(self, count: int) -> list[tuple[int, int, str]]:
        """Primary keys of random live files as loaded (the baseline reads rows the bench never moves)."""
        keys: list[tuple[int, int, str]] = []
        while len(keys) < count:
            ordinal = self.pick_file()
            if ordinal not in self.moved:
                keys.append(self.tree.file_key(ordinal))
        return keys


def run_engine_workloads(
    namespace: Namespace,
    caller: Caller,
    model: FileModel,
    baseline: Workload,
    duration_s: float,
    ops_max: int,
) -> list[OperationResult]:
    """The baseline and every engine workload, baseline first: the baseline runs interleaved with stat
    (their ratio is a target), then the rest in a fixed order, reads while directories hold 100 children."""
    delete_ops_max = min(ops_max, max(1, model.live_files // 2 - WARMUP_OPS))

    def rename(pair: tuple[str, str]) -> None:
        namespace.rename(caller, pair[0], pair[1])

    def delete(path: str) -> None:
        check(namespace.delete(caller, path), "the bench deletes only existing files")

    stat = Workload("stat", lambda path: namespace.stat(caller, path), model.stat_paths, ops_max)
    results = measure_interleaved([baseline, stat], duration_s)
    for workload in (
        Workload("list", lambda path: _list_full(namespace, caller, path), model.list_paths, ops_max),
        Workload(
            "create", lambda path: namespace.create(caller, path), lambda n: model.new_paths("n", n), ops_max
        ),
        Workload(
            "mkdir", lambda path: namespace.mkdirs(caller, path), lambda n: model.new_paths("m", n), ops_max
        ),
        Workload("rename", rename, model.rename_pairs, ops_max),
        Workload("delete", delete, model.delete_paths, delete_ops_max),
    ):
        results.extend(measure_interleaved([workload], duration_s))
    check(tuple(result.operation for result in results) == (baseline.operation, *OPERATIONS), "all measured")
    return results


def _list_full(namespace: Namespace, caller: Caller, path: str) -> None:
    listing = namespace.list(caller, path)
    check(len(listing.entries) >= 100 and listing.remaining == 0, "a leaf directory lists its 100 children")


@contextmanager
def sqlite_baseline(database_path: str, model: FileModel, ops_max: int) -> Iterator[Workload]:
    """Raw sqlite3 primary-key select of one inodes row, on the engine's database file."""
    connection = sqlite3.connect(database_path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute(SQLITE_CACHE_PRAGMA)
        cursor = connection.cursor()

        def select(key: tuple[int, int, str]) -> None:
            check(len(cursor.execute(POINT_SELECT_SQLITE, key).fetchall()) == 1, "baseline key exists")

        yield Workload(BASELINE, select, model.point_keys, ops_max)
    finally:
        connection.close()


@contextmanager
def mysql_baseline(database_url: str, model: FileModel, ops_max: int) -> Iterator[Workload]:
    """Raw pymysql primary-key select of one inodes row (autocommit, like the engine's reads)."""
    connection = connect_mysql(database_url)
    try:
        cursor = connection.cursor()

        def select(key: tuple[int, int, str]) -> None:
            cursor.execute(POINT_SELECT_MYSQL, key)
            check(len(cursor.fetchall()) == 1, "baseline key exists")

        yield Workload(BASELINE, select, model.point_keys, ops_max)
    finally:
        connection.close()


def mysql_scalar(url: str, sql: str) -> Any:
    """The first column of the first row `sql` returns, on a fresh connection to `url`."""
    connection = connect_mysql(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]
    finally:
        connection.close()


def connect_mysql(url: str) -> Any:
    """A plain pymysql connection to the server (and database, if any) a SQLAlchemy URL names.

    pymysql is imported here: it is an optional dependency (the `mysql` extra), not needed for SQLite.
    """
    import pymysql

    parsed = make_url(url)
    options: dict[str, Any] = {
        "user": parsed.username or "root",
        "password": parsed.password or "",
        "database": parsed.database or None,
        "charset": "utf8mb4",
        "autocommit": True,
        "connect_timeout": 10,
    }
    socket = parsed.query.get("unix_socket")
    if socket:
        options["unix_socket"] = str(socket)
    else:
        options["host"] = parsed.host or "127.0.0.1"
        options["port"] = parsed.port or 3306
    return pymysql.connect(**options)
