"""Subprocess entry points: `python -m support.workers <command> <json parameters>`.

Each opens its own MetadataStore and Namespace on the database named in the parameters (already
formatted by the test), prints READY, waits for one line on stdin so that all workers start together,
works, and prints `RESULT <json>` (see worker_launcher.py). PYTHONPATH must hold the repository root
and its tests/ directory.

Commands:
  race          run workers of a race_scenarios scenario as threads on one Namespace
  crash_stream  run crash_stream.OperationStream until killed (or done)
  allocate_ids  take ids in a loop from a small-batch IdAllocator, creating files now and then
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from hopsfs import limits
from hopsfs.types import Caller
from namenode.dal.store import MetadataStore
from namenode.engine.ids import IdAllocator
from namenode.engine.namespace import Namespace
from namenode.engine.txn import Transaction
from namenode.ops import subtree
from support import crash_stream, race_scenarios

SUPERUSER = Caller("root", ())


def main(arguments: list[str]) -> int:
    command, parameters = arguments[0], json.loads(arguments[1])
    commands: dict[str, Callable[[dict[str, Any]], Any]] = {
        "race": race,
        "crash_stream": stream,
        "allocate_ids": allocate_ids,
    }
    result = commands[command](parameters)
    emit("RESULT " + json.dumps(result))
    return 0


def emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def open_and_wait(url: str, namenode_id: str | None = None) -> Namespace:
    namespace = Namespace(MetadataStore(url), namenode_id=namenode_id)
    emit("READY")
    if sys.stdin.readline() == "":
        raise SystemExit("stdin closed before the go line")
    return namespace


def race(parameters: dict[str, Any]) -> list[dict[str, Any]]:
    namespace = open_and_wait(parameters["url"], parameters["namenode_id"])
    try:
        records = race_scenarios.run_workers(
            namespace,
            parameters["scenario"],
            race_scenarios.RaceParameters(**parameters["parameters"]),
            parameters["workers"],
        )
    finally:
        namespace.close()
    return [record.to_json() for record in records]


def stream(parameters: dict[str, Any]) -> int:
    limits.SUBTREE_TXN_INODES_MAX = parameters["subtree_budget"]
    limits.SUBTREE_LOCK_LEASE_MS = parameters["lease_ms"]
    _slow_down_delete_batches(parameters["batch_delay_ms"] / 1000)
    namespace = open_and_wait(parameters["url"], parameters["namenode_id"])
    try:
        return crash_stream.OperationStream(namespace, parameters["seed"], emit).run(
            parameters["operations_max"]
        )
    finally:
        namespace.close()


def _slow_down_delete_batches(delay_s: float) -> None:
    """Sleep inside each subtree delete batch's transaction, so a kill often lands in an open one."""
    real_batch = subtree.delete_batch

    def slow_batch(transaction: Transaction, handle: subtree.SubtreeHandle, budget: int) -> bool:
        emptied = real_batch(transaction, handle, budget)
        time.sleep(delay_s)
        return emptied

    subtree.delete_batch = slow_batch


def allocate_ids(parameters: dict[str, Any]) -> dict[str, Any]:
    """Threads share one small-batch allocator and a Namespace whose own allocator is small-batch too."""
    store = MetadataStore(parameters["url"])
    batch_size = parameters["batch_size"]
    namespace = Namespace(store)
    namespace.context.inode_ids = IdAllocator(store, "inode", batch_size=batch_size)
    allocator = IdAllocator(store, "inode", batch_size=batch_size)
    emit("READY")
    if sys.stdin.readline() == "":
        raise SystemExit("stdin closed before the go line")
    results: list[dict[str, list[int]]] = [{"kept": [], "created": []} for _ in range(parameters["threads"])]
    errors: list[str] = []

    def body(thread: int) -> None:
        try:
            _allocate_loop(namespace, allocator, parameters, thread, results[thread])
        except BaseException as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=body, args=(index,)) for index in range(parameters["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    namespace.close()
    if errors:
        raise RuntimeError(f"allocation threads failed: {errors}")
    return {
        "kept": [value for result in results for value in result["kept"]],
        "created": [value for result in results for value in result["created"]],
        "refills": allocator.refills,
        "namespace_refills": namespace.context.inode_ids.refills,
    }


def _allocate_loop(
    namespace: Namespace,
    allocator: IdAllocator,
    parameters: dict[str, Any],
    thread: int,
    result: dict[str, list[int]],
) -> None:
    rng = random.Random(parameters["seed"] * 100 + thread)
    batch_size = parameters["batch_size"]
    for index in range(parameters["loops"]):
        taken = allocator.take(rng.randint(1, batch_size))
        if len(taken) > 1 and rng.random() < 0.2:
            keep = rng.randint(1, len(taken) - 1)
            allocator.give_back(taken[keep:])
            taken = taken[:keep]
        result["kept"].extend(taken)
        if index % parameters["create_every"] == 0:
            path = f"/ids/p{parameters['process']}/t{thread}/f{index}"
            result["created"].append(namespace.create(SUPERUSER, path).inode_id)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
