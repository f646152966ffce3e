"""One RPC benchmark run on one database: load the tree, time the in-process engine, then every
(namenodes, clients, client kind, operation) over Hadoop IPC, then the engine again.

The engine baseline (`Namespace.stat` / `Namespace.list` in this process, single-threaded, warm hint
cache, the caller the namenode would derive) runs before the namenodes start and after they stop, and
the two windows are pooled: the machine is shared and its load drifts, and bracketing the RPC windows
keeps the ratio honest about that drift (each window is kept in the records).

Namenode processes are added one at a time (1, then 2): each is warmed by a stat of every directory
through its own connection before it is measured, as the engine is warmed before its baseline.

Bounds: the namenode group, the load pool and the engine are closed on every exit path.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.engine.parallel import warm_hint_cache
from bench.engine.populate import FILES_PER_LEAF, Owner, PopulatedTree, plan_directories, populate
from bench.engine.run import BENCH_USER, SQLITE, SUPERGROUP, SUPERUSER
from bench.engine.workloads import FileModel, OperationResult, measure_latencies, mysql_scalar, summarize
from bench.rpc.cluster import (
    HANDLER_THREADS_DEFAULT,
    NamenodeGroup,
    machine_cpu_seconds,
    process_cpu_seconds,
)
from bench.rpc.load import (
    GET_FILE_INFO,
    GET_LISTING,
    OPERATIONS,
    WARMUP_CALLS,
    LoadPool,
    LoadTask,
    split_callers,
)
from hopsfs.client import connect
from hopsfs.invariants import check
from hopsfs.types import Caller
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace
from namenode.ipc.groups import GroupResolver

ENGINE = "engine"
START_DELAY_S = 0.05  # from "start" to the window: every worker must be asleep and waiting by then
PATHS_PER_TASK = 4096
OPS_MAX = 10_000_000  # the engine windows end by time, not by count
SIZE_FIXPOINT_ROUNDS_MAX = 8
WARM_CONNECTIONS_PER_NAMENODE_SHARED = 4  # a shared port hashes connections: try a few to reach each


@dataclass(frozen=True, slots=True)
class RpcSettings:
    duration_s: float = 5.0
    files: int = 100_000
    client_kinds: tuple[str, ...] = ("hopsfs", "lean")
    namenode_counts: tuple[int, ...] = (1, 2)
    client_counts: tuple[int, ...] = (1, 16)
    load_processes: int = 2
    shared_port: bool = False
    seed: int = 1
    warmup_calls: int = WARMUP_CALLS
    handler_threads: int = HANDLER_THREADS_DEFAULT


@dataclass(frozen=True, slots=True)
class RpcRow:
    """One measured configuration; `client_kind` ENGINE (namenodes 0) is the in-process baseline."""

    backend: str
    client_kind: str
    namenodes: int
    clients: int
    result: OperationResult
    server_cpu_us_per_op: float | None
    client_cpu_us_per_op: float | None
    load_average_1m: float
    calls_outside_window: int = 0
    machine_busy_percent: float | None = None  # all cores, every process on the machine
    others_busy_percent: float | None = None  # the part of it not spent by this benchmark's processes
    database_cpu_us_per_op: float | None = None  # a MariaDB server on this machine, else None
    window: str = "rpc"  # an engine row's window: "before" or "after" the RPC runs


@dataclass(slots=True)
class BackendResult:
    backend: str
    driver: str
    inode_count: int
    file_count: int
    directory_count: int
    populate_s: float
    engine_windows: list[RpcRow] = field(default_factory=list)  # each engine window, before and after
    rows: list[RpcRow] = field(default_factory=list)  # the RPC measurements, in run order
    # Every engine window's latencies and busy seconds, per operation, for the pooled baseline.
    engine_latencies_ns: dict[str, list[int]] = field(default_factory=dict)
    engine_seconds: dict[str, float] = field(default_factory=dict)

    def engine(self, operation: str) -> OperationResult:
        """The pooled baseline of `operation`: every engine window's calls over their summed time."""
        check(operation in self.engine_latencies_ns, f"the engine baseline of {operation} was measured")
        return summarize(operation, self.engine_latencies_ns[operation], self.engine_seconds[operation])

    def add_engine_window(self, row: RpcRow, latencies_ns: list[int], seconds: float) -> None:
        check(row.client_kind == ENGINE and row.result.ops == len(latencies_ns), "an engine window")
        operation = row.result.operation
        self.engine_windows.append(row)
        self.engine_latencies_ns.setdefault(operation, []).extend(latencies_ns)
        self.engine_seconds[operation] = self.engine_seconds.get(operation, 0.0) + seconds


def inode_count_for_files(files: int) -> int:
    """The inode count whose bench tree holds `files` files (plus its directories and the root)."""
    check(files > 0, "the tree needs files")
    inode_count = files + 1
    for _ in range(SIZE_FIXPOINT_ROUNDS_MAX):
        directories, _, _ = plan_directories(inode_count)
        wanted = files + 1 + len(directories)
        if wanted == inode_count:
            return inode_count
        inode_count = wanted
    return inode_count  # within a directory or two of `files` files: close enough for a benchmark


