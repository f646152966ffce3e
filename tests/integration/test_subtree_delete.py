"""The subtree protocol for deleting a directory too large for one transaction (ops/subtree.py).

SUBTREE_TXN_INODES_MAX is lowered so a tree of a few hundred inodes needs many transactions. Checked:
a large delete logs one DELETE per inode and leaves no flag; another namenode is refused inside the
flagged subtree (SubtreeBusy, which the engine retries into RetriesExhausted) and never corrupts it;
a delete whose owner dies half way keeps blocking others until its lease expires and is then taken
over; a non-superuser's recursive delete refused deep inside deletes nothing. `DeletePause` stops a
running delete between two of its transactions, so the interleavings are exact, not timing luck.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from support.changelog_replay import assert_change_log_matches, live_inodes, read_changes
from support.fsck import assert_consistent, check_namespace
from support.namespace_harness import (
    SUPERUSER,
    assert_store_healthy,
    format_store,
    inode_count,
    open_namespace,
    subtree_flags,
    subtree_operation_rows,
)

import namenode.engine.namespace as namespace_module
from hopsfs import limits
from hopsfs.errors import (
    FileNotFound,
    HopsFSError,
    InvariantViolation,
    PermissionDenied,
    RetriesExhausted,
    SubtreeBusy,
)
from hopsfs.types import Caller
from namenode.engine.namespace import Namespace
from namenode.engine.txn import run_transaction
from namenode.ops import subtree

BUDGET = 50
FANOUT_TOP = 6
FANOUT_MIDDLE = 5
FILES_PER_LEAF = 8
# 6 + 30 + 240 inodes below /big.
TREE_INODES = FANOUT_TOP + FANOUT_TOP * FANOUT_MIDDLE * (1 + FILES_PER_LEAF)
PAUSE_TIMEOUT_S = 60
BLOCKED_RETRIES_MAX = 2
LEASE_MS = 1000
ALICE = Caller("alice", ("users",))


@pytest.fixture(name="small_budget")
def small_budget_fixture(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(limits, "SUBTREE_TXN_INODES_MAX", BUDGET)
    return BUDGET


@pytest.fixture(name="namespace")
def namespace_fixture(db_url: str) -> Iterator[Namespace]:
    format_store(db_url)
    namespace = open_namespace(db_url, namenode_id="deleter")
    try:
        yield namespace
    finally:
        namespace.close()


def build_tree(namespace: Namespace, root: str, caller: Caller = SUPERUSER) -> None:
    """TREE_INODES inodes below `root`, with a few xattrs."""
    for top in range(FANOUT_TOP):
        for middle in range(FANOUT_MIDDLE):
            leaf = f"{root}/d{top}/e{middle}"
            namespace.mkdirs(caller, leaf)
            for index in range(FILES_PER_LEAF):
                namespace.create(caller, f"{leaf}/f{index}")
        namespace.set_xattr(caller, f"{root}/d{top}", "user.tag", b"t")


def subtree_ids(url: str, root_id: int) -> set[int]:
    """Every inode id below `root_id`, read from the table."""
    children: dict[int, list[int]] = {}
    for inode_id, (parent_id, _) in live_inodes(url).items():
        children.setdefault(parent_id, []).append(inode_id)
    found: set[int] = set()
    pending = [root_id]
    while pending:
        for child_id in children.get(pending.pop(), []):
            found.add(child_id)
            pending.append(child_id)
    return found


def blocked_namespace(url: str, namenode_id: str) -> Namespace:
    """Another namenode that gives up quickly on a busy subtree."""
    other = open_namespace(url, namenode_id=namenode_id)
    other.context.retries_max = BLOCKED_RETRIES_MAX
    return other


def assert_refused_as_busy(call: Callable[[], object]) -> None:
    with pytest.raises(RetriesExhausted) as caught:
        call()
    assert isinstance(caught.value.__cause__, SubtreeBusy), f"refused for another reason: {caught.value!r}"


class DeletePause:
    """Stop a Namespace.delete running the subtree protocol between two of its transactions.

    Pauses after the `after_batches`-th delete_batch transaction has committed, or (`before_finish`)
    after the batch that emptied the root, before finish_delete; nothing is held meanwhile.
    """

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, *, after_batches: int = 0, before_finish: bool = False
    ) -> None:
        self.after_batches = after_batches
        self.before_finish = before_finish
        self.batches = 0
        self.paused = threading.Event()
        self.resume = threading.Event()
        self._last_batch = threading.local()
        real_batch, real_run = subtree.delete_batch, namespace_module.run_transaction

        def batch(*arguments: object, **options: object) -> bool:
            emptied = real_batch(*arguments, **options)  # type: ignore[arg-type]
            self._last_batch.emptied = emptied
            return emptied

        def run(*arguments: object, **options: object) -> object:
            self._last_batch.emptied = None
            result = real_run(*arguments, **options)  # type: ignore[arg-type]
            emptied = getattr(self._last_batch, "emptied", None)
            if emptied is not None:
                self.batches += 1
                self._maybe_pause(emptied)
            return result

        monkeypatch.setattr(subtree, "delete_batch", batch)
        monkeypatch.setattr(namespace_module, "run_transaction", run)

    def _maybe_pause(self, emptied: bool) -> None:
        if self.paused.is_set():
            return
        if (self.before_finish and emptied) or (
            not self.before_finish and self.batches == self.after_batches
        ):
            self.paused.set()
            assert self.resume.wait(PAUSE_TIMEOUT_S), "the paused delete was never resumed"


class BackgroundDelete:
    """namespace.delete(path, recursive=True) in a thread; remembers the answer or the error."""

    def __init__(self, namespace: Namespace, path: str, caller: Caller = SUPERUSER) -> None:
        self.answer: bool | None = None
        self.error: BaseException | None = None

        def body() -> None:
            try:
                self.answer = namespace.delete(caller, path, recursive=True)
            except BaseException as error:
                self.error = error

        self.thread = threading.Thread(target=body, name=f"delete {path}")
        self.thread.start()

    def join(self) -> None:
        self.thread.join(PAUSE_TIMEOUT_S)
        assert not self.thread.is_alive(), "the delete did not finish"


def wait_paused(pause: DeletePause, delete: BackgroundDelete) -> None:
    deadline = time.monotonic() + PAUSE_TIMEOUT_S
    while not pause.paused.wait(0.05):
        assert delete.thread.is_alive(), (
            f"the delete ended before its pause point: {delete.answer!r} {delete.error!r}"
        )
        assert time.monotonic() < deadline, "the delete never reached its pause point"


def assert_deleted_once_each(url: str, expected_ids: set[int]) -> None:
    deletes = Counter(c.inode_id for c in read_changes(url) if c.operation == "DELETE")
    assert set(deletes) >= expected_ids, (
        f"inodes deleted without a DELETE row: {sorted(expected_ids - set(deletes))[:10]}"
    )
    twice = [inode_id for inode_id in expected_ids if deletes[inode_id] != 1]
    assert not twice, f"inodes with more than one DELETE row: {twice[:10]}"
    assert not set(live_inodes(url)) & expected_ids, "deleted inodes still live"


# -- the protocol on its own -------------------------------------------------------------------


def test_large_directory_deletes_in_batches(
    db_url: str, namespace: Namespace, small_budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_tree(namespace, "/big")
    namespace.create(SUPERUSER, "/keep/f")
    big_id = namespace.stat(SUPERUSER, "/big").inode_id
    doomed = subtree_ids(db_url, big_id) | {big_id}
    assert len(doomed) == TREE_INODES + 1
    logged_before = len(read_changes(db_url))
    pause = DeletePause(monkeypatch, after_batches=10**6)  # counts batches, never pauses

    assert namespace.delete(SUPERUSER, "/big", recursive=True) is True

    assert pause.batches >= TREE_INODES // small_budget, (
        f"only {pause.batches} batches: not the subtree protocol"
    )
    new_rows = read_changes(db_url)[logged_before:]
    assert {c.operation for c in new_rows} == {"DELETE"}
    assert {c.inode_id for c in new_rows} == doomed and len(new_rows) == len(doomed)
    assert_deleted_once_each(db_url, doomed)
    assert not namespace.exists(SUPERUSER, "/big")
    assert namespace.exists(SUPERUSER, "/keep/f")
    assert subtree_operation_rows(db_url) == []
    assert_store_healthy(db_url)
    namespace.mkdirs(SUPERUSER, "/big/again")
    assert_store_healthy(db_url)


def test_other_namenode_is_refused_inside_flagged_subtree(
    db_url: str, namespace: Namespace, small_budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_tree(namespace, "/big")
    namespace.create(SUPERUSER, "/outside/f")
    doomed = subtree_ids(db_url, namespace.stat(SUPERUSER, "/big").inode_id)
    pause = DeletePause(monkeypatch, after_batches=2)
    other = blocked_namespace(db_url, "other-namenode")
    try:
        delete = BackgroundDelete(namespace, "/big")
        wait_paused(pause, delete)
        logged_at_pause = len(read_changes(db_url))
        assert check_namespace(db_url, allow_subtree_flags=True) == []
        assert [owner.split("#")[0] for _, owner, _ in subtree_flags(db_url)] == ["deleter"]

        assert_refused_as_busy(lambda: other.create(SUPERUSER, "/big/d5/e4/new"))
        assert_refused_as_busy(lambda: other.mkdirs(SUPERUSER, "/big/d0/fresh"))
        assert_refused_as_busy(lambda: other.set_xattr(SUPERUSER, "/big/d4", "user.tag", b"x"))
        assert_refused_as_busy(lambda: other.rename(SUPERUSER, "/big/d5", "/outside/d5"))
        assert_refused_as_busy(lambda: other.rename(SUPERUSER, "/outside/f", "/big/f"))
        assert_refused_as_busy(lambda: other.delete(SUPERUSER, "/big/d5", recursive=True))
        assert_refused_as_busy(lambda: other.delete(SUPERUSER, "/big", recursive=True))
        other.create(SUPERUSER, "/outside/g")  # outside the flagged subtree: not blocked
        assert len(read_changes(db_url)) == logged_at_pause + 1, "a refused operation left a change row"
        assert check_namespace(db_url, allow_subtree_flags=True) == []

        pause.resume.set()
        delete.join()
    finally:
        pause.resume.set()
        other.close()
    assert delete.error is None and delete.answer is True
    assert_deleted_once_each(db_url, doomed)
    assert namespace.exists(SUPERUSER, "/outside/g") and namespace.exists(SUPERUSER, "/outside/f")
    assert subtree_operation_rows(db_url) == []
    assert_store_healthy(db_url)


def test_other_namenode_racing_a_delete_never_corrupts(
    db_url: str, namespace: Namespace, small_budget: int
) -> None:
    """No pause: another namenode keeps creating inside while the delete runs; each create either
    happens before the flag (and is then deleted with the rest) or is refused."""
    build_tree(namespace, "/big")
    other = blocked_namespace(db_url, "racer")
    outcomes: Counter[str] = Counter()
    created: list[int] = []
    unexpected: list[BaseException] = []
    done = threading.Event()

    def racer() -> None:
        index = 0
        while not done.is_set():
            path = f"/big/d{index % FANOUT_TOP}/e{index % FANOUT_MIDDLE}/racer{index}"
            try:
                created.append(other.create(SUPERUSER, path, create_parent=False).inode_id)
                outcomes["ok"] += 1
            except FileNotFound:
                outcomes["FileNotFound"] += 1
            except RetriesExhausted as error:
                if not isinstance(error.__cause__, SubtreeBusy):
                    unexpected.append(error)
                outcomes["busy"] += 1
            except BaseException as error:
                unexpected.append(error)
            index += 1

    thread = threading.Thread(target=racer)
    thread.start()
    try:
        assert namespace.delete(SUPERUSER, "/big", recursive=True) is True
    finally:
        done.set()
        thread.join(PAUSE_TIMEOUT_S)
        other.close()
    assert not unexpected, f"racer saw {unexpected[:3]!r}"
    assert not namespace.exists(SUPERUSER, "/big")
    assert_deleted_once_each(db_url, set(created))
    assert subtree_operation_rows(db_url) == []
    assert_store_healthy(db_url)


def test_wide_and_deep_directory_delete_makes_progress(
    db_url: str, namespace: Namespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every batch must delete something: here each directory's first `budget` children are all
    non-empty directories, so a walk that gives up after visiting 2 x budget entries finds no leaf."""
    budget = 4
    monkeypatch.setattr(limits, "SUBTREE_TXN_INODES_MAX", budget)
    for top in range(budget):
        for middle in range(budget):
            namespace.create(SUPERUSER, f"/big/d{top}/e{middle}/f")
    doomed = subtree_ids(db_url, namespace.stat(SUPERUSER, "/big").inode_id)
    batches_max = 4 * len(doomed)
    real_batch = subtree.delete_batch
    batches = 0

    def bounded_batch(*arguments: object, **options: object) -> bool:
        nonlocal batches
        batches += 1
        if batches > batches_max:
            raise AssertionError(f"{batches_max} batches did not delete {len(doomed)} inodes: no progress")
        return real_batch(*arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(subtree, "delete_batch", bounded_batch)
    assert namespace.delete(SUPERUSER, "/big", recursive=True) is True
    assert_deleted_once_each(db_url, doomed)
    assert_store_healthy(db_url)


# -- a dead owner --------------------------------------------------------------------------------


def test_dead_owner_blocks_until_lease_expires_then_delete_takes_over(
    db_url: str, namespace: Namespace, small_budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "SUBTREE_LOCK_LEASE_MS", LEASE_MS)
    build_tree(namespace, "/big")
    doomed = subtree_ids(db_url, namespace.stat(SUPERUSER, "/big").inode_id)
    logged_before = len(read_changes(db_url))

    dead = open_namespace(db_url, namenode_id="dead-namenode")
    handle = run_transaction(dead.context, SUPERUSER, lambda tx: subtree.begin_delete(tx, "/big"), write=True)
    assert handle is not None
    for _ in range(2):
        emptied = run_transaction(
            dead.context, SUPERUSER, lambda tx: subtree.delete_batch(tx, handle, small_budget), write=True
        )
        assert emptied is False
    dead.close()  # the owner dies: its flag stays behind
    partial = len(read_changes(db_url)) - logged_before
    assert 0 < partial < len(doomed)

    flags = subtree_flags(db_url)
    assert [(inode_id, owner) for inode_id, owner, _ in flags] == [(handle.root_id, handle.owner)]
    assert handle.owner.startswith("dead-namenode#")
    expiry_ms = flags[0][2]
    assert check_namespace(db_url, allow_subtree_flags=True) == []
    assert_change_log_matches(db_url)

    taker = blocked_namespace(db_url, "taker")
    try:
        assert_refused_as_busy(lambda: taker.delete(SUPERUSER, "/big", recursive=True))
        assert_refused_as_busy(lambda: taker.create(SUPERUSER, "/big/d0/e0/late", create_parent=False))
        assert time.time() * 1000 < expiry_ms, "too slow: the lease expired before the blocked checks ended"
        assert [owner.split("#")[0] for _, owner, _ in subtree_flags(db_url)] == ["dead-namenode"]

        time.sleep(max(expiry_ms - time.time() * 1000, 0) / 1000 + 0.05)
        late = taker.create(SUPERUSER, "/big/d0/e0/late", create_parent=False)  # the expired flag is ignored
        assert taker.delete(SUPERUSER, "/big", recursive=True) is True
    finally:
        taker.close()
    assert_deleted_once_each(db_url, doomed | {late.inode_id, handle.root_id})
    assert subtree_flags(db_url) == []
    assert subtree_operation_rows(db_url) == []
    assert_store_healthy(db_url)


def test_takeover_of_nearly_finished_delete_clears_its_record(
    db_url: str, namespace: Namespace, small_budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dead owner got the subtree small enough for one transaction: the taker's delete then takes
    the one-transaction path, and must still clear the dead operation's subtree_operations record."""
    monkeypatch.setattr(limits, "SUBTREE_LOCK_LEASE_MS", LEASE_MS)
    for index in range(small_budget + 10):
        namespace.create(SUPERUSER, f"/big/f{index}")
    dead = open_namespace(db_url, namenode_id="dead-namenode")
    handle = run_transaction(dead.context, SUPERUSER, lambda tx: subtree.begin_delete(tx, "/big"), write=True)
    assert handle is not None
    run_transaction(
        dead.context, SUPERUSER, lambda tx: subtree.delete_batch(tx, handle, small_budget), write=True
    )
    dead.close()
    assert 0 < namespace.stat(SUPERUSER, "/big").children_count <= small_budget
    expiry_ms = subtree_flags(db_url)[0][2]
    time.sleep(max(expiry_ms - time.time() * 1000, 0) / 1000 + 0.05)

    taker = open_namespace(db_url, namenode_id="taker")
    try:
        assert taker.delete(SUPERUSER, "/big", recursive=True) is True
    finally:
        taker.close()
    assert subtree_flags(db_url) == []
    assert subtree_operation_rows(db_url) == [], "the dead delete's record outlived its inode"
    assert_store_healthy(db_url)


def test_stalled_owner_resuming_after_takeover_gets_an_operating_error(
    db_url: str, namespace: Namespace, small_budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An owner that stalls past its lease (a long GC pause) and resumes while another namenode has
    taken the delete over must be told so with an operating error, not an InvariantViolation."""
    monkeypatch.setattr(limits, "SUBTREE_LOCK_LEASE_MS", LEASE_MS)
    build_tree(namespace, "/big")
    stalled = open_namespace(db_url, namenode_id="stalled-namenode")
    taker = open_namespace(db_url, namenode_id="taker")
    pause = DeletePause(monkeypatch, after_batches=1)
    try:
        handle = run_transaction(
            stalled.context, SUPERUSER, lambda tx: subtree.begin_delete(tx, "/big"), write=True
        )
        assert handle is not None
        expiry_ms = subtree_flags(db_url)[0][2]
        time.sleep(max(expiry_ms - time.time() * 1000, 0) / 1000 + 0.05)
        takeover = BackgroundDelete(taker, "/big")
        wait_paused(pause, takeover)  # the taker holds the flag now, half way through

        with pytest.raises(HopsFSError) as caught:
            run_transaction(
                stalled.context,
                SUPERUSER,
                lambda tx: subtree.delete_batch(tx, handle, small_budget),
                write=True,
            )
        assert not isinstance(caught.value, InvariantViolation), (
            f"lost lease reported as a bug: {caught.value!r}"
        )
        pause.resume.set()
        takeover.join()
    finally:
        pause.resume.set()
        stalled.close()
        taker.close()
    assert takeover.error is None and takeover.answer is True
    assert_store_healthy(db_url)


# -- one namenode, two threads -------------------------------------------------------------------


def test_same_namespace_deletes_of_one_directory_both_answer(
    db_url: str, namespace: Namespace, small_budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads of one namenode delete the same large directory: one deletes it, the other must
    answer like HDFS (True or False) or be refused as busy, not fail with RetriesExhausted on a root
    that 'moved'."""
    build_tree(namespace, "/big")
    doomed = subtree_ids(db_url, namespace.stat(SUPERUSER, "/big").inode_id)
    pause = DeletePause(monkeypatch, after_batches=1)
    first = BackgroundDelete(namespace, "/big")
    try:
        wait_paused(pause, first)
        second: bool | BaseException
        try:
            second = namespace.delete(SUPERUSER, "/big", recursive=True)
        except RetriesExhausted as error:
            assert isinstance(error.__cause__, SubtreeBusy), f"second delete: {error!r}"
            second = error
        pause.resume.set()
        first.join()
    finally:
        pause.resume.set()
    assert first.error is None, f"first delete failed after the second one ran: {first.error!r}"
    assert True in (first.answer, second), f"nobody deleted /big: {first.answer!r}, {second!r}"
    assert not namespace.exists(SUPERUSER, "/big")
    assert_deleted_once_each(db_url, doomed)
    assert_store_healthy(db_url)


def test_same_namespace_create_inside_subtree_before_finish(
    db_url: str, namespace: Namespace, small_budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another thread of the deleting namenode creates inside the subtree after the last batch: the
    create is refused, or the delete still ends cleanly (no InvariantViolation, no flag left)."""
    build_tree(namespace, "/big")
    pause = DeletePause(monkeypatch, before_finish=True)
    delete = BackgroundDelete(namespace, "/big")
    try:
        wait_paused(pause, delete)
        try:
            namespace.create(SUPERUSER, "/big/late", create_parent=False)
        except RetriesExhausted as error:
            assert isinstance(error.__cause__, SubtreeBusy), f"create refused for another reason: {error!r}"
        pause.resume.set()
        delete.join()
    finally:
        pause.resume.set()
    assert delete.error is None, f"the delete failed: {delete.error!r}"
    assert delete.answer is True
    assert not namespace.exists(SUPERUSER, "/big")
    assert subtree_flags(db_url) == [] and subtree_operation_rows(db_url) == []
    assert_store_healthy(db_url)


# -- permissions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "budget", [pytest.param(None, id="one-transaction"), pytest.param(BUDGET, id="protocol")]
)
def test_refused_non_superuser_delete_deletes_nothing(
    db_url: str, namespace: Namespace, monkeypatch: pytest.MonkeyPatch, budget: int | None
) -> None:
    if budget is not None:
        monkeypatch.setattr(limits, "SUBTREE_TXN_INODES_MAX", budget)
    namespace.mkdirs(SUPERUSER, "/home/alice")
    namespace.set_owner(SUPERUSER, "/home/alice", "alice", "users")
    build_tree(namespace, "/home/alice/big", ALICE)
    # Deep inside, a directory alice may not write: HDFS refuses the whole recursive delete.
    namespace.mkdirs(SUPERUSER, "/home/alice/big/d3/e2/bobs")
    namespace.set_owner(SUPERUSER, "/home/alice/big/d3/e2/bobs", "bob", "bob")
    namespace.create(SUPERUSER, "/home/alice/big/d3/e2/bobs/kept")
    inodes_before, logged_before = inode_count(db_url), len(read_changes(db_url))

    with pytest.raises(PermissionDenied):
        namespace.delete(ALICE, "/home/alice/big", recursive=True)

    assert inode_count(db_url) == inodes_before
    assert len(read_changes(db_url)) == logged_before
    assert subtree_flags(db_url) == [] and subtree_operation_rows(db_url) == []
    assert_consistent(db_url)
    assert namespace.exists(ALICE, "/home/alice/big/d5/e4/f7")
    # alice can still delete what she may, and the superuser the rest.
    assert namespace.delete(ALICE, "/home/alice/big/d0", recursive=True) is True
    assert namespace.delete(SUPERUSER, "/home/alice/big", recursive=True) is True
    assert_store_healthy(db_url)
