"""Concurrent workloads on overlapping paths, shared by the thread and the process concurrency tests.

A scenario is a `setup` (run once, by the test, on a freshly formatted store; returns the ids of the
paths the checks care about) and a `work` function run by every worker, each with its own seeded
random stream. Workers never raise: every call goes through `Recorder.attempt`, which records the
outcome: "ok", the name of an expected HDFS error, or UNEXPECTED with the traceback. Records are plain
JSON so a worker process can hand them back on stdout.

Bounds: every loop runs a fixed number of rounds; nothing here sleeps longer than a few milliseconds.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hopsfs.errors import (
    DirectoryNotEmpty,
    FileAlreadyExists,
    FileNotFound,
    HopsFSError,
    InvalidRename,
    ParentNotDirectory,
)
from hopsfs.types import Caller, FileStatus
from namenode.engine.namespace import Namespace

SUPERUSER = Caller("root", ())
# What a caller may legitimately see when another client changed the namespace under it.
EXPECTED_ERRORS: tuple[type[HopsFSError], ...] = (
    FileNotFound,
    FileAlreadyExists,
    InvalidRename,
    ParentNotDirectory,
    DirectoryNotEmpty,
)
OK = "ok"
UNEXPECTED = "UNEXPECTED"
START_TIMEOUT_S = 60

# cross_renames: files that hop between /a and /b.
CROSS_NAMES = 10
# cycle_renames: rounds alternate a two-directory and a three-directory cycle.
CYCLE_SIZES = (2, 3)
# storm: the names every worker fights over.
STORM_SHARED_NAMES = 6
# delete_vs_create: the subtrees deleters remove while creators add inside them.
DOOMED_TREES = 3
DOOMED_BRANCHES = 3
MKDIRS_FANOUT = 3


@dataclass(slots=True)
class OpRecord:
    worker: int
    operation: str
    arguments: list[str]
    outcome: str  # OK, an expected error's class name, or UNEXPECTED
    result: int | bool | None = None  # a created inode's id, or delete / legacy rename's answer
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(values: dict[str, Any]) -> OpRecord:
        return OpRecord(**values)


@dataclass(slots=True)
class Recorder:
    worker: int
    records: list[OpRecord] = field(default_factory=list)

    def attempt(
        self, operation: str, call: Callable[..., object], *arguments: object, **options: object
    ) -> object:
        """Run `call(SUPERUSER, *arguments, **options)` and record how it ended; never raises."""
        shown = [argument if isinstance(argument, str) else repr(argument) for argument in arguments]
        record = OpRecord(self.worker, operation, shown, OK)
        result: object = None
        try:
            result = call(SUPERUSER, *arguments, **options)
        except EXPECTED_ERRORS as error:
            record.outcome = type(error).__name__
            record.detail = str(error)
        except BaseException as error:  # everything else is a finding, reported by the test
            record.outcome = UNEXPECTED
            record.detail = f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
        if isinstance(result, FileStatus):
            record.result = result.inode_id
        elif isinstance(result, bool):
            record.result = result
        self.records.append(record)
        return result


@dataclass(frozen=True, slots=True)
class RaceParameters:
    workers: int
    rounds: int
    seed: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Setup = Callable[[Namespace, RaceParameters], dict[str, int]]
Work = Callable[[Namespace, Recorder, RaceParameters], None]


def path_ids(namespace: Namespace, paths: list[str]) -> dict[str, int]:
    return {path: namespace.stat(SUPERUSER, path).inode_id for path in paths}


# -- cross_renames: /a/x -> /b/x and /b/y -> /a/y at once ----------------------------------------


def setup_cross_renames(namespace: Namespace, parameters: RaceParameters) -> dict[str, int]:
    paths = ["/a", "/b"]
    for index in range(CROSS_NAMES):
        path = f"{'/a' if index % 2 == 0 else '/b'}/n{index}"
        namespace.create(SUPERUSER, path)
        paths.append(path)
    return path_ids(namespace, paths)


def work_cross_renames(namespace: Namespace, recorder: Recorder, parameters: RaceParameters) -> None:
    rng = _worker_random(parameters, recorder.worker)
    for _ in range(parameters.rounds):
        name = f"n{rng.randrange(CROSS_NAMES)}"
        source_directory, target_directory = ("/a", "/b") if rng.random() < 0.5 else ("/b", "/a")
        choice = rng.random()
        if choice < 0.6:
            recorder.attempt(
                "rename", namespace.rename, f"{source_directory}/{name}", f"{target_directory}/{name}"
            )
        elif choice < 0.8:
            recorder.attempt(
                "rename_legacy", namespace.rename_legacy, f"{source_directory}/{name}", target_directory
            )
        else:
            value = f"w{recorder.worker}".encode()
            recorder.attempt(
                "set_xattr", namespace.set_xattr, f"{source_directory}/{name}", "user.last", value
            )


# -- cycle_renames: /p/a -> /p/b/... and /p/b -> /p/a/... (and a three-way cycle) -----------------


def cycle_size(round_index: int) -> int:
    return CYCLE_SIZES[round_index % len(CYCLE_SIZES)]


def cycle_member(round_index: int, member: int) -> str:
    return f"/c{round_index}/d{member}"


def setup_cycle_renames(namespace: Namespace, parameters: RaceParameters) -> dict[str, int]:
    paths: list[str] = []
    for round_index in range(parameters.rounds):
        for member in range(cycle_size(round_index)):
            namespace.mkdirs(SUPERUSER, f"{cycle_member(round_index, member)}/in")
            paths.append(cycle_member(round_index, member))
    return path_ids(namespace, paths)


def cycle_rename_arguments(round_index: int, worker: int) -> tuple[str, str]:
    """Worker w moves member w % size into the next member's `in` directory."""
    size = cycle_size(round_index)
    member = worker % size
    target = f"{cycle_member(round_index, (member + 1) % size)}/in/m{worker}"
    return cycle_member(round_index, member), target