def run_backend(
    backend: str,
    url: str,
    settings: RpcSettings,
    pool: LoadPool,
    log: Callable[[str], None] = print,
) -> BackendResult:
    """Format the empty database at `url`, load the tree and measure every configuration on it."""
    check(list(settings.namenode_counts) == sorted(set(settings.namenode_counts)), "namenodes ascend")
    store = MetadataStore(url)
    now_ms = int(time.time() * 1000)
    store.format(superuser=SUPERUSER, supergroup=SUPERGROUP, now_ms=now_ms)
    tree = populate(store, inode_count_for_files(settings.files), Owner(BENCH_USER, SUPERGROUP), now_ms)
    log(f"{backend}: {tree.inode_count:,} inodes ({tree.file_count:,} files) loaded in {tree.seconds:.1f} s")
    result = BackendResult(
        backend,
        make_url(url).drivername,
        tree.inode_count,
        tree.file_count,
        len(tree.directory_paths) + 1,
        tree.seconds,
    )
    database = None if make_url(url).drivername.startswith(SQLITE) else database_server_pid(url)
    # The caller the namenode derives for BENCH_USER: the same groups, so the same permission checks.
    caller = Caller(BENCH_USER, GroupResolver().groups(BENCH_USER))
    namespace = Namespace(store)
    try:
        warm_hint_cache(namespace, caller, tree)
        _measure_engine(result, namespace, caller, tree, settings, "before")
        with NamenodeGroup(
            url, shared_port=settings.shared_port, handler_threads=settings.handler_threads
        ) as group:
            for count in settings.namenode_counts:
                while group.count < count:
                    group.add()
                _warm_namenodes(group, tree)
                for row in _measure_namenodes(backend, group, pool, tree, settings, database, log):
                    result.rows.append(row)
        _measure_engine(result, namespace, caller, tree, settings, "after")
    finally:
        namespace.close()
    for operation in OPERATIONS:
        log(f"{backend}: engine {operation} {result.engine(operation).ops_per_s:,.0f} ops/s (pooled)")
    return result


def _measure_engine(
    result: BackendResult,
    namespace: Namespace,
    caller: Caller,
    tree: PopulatedTree,
    settings: RpcSettings,
    when: str,
) -> None:
    """One window per operation of the in-process engine, added to `result` as window `when`."""
    model = FileModel(tree, settings.seed + (0 if when == "before" else 1))

    def stat(path: str) -> None:
        check(namespace.stat(caller, path).is_file, "the engine finds each file")

    def list_page(path: str) -> None:
        page = namespace.list(caller, path)
        check(len(page.entries) == FILES_PER_LEAF, "a leaf directory lists its files in one page")

    for operation, run_one, arguments in (
        (GET_FILE_INFO, stat, model.stat_paths),
        (GET_LISTING, list_page, model.list_paths),
    ):
        latencies, seconds = measure_latencies(run_one, arguments, settings.duration_s, OPS_MAX)
        measured = summarize(operation, latencies, seconds)
        row = RpcRow(result.backend, ENGINE, 0, 1, measured, None, None, _load_average(), window=when)
        result.add_engine_window(row, latencies, seconds)


def _warm_namenodes(group: NamenodeGroup, tree: PopulatedTree) -> None:
    """Stat every directory through each namenode, so its hint cache is as warm as the engine's."""
    connections = WARM_CONNECTIONS_PER_NAMENODE_SHARED * group.count if group.shared_port else 1
    for host, port in group.addresses:
        for _ in range(connections):
            with connect(f"hopsfs://{host}:{port}", user=BENCH_USER) as client:
                for path in tree.directory_paths:
                    client.stat(path)


def _measure_namenodes(
    backend: str,
    group: NamenodeGroup,
    pool: LoadPool,
    tree: PopulatedTree,
    settings: RpcSettings,
    database_pid: int | None,
    log: Callable[[str], None],
) -> list[RpcRow]:
    rows = []
    model = FileModel(tree, settings.seed + 10 * group.count)
    paths = {GET_FILE_INFO: model.stat_paths(PATHS_PER_TASK), GET_LISTING: model.list_paths(PATHS_PER_TASK)}
    for clients in settings.client_counts:
        for client_kind in settings.client_kinds:
            for operation in OPERATIONS:
                row = measure_rpc(
                    backend,
                    group,
                    pool,
                    client_kind,
                    operation,
                    clients,
                    paths[operation],
                    settings,
                    database_pid,
                )
                log(
                    f"{backend}: {group.count} namenode(s), {clients} client(s), {client_kind}, {operation}: "
                    f"{row.result.ops_per_s:,.0f} ops/s, p50 {row.result.p50_us:.0f} µs, "
                    f"p99 {row.result.p99_us:.0f} µs"
                )
                rows.append(row)
    return rows


