"""Concurrent operations on overlapping paths: threads sharing one Namespace, and separate processes
each with its own Namespace (its own namenode id, pool and hint cache) on one database.

Every scenario (support/race_scenarios.py) ends with the same checks: no caller saw anything but an
expected HDFS error (no deadlock, TransientError, RetriesExhausted or InvariantViolation); the tree is
a tree (fsck: no cycles, no orphans, child counts right, no flags left); the change log replays to
exactly the live inodes; every success a worker saw is in the log. Then a scenario-specific check
that nothing was lost: each file still where one of the renames put it, each worker's own files
present, exactly one winner per rename cycle, and so on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from support import race_scenarios, worker_launcher
from support.changelog_replay import LoggedChange, live_inodes, read_changes
from support.namespace_harness import SUPERUSER, assert_store_healthy, format_store, open_namespace
from support.race_scenarios import OK, UNEXPECTED, OpRecord, RaceParameters

from hopsfs import limits
from hopsfs.paths import split_path
from namenode.engine.namespace import Namespace

THREADS = 6
PROCESSES = 3
THREADS_PER_PROCESS = 2
THREAD_ROUNDS = 40
PROCESS_ROUNDS = 30
CYCLE_ROUNDS = 12
CREATIONS = ("create", "create_own", "create_overwrite")


@dataclass(slots=True)
class Outcome:
    """Everything a scenario's check looks at once the workers are done."""

    url: str
    namespace: Namespace
    ids: dict[str, int]
    records: list[OpRecord]
    changes: list[LoggedChange]
    live: dict[int, tuple[int, str]]

    def successes(self, *operations: str) -> list[OpRecord]:
        return [r for r in self.records if r.operation in operations and r.outcome == OK]

    def changes_of(self, inode_id: int, operation: str) -> list[LoggedChange]:
        return [c for c in self.changes if c.inode_id == inode_id and c.operation == operation]


def rounds_for(scenario: str, default: int) -> int:
    return CYCLE_ROUNDS if scenario == "cycle_renames" else default


@pytest.mark.parametrize("scenario", sorted(race_scenarios.SCENARIOS))
def test_threads_share_one_namespace(db_url: str, scenario: str) -> None:
    format_store(db_url)
    namespace = open_namespace(db_url)
    try:
        parameters = RaceParameters(workers=THREADS, rounds=rounds_for(scenario, THREAD_ROUNDS), seed=7)
        ids = race_scenarios.SCENARIOS[scenario][0](namespace, parameters)
        records = race_scenarios.run_workers(namespace, scenario, parameters, list(range(THREADS)))
        check_outcome(
            scenario, Outcome(db_url, namespace, ids, records, read_changes(db_url), live_inodes(db_url))
        )
    finally:
        namespace.close()


@pytest.mark.parametrize("scenario", sorted(race_scenarios.SCENARIOS))
def test_processes_each_with_own_namespace(db_url: str, scenario: str) -> None:
    format_store(db_url)
    namespace = open_namespace(db_url, namenode_id="test-process")
    try:
        parameters = RaceParameters(
            workers=PROCESSES * THREADS_PER_PROCESS, rounds=rounds_for(scenario, PROCESS_ROUNDS), seed=11
        )
        ids = race_scenarios.SCENARIOS[scenario][0](namespace, parameters)
        parameter_sets = [
            {
                "url": db_url,
                "namenode_id": f"worker-process-{process}",
                "scenario": scenario,
                "parameters": parameters.to_json(),
                "workers": [process * THREADS_PER_PROCESS + thread for thread in range(THREADS_PER_PROCESS)],
            }
            for process in range(PROCESSES)
        ]
        results = worker_launcher.run_all("race", parameter_sets)
        records = [OpRecord.from_json(values) for result in results for values in result]
        check_outcome(
            scenario, Outcome(db_url, namespace, ids, records, read_changes(db_url), live_inodes(db_url))
        )
    finally:
        namespace.close()