def work_cycle_renames(namespace: Namespace, recorder: Recorder, parameters: RaceParameters) -> None:
    for round_index in range(parameters.rounds):
        source, target = cycle_rename_arguments(round_index, recorder.worker)
        recorder.attempt("rename", namespace.rename, source, target)


# -- storm: create / delete of the same names in one directory -----------------------------------


def setup_storm(namespace: Namespace, parameters: RaceParameters) -> dict[str, int]:
    namespace.mkdirs(SUPERUSER, "/s")
    return path_ids(namespace, ["/s"])


def work_storm(namespace: Namespace, recorder: Recorder, parameters: RaceParameters) -> None:
    rng = _worker_random(parameters, recorder.worker)
    own: list[str] = []
    for index in range(parameters.rounds):
        shared = f"/s/n{rng.randrange(STORM_SHARED_NAMES)}"
        choice = rng.random()
        if choice < 0.25:
            recorder.attempt("create", namespace.create, shared)
        elif choice < 0.35:
            recorder.attempt("create_overwrite", namespace.create, shared, overwrite=True)
        elif choice < 0.6:
            recorder.attempt("delete", namespace.delete, shared)
        elif choice < 0.85 or not own:
            path = f"/s/u{recorder.worker}_{index}"
            recorder.attempt("create_own", namespace.create, path)
            own.append(path)
        else:
            recorder.attempt("delete_own", namespace.delete, own.pop(rng.randrange(len(own))))


# -- mkdirs: mkdirs -p of shared prefixes ----------------------------------------------------------


def setup_mkdirs(namespace: Namespace, parameters: RaceParameters) -> dict[str, int]:
    namespace.mkdirs(SUPERUSER, "/m")
    return path_ids(namespace, ["/m"])


def work_mkdirs(namespace: Namespace, recorder: Recorder, parameters: RaceParameters) -> None:
    rng = _worker_random(parameters, recorder.worker)
    for index in range(parameters.rounds):
        prefix = "/m/" + "/".join(f"d{rng.randrange(MKDIRS_FANOUT)}" for _ in range(rng.randint(1, 3)))
        choice = rng.random()
        if choice < 0.5:
            recorder.attempt("mkdirs", namespace.mkdirs, prefix)
        elif choice < 0.75:
            recorder.attempt("mkdirs", namespace.mkdirs, f"{prefix}/w{recorder.worker}_{index}")
        else:
            recorder.attempt("create_own", namespace.create, f"{prefix}/f{recorder.worker}_{index}")


# -- delete_vs_create: recursive deletes racing creators inside the subtree ------------------------


def doomed_tree(index: int) -> str:
    return f"/r/t{index}"


def setup_delete_vs_create(namespace: Namespace, parameters: RaceParameters) -> dict[str, int]:
    for tree in range(DOOMED_TREES):
        for branch in range(DOOMED_BRANCHES):
            namespace.mkdirs(SUPERUSER, f"{doomed_tree(tree)}/d{branch}")
            for leaf in range(4):
                namespace.create(SUPERUSER, f"{doomed_tree(tree)}/d{branch}/seed{leaf}")
    return path_ids(namespace, ["/r"])


def work_delete_vs_create(namespace: Namespace, recorder: Recorder, parameters: RaceParameters) -> None:
    """Even workers create inside the trees (parents created as needed); odd workers delete whole trees."""
    rng = _worker_random(parameters, recorder.worker)
    creator = recorder.worker % 2 == 0
    for index in range(parameters.rounds):
        branch = f"{doomed_tree(rng.randrange(DOOMED_TREES))}/d{rng.randrange(DOOMED_BRANCHES)}"
        if creator and rng.random() < 0.7:
            recorder.attempt("create_own", namespace.create, f"{branch}/f{recorder.worker}_{index}")
        elif creator:
            recorder.attempt("mkdirs", namespace.mkdirs, f"{branch}/e{recorder.worker}_{index}/g")
        else:
            recorder.attempt(
                "delete", namespace.delete, doomed_tree(rng.randrange(DOOMED_TREES)), recursive=True
            )
            time.sleep(rng.random() / 500)


SCENARIOS: dict[str, tuple[Setup, Work]] = {
    "cross_renames": (setup_cross_renames, work_cross_renames),
    "cycle_renames": (setup_cycle_renames, work_cycle_renames),
    "storm": (setup_storm, work_storm),
    "mkdirs": (setup_mkdirs, work_mkdirs),
    "delete_vs_create": (setup_delete_vs_create, work_delete_vs_create),
}


def run_workers(
    namespace: Namespace, scenario: str, parameters: RaceParameters, workers: list[int]
) -> list[OpRecord]:
    """Run `workers` of `scenario` as threads sharing `namespace`, released together; all their records."""
    _, work = SCENARIOS[scenario]
    start = threading.Barrier(len(workers))
    recorders = [Recorder(worker) for worker in workers]

    def body(recorder: Recorder) -> None:
        try:
            start.wait(timeout=START_TIMEOUT_S)
            work(namespace, recorder, parameters)
        except BaseException as error:  # a crash of the worker itself, outside any attempt
            recorder.records.append(
                OpRecord(
                    recorder.worker, "worker", [], UNEXPECTED, None, f"{error!r}\n{traceback.format_exc()}"
                )
            )

    threads = [
        threading.Thread(target=body, args=(recorder,), name=f"race-{recorder.worker}")
        for recorder in recorders
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [record for recorder in recorders for record in recorder.records]


def _worker_random(parameters: RaceParameters, worker: int) -> random.Random:
    return random.Random(parameters.seed * 1000 + worker)
