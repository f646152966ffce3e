"""The multi-process stat variant: N namenode-like processes, each with its own `Namespace` and warm
hint cache, stat random files of one database at once.

Workers are spawned (no inherited connections), warm up, report ready, and start together on one event,
so their timed windows overlap. Throughput is the sum of the workers' rates; latencies are pooled.

Bounds: READY_TIMEOUT_S for a worker to open and warm up; the run itself ends after duration_s.
"""

from __future__ import annotations

import multiprocessing
import queue
from typing import Any

from bench.engine.populate import PopulatedTree
from bench.engine.workloads import FileModel, OperationResult, measure_latencies
from hopsfs.invariants import check
from hopsfs.types import Caller
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

READY_TIMEOUT_S = 300.0
PROCESSES_MAX = 64


def run_parallel_stat(
    url: str, tree: PopulatedTree, caller: Caller, processes: int, duration_s: float, ops_max: int, seed: int
) -> OperationResult:
    check(2 <= processes <= PROCESSES_MAX, "the parallel variant runs 2 to PROCESSES_MAX processes")
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue()
    start = context.Event()
    workers = [
        context.Process(
            target=_stat_worker,
            args=(url, tree, caller, duration_s, ops_max, seed + index, results, start),
            daemon=True,
        )
        for index in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            message = results.get(timeout=READY_TIMEOUT_S)
            if message != "ready":
                raise RuntimeError(f"a stat worker failed to start: {message}")
        start.set()
        outcomes = [results.get(timeout=READY_TIMEOUT_S + duration_s * 2) for _ in workers]
    except queue.Empty as error:
        raise RuntimeError("a stat worker did not answer in time") from error
    finally:
        start.set()  # let workers still waiting run out and exit
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
    for outcome in outcomes:
        if isinstance(outcome, str):
            raise RuntimeError(f"a stat worker failed: {outcome}")
    return _combine(outcomes, processes)


def _combine(outcomes: list[tuple[list[int], float]], processes: int) -> OperationResult:
    latencies = sorted(latency for worker_latencies, _ in outcomes for latency in worker_latencies)
    check(len(latencies) > 0, "the parallel stat ran no operation")
    rate = sum(len(worker_latencies) / seconds for worker_latencies, seconds in outcomes)
    return OperationResult(
        operation=f"stat x{processes}",
        ops=len(latencies),
        seconds=max(seconds for _, seconds in outcomes),
        ops_per_s=rate,
        p50_us=latencies[len(latencies) // 2] / 1000,
        p99_us=latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] / 1000,
        mean_us=sum(latencies) / len(latencies) / 1000,
        processes=processes,
    )


def _stat_worker(
    url: str,
    tree: PopulatedTree,
    caller: Caller,
    duration_s: float,
    ops_max: int,
    seed: int,
    results: Any,
    start: Any,
) -> None:
    try:
        namespace = Namespace(MetadataStore(url))
    except Exception as error:
        results.put(f"open: {error!r}")
        return
    try:
        warm_hint_cache(namespace, caller, tree)
        results.put("ready")
        start.wait()
        model = FileModel(tree, seed)
        results.put(
            measure_latencies(
                lambda path: namespace.stat(caller, path), model.stat_paths, duration_s, ops_max
            )
        )
    except Exception as error:
        results.put(f"run: {error!r}")
    finally:
        namespace.close()


def warm_hint_cache(namespace: Namespace, caller: Caller, tree: PopulatedTree) -> None:
    """Stat every directory once, parents first, as a namenode that has served the tree would have."""
    for path in tree.directory_paths:
        namespace.stat(caller, path)