def measure_rpc(
    backend: str,
    group: NamenodeGroup,
    pool: LoadPool,
    client_kind: str,
    operation: str,
    clients: int,
    paths: list[str],
    settings: RpcSettings,
    database_pid: int | None = None,
) -> RpcRow:
    """One window of `clients` concurrent callers over the pool's processes, all at once."""
    shares = split_callers(clients, pool.size, group.addresses)
    stride = max(1, len(paths) // clients)
    tasks = [
        LoadTask(
            client_kind=client_kind,
            operation=operation,
            caller_addresses=[address for _, address in share],
            caller_offsets=[caller * stride for caller, _ in share],
            paths=paths,
            user=BENCH_USER,
            duration_s=settings.duration_s,
            entries_expected=FILES_PER_LEAF,
            warmup_calls=settings.warmup_calls,
        )
        for share in shares
    ]
    pool.prepare(tasks)
    start_at = time.monotonic() + START_DELAY_S
    pool.start(start_at)
    database_pids = [] if database_pid is None else [database_pid]
    probe = _CpuProbe(group.pids, pool.pids[: len(tasks)], database_pids)
    _sleep_until(start_at)
    before = probe.sample()
    _sleep_until(start_at + settings.duration_s)
    after = probe.sample()
    outcomes = pool.collect(settings.duration_s)
    group.check_alive()
    latencies = [latency for outcome in outcomes for latency in outcome.latencies_ns]
    measured = summarize(operation, latencies, settings.duration_s)
    return RpcRow(
        backend=backend,
        client_kind=client_kind,
        namenodes=group.count,
        clients=clients,
        result=measured,
        server_cpu_us_per_op=_per_op_us(before.servers_s, after.servers_s, measured.ops),
        client_cpu_us_per_op=_per_op_us(before.clients_s, after.clients_s, measured.ops),
        load_average_1m=_load_average(),
        calls_outside_window=sum(outcome.calls_outside_window for outcome in outcomes),
        machine_busy_percent=_busy_percent(before.machine_s, after.machine_s),
        others_busy_percent=_others_percent(before, after),
        database_cpu_us_per_op=_per_op_us(before.database_s, after.database_s, measured.ops),
    )


@dataclass(frozen=True, slots=True)
class _CpuSample:
    servers_s: float | None
    clients_s: float | None
    database_s: float | None  # None also when there is no database process to watch
    machine_s: tuple[float, float] | None  # (busy, total)


@dataclass(frozen=True, slots=True)
class _CpuProbe:
    """CPU seconds used so far by the namenodes, the load processes, the database server, the machine."""

    server_pids: list[int]
    client_pids: list[int]
    database_pids: list[int]

    def sample(self) -> _CpuSample:
        return _CpuSample(
            servers_s=_cpu_seconds(self.server_pids),
            clients_s=_cpu_seconds(self.client_pids),
            database_s=_cpu_seconds(self.database_pids) if self.database_pids else None,
            machine_s=machine_cpu_seconds(),
        )


def database_server_pid(url: str) -> int | None:
    """The MariaDB server's pid when it runs on this machine (its pid file is readable here), else None."""
    try:
        pid_file = Path(str(mysql_scalar(url, "SELECT @@pid_file")))
        pid = int(pid_file.read_text().strip())
    except (ImportError, OSError, ValueError):  # no PyMySQL, or a server on another machine
        return None
    return pid if process_cpu_seconds(pid) is not None else None


def _cpu_seconds(pids: list[int]) -> float | None:
    total = 0.0
    for pid in pids:
        seconds = process_cpu_seconds(pid)
        if seconds is None:
            return None
        total += seconds
    return total


def _per_op_us(before: float | None, after: float | None, ops: int) -> float | None:
    if before is None or after is None or ops == 0:
        return None
    return (after - before) / ops * 1e6


def _busy_percent(before: tuple[float, float] | None, after: tuple[float, float] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round(100 * (after[0] - before[0]) / (after[1] - before[1]), 1)


def _others_percent(before: _CpuSample, after: _CpuSample) -> float | None:
    """Busy CPU of the machine not spent by the namenodes, load processes or database server, in
    percent of all cores: other tenants' work, which makes a window's figures unreliable."""
    if before.machine_s is None or after.machine_s is None or after.machine_s[1] <= before.machine_s[1]:
        return None
    ours_s = 0.0
    for start, end in (
        (before.servers_s, after.servers_s),
        (before.clients_s, after.clients_s),
        (before.database_s, after.database_s),
    ):
        if start is not None and end is not None:
            ours_s += end - start
    busy_s = after.machine_s[0] - before.machine_s[0]
    total_s = after.machine_s[1] - before.machine_s[1]
    return round(max(0.0, 100 * (busy_s - ours_s) / total_s), 1)


def _sleep_until(instant: float) -> None:
    remaining = instant - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def _load_average() -> float:
    return round(os.getloadavg()[0], 2)