def test_recursive_deletes_through_subtree_protocol_race_creators_of_same_namespace(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleters and creators share one Namespace (one namenode id, so the subtree flag does not stop the
    creators) while every delete of a tree is too large for one transaction."""
    monkeypatch.setattr(limits, "SUBTREE_TXN_INODES_MAX", 8)
    format_store(db_url)
    namespace = open_namespace(db_url)
    try:
        parameters = RaceParameters(workers=THREADS, rounds=THREAD_ROUNDS, seed=23)
        ids = race_scenarios.setup_delete_vs_create(namespace, parameters)
        records = race_scenarios.run_workers(namespace, "delete_vs_create", parameters, list(range(THREADS)))
        check_outcome(
            "delete_vs_create",
            Outcome(db_url, namespace, ids, records, read_changes(db_url), live_inodes(db_url)),
        )
    finally:
        namespace.close()


# -- checks ------------------------------------------------------------------------------------


def check_outcome(scenario: str, outcome: Outcome) -> None:
    unexpected = [r for r in outcome.records if r.outcome == UNEXPECTED]
    kinds = Counter(r.detail.split("\n", 1)[0] for r in unexpected)
    assert not unexpected, (
        f"{len(unexpected)} calls failed unexpectedly: {dict(kinds)}\nfirst one:\n"
        f"{unexpected[0].operation}{tuple(unexpected[0].arguments)}: {unexpected[0].detail}"
    )
    assert_store_healthy(outcome.url)
    created = {c.inode_id for c in outcome.changes if c.operation == "CREATE"}
    missing = [r for r in outcome.successes(*CREATIONS) if r.result not in created]
    assert not missing, f"creates that succeeded but are not in the change log: {missing[:5]}"
    SCENARIO_CHECKS[scenario](outcome)


def check_cross_renames(outcome: Outcome) -> None:
    moves: Counter[str] = Counter()
    for record in outcome.successes("rename", "rename_legacy"):
        if record.operation == "rename" or record.result is True:
            moves[split_path(record.arguments[0])[-1]] += 1
    xattr_sets = Counter(split_path(r.arguments[0])[-1] for r in outcome.successes("set_xattr"))
    directory_ids = {outcome.ids["/a"], outcome.ids["/b"]}
    for index in range(race_scenarios.CROSS_NAMES):
        name = f"n{index}"
        inode_id = next(i for p, i in outcome.ids.items() if p.endswith(f"/{name}"))
        parent_id, live_name = outcome.live[inode_id]
        assert (parent_id in directory_ids, live_name) == (True, name), (
            f"{name} lost: lives at {outcome.live[inode_id]}"
        )
        assert len(outcome.changes_of(inode_id, "RENAME")) == moves[name], f"renames of {name} vs the log"
        assert len(outcome.changes_of(inode_id, "XATTR_SET")) == xattr_sets[name], f"xattr sets of {name}"
    listed = {s.name for d in ("/a", "/b") for s in outcome.namespace.list_all(SUPERUSER, d)}
    assert listed == {f"n{index}" for index in range(race_scenarios.CROSS_NAMES)}
    assert sum(moves.values()) > 0, "no rename succeeded: the scenario raced nothing"


def check_cycle_renames(outcome: Outcome) -> None:
    wins: dict[int, list[OpRecord]] = {}
    for record in outcome.successes("rename"):
        round_index = int(split_path(record.arguments[0])[0][1:])
        wins.setdefault(round_index, []).append(record)
    for round_index in range(CYCLE_ROUNDS):
        size = race_scenarios.cycle_size(round_index)
        won = wins.get(round_index, [])
        # Of a two-cycle exactly one move can happen; of a three-cycle one or two, never all three.
        allowed = {1} if size == 2 else {1, 2}
        assert len(won) in allowed, f"round {round_index} ({size}-cycle): winners {won}"
        for member in range(size):
            inode_id = outcome.ids[race_scenarios.cycle_member(round_index, member)]
            assert inode_id in outcome.live, f"member {member} of round {round_index} vanished"
            moved = [r for r in won if r.arguments[0] == race_scenarios.cycle_member(round_index, member)]
            assert len(outcome.changes_of(inode_id, "RENAME")) == len(moved)
            if moved:
                assert outcome.live[inode_id][1] == split_path(moved[0].arguments[1])[-1]


def check_storm(outcome: Outcome) -> None:
    storm_id = outcome.ids["/s"]
    own_created = {r.arguments[0]: r.result for r in outcome.records if r.operation == "create_own"}
    own_deleted = {r.arguments[0] for r in outcome.records if r.operation == "delete_own"}
    assert all(r.outcome == OK for r in outcome.records if r.operation in ("create_own", "create_overwrite"))
    assert all(r.result is True for r in outcome.records if r.operation == "delete_own")
    assert {r.outcome for r in outcome.records if r.operation == "create"} <= {OK, "FileAlreadyExists"}
    for path, inode_id in own_created.items():
        if path not in own_deleted:
            assert outcome.namespace.stat(SUPERUSER, path).inode_id == inode_id, f"lost {path}"
    under_storm = [c for c in outcome.changes if c.parent_id == storm_id]
    counts = Counter(c.operation for c in under_storm)
    assert counts["CREATE"] == len(outcome.successes(*CREATIONS))
    deletes = sum(1 for r in outcome.successes("delete", "delete_own") if r.result is True)
    overwrites = len(outcome.successes("create_overwrite"))
    assert deletes <= counts["DELETE"] <= deletes + overwrites
    listed = {s.inode_id for s in outcome.namespace.list_all(SUPERUSER, "/s")}
    assert listed == {i for i, (parent_id, _) in outcome.live.items() if parent_id == storm_id}
    assert outcome.namespace.stat(SUPERUSER, "/s").children_count == len(listed)


def check_mkdirs(outcome: Outcome) -> None:
    failed = [r for r in outcome.records if r.outcome != OK]
    assert not failed, f"mkdirs -p / create under shared prefixes failed: {failed[:3]}"
    for record in outcome.successes("mkdirs"):
        assert outcome.namespace.stat(SUPERUSER, record.arguments[0]).is_directory
    for record in outcome.successes("create_own"):
        assert outcome.namespace.stat(SUPERUSER, record.arguments[0]).inode_id == record.result
    made = Counter((c.parent_id, c.name) for c in outcome.changes if c.operation == "MKDIR")
    twice = [key for key, count in made.items() if count > 1]
    assert not twice, f"directories created twice: {twice[:5]}"


def check_delete_vs_create(outcome: Outcome) -> None:
    creators = [r for r in outcome.records if r.operation in ("create_own", "mkdirs")]
    failed = [r for r in creators if r.outcome != OK]
    assert not failed, f"creators with create_parent failed: {failed[:3]}"
    assert all(r.outcome == OK for r in outcome.records if r.operation == "delete")
    for record in outcome.successes("create_own"):
        assert outcome.changes_of(int(record.result or 0), "CREATE"), f"create {record.arguments} not logged"
        if record.result in outcome.live:
            assert outcome.namespace.stat(SUPERUSER, record.arguments[0]).inode_id == record.result
    deleted = sum(1 for r in outcome.successes("delete") if r.result is True)
    assert deleted > 0, "no recursive delete succeeded: the scenario raced nothing"


SCENARIO_CHECKS: dict[str, Callable[[Outcome], None]] = {
    "cross_renames": check_cross_renames,
    "cycle_renames": check_cycle_renames,
    "storm": check_storm,
    "mkdirs": check_mkdirs,
    "delete_vs_create": check_delete_vs_create,
}
