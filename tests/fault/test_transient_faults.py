"""Seeded transient database faults: the same operations give the same namespace with and without them.

Each statement fails with probability p (deadlock, lock-wait timeout, lost connection, SQLite busy);
the engine must roll back and retry the whole operation, so the final tree, the fsck invariants and
the change log are exactly those of a fault-free run. A failure prints the seed; rerun one with
HOPSFS_FAULT_SEED=<seed>.
"""

from __future__ import annotations

import os
import random

import pytest
from support.changelog_replay import assert_change_log_matches
from support.faults import FaultPlan, inject_faults
from support.fsck import assert_consistent

from hopsfs.errors import HopsFSError
from hopsfs.types import Caller
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

ROOT = Caller("hdfs")
SEEDS = [int(os.environ["HOPSFS_FAULT_SEED"])] if "HOPSFS_FAULT_SEED" in os.environ else [11, 23, 37]
NAMES = ["a", "b", "c", "d"]


def _operations(seed: int, count: int) -> list[tuple[str, tuple[object, ...]]]:
    chooser = random.Random(seed)

    def path() -> str:
        return "/" + "/".join(chooser.choice(NAMES) for _ in range(chooser.randint(1, 3)))

    operations: list[tuple[str, tuple[object, ...]]] = []
    for _ in range(count):
        kind = chooser.choice(
            ["mkdirs", "create", "rename", "delete", "set_xattr", "set_permission", "symlink"]
        )
        if kind == "mkdirs":
            operations.append(("mkdirs", (path(),)))
        elif kind == "create":
            operations.append(("create", (path(), chooser.random() < 0.5)))
        elif kind == "rename":
            operations.append(("rename", (path(), path(), chooser.random() < 0.5)))
        elif kind == "delete":
            operations.append(("delete", (path(), chooser.random() < 0.7)))
        elif kind == "set_xattr":
            operations.append(("set_xattr", (path(), f"user.{chooser.choice(NAMES)}", b"v")))
        elif kind == "set_permission":
            operations.append(("set_permission", (path(), chooser.choice([0o755, 0o700, 0o1777]))))
        else:
            operations.append(("symlink", ("/target", path())))
    return operations


def _apply(namespace: Namespace, operations: list[tuple[str, tuple[object, ...]]]) -> list[str]:
    outcomes: list[str] = []
    for name, arguments in operations:
        try:
            if name == "mkdirs":
                result: object = namespace.mkdirs(ROOT, *arguments)  # type: ignore[arg-type]
            elif name == "create":
                path, overwrite = arguments
                result = namespace.create(ROOT, path, overwrite=overwrite).path  # type: ignore[arg-type]
            elif name == "rename":
                source, target, overwrite = arguments
                result = namespace.rename(ROOT, source, target, overwrite)  # type: ignore[arg-type]
            elif name == "delete":
                result = namespace.delete(ROOT, *arguments)  # type: ignore[arg-type]
            elif name == "set_xattr":
                result = namespace.set_xattr(ROOT, *arguments)  # type: ignore[arg-type]
            elif name == "set_permission":
                result = namespace.set_permission(ROOT, *arguments)  # type: ignore[arg-type]
            else:
                result = namespace.create_symlink(ROOT, *arguments, create_parent=True).path  # type: ignore[arg-type]
            outcomes.append(f"{name}{arguments} -> {result!r}")
        except HopsFSError as error:
            outcomes.append(f"{name}{arguments} -> {type(error).__name__}")
    return outcomes


def _tree(namespace: Namespace) -> list[tuple[str, int, int, str | None]]:
    found: list[tuple[str, int, int, str | None]] = []
    pending = ["/"]
    while pending:
        directory = pending.pop()
        for entry in namespace.list_all(ROOT, directory):
            found.append((entry.path, int(entry.kind), entry.permission, entry.symlink_target))
            if entry.is_directory:
                pending.append(entry.path)
    return sorted(found)


def _fresh_namespace(url: str) -> Namespace:
    store = MetadataStore(url)
    store.format(superuser="hdfs", supergroup="supergroup", now_ms=1, force=True)
    return Namespace(store)


@pytest.mark.parametrize("seed", SEEDS)
def test_transient_faults_change_nothing_but_time(db_url: str, seed: int) -> None:
    operations = _operations(seed, 200)
    clean = _fresh_namespace(db_url)
    expected_outcomes = _apply(clean, operations)
    expected_tree = _tree(clean)
    clean.close()

    faulty = _fresh_namespace(db_url)
    with inject_faults(faulty.store, FaultPlan(seed=seed, probability=0.03)) as plan:
        outcomes = _apply(faulty, operations)
    tree = _tree(faulty)
    retries = faulty.context.statistics["retries"]
    faulty.close()

    context = f"seed={seed} (rerun with HOPSFS_FAULT_SEED={seed}); injected {plan.injected}"
    assert sum(plan.injected.values()) > 0, context
    assert retries >= sum(plan.injected.values()) - 1, context
    assert outcomes == expected_outcomes, context
    assert tree == expected_tree, context
    assert_consistent(db_url)
    assert_change_log_matches(db_url)
