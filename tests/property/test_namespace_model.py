"""Stateful property test: random namespace operations by several callers, engine against model.

Hypothesis drives sequences of namespace operations (mkdirs, create, delete, rename, rename_legacy,
attribute and xattr changes, symlinks, stat, listing pages, content summaries) by the superuser and
three ordinary users against both the engine and `tests/support/model_fs.py`, a dict-based model of
HDFS's semantics with hopsfs's deliberate differences (model_tree.HOPSFS_CHOICES). Every operation
must return the same value or raise the same error class. After every step the whole tree as the
superuser lists it must equal the model's. At the end of each example fsck must find the database
consistent, and replaying the change log must give exactly the live inodes, each inode's logical
times strictly increasing.

Paths come from a small alphabet at depths 1-4, or from the paths that exist, so operations collide;
each example starts by seeding a few inodes by several owners, and renames often target an inode the
source could replace (one rule always does, by the source's owner onto someone else's inode, so that
sticky directories decide). Each example gets a fresh database (a new SQLite file, or the MariaDB
database reformatted).

Bounds: the default profile fits ~40 s on SQLite and ~2 min on MariaDB; set
HOPSFS_HYPOTHESIS_PROFILE=thorough for a longer run.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy.engine import make_url
from support.fsck import assert_consistent
from support.model_fs import ModelFS
from support.model_tree import listing_view, status_view

from hopsfs.errors import HopsFSError, InvariantViolation, RetriesExhausted, TransientError
from hopsfs.types import Caller, ChangeEvent, FileStatus, InodeKind, Listing, XAttrSetFlag
from namenode import schema
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

SUPERUSER = "root"
SUPERGROUP = "supergroup"
ROOT = Caller(SUPERUSER, ())
# Hypothesis draws the first choice most often: an ordinary user, so that permission rules bite.
CALLERS = (
    Caller("alice", ("users",)),
    ROOT,
    Caller("bob", ("users", "eng")),
    ROOT,
    Caller("carol", ()),
    Caller("dave", ("eng", SUPERGROUP)),  # a superuser through the supergroup
)
NAMES = ("a", "b", "a", "b", "c", "Ä", "x y")
DEPTHS = (1, 1, 2, 2, 2, 3, 3, 4)
INVALID_PATHS = ("a", "/a//b", "/a/./b", "/a:b", "", "/a/", "/a/..")
DIRECTORY_MODES = (0o1777, 0o755, 0o777, 0o700, 0o711, 0o750, 0o770, 0o555, 0o500, 0o000)
FILE_MODES = (0o644, 0o600, 0o666, 0o444, 0o755, 0o000)
ROOT_MODES = (0o1777, 0o777, 0o1777, 0o755)
OWNERS = ("root", "alice", "bob", "carol", "dave")
GROUPS = ("users", "eng", "supergroup", "other")
XATTR_NAMES = ("user.a", "user.b", "user.a", "user.b", "trusted.t", "user.a", "noprefix")
XATTR_VALUES = (b"", b"v", b"\x00\xff")
XATTR_FLAGS = (
    XAttrSetFlag.CREATE,
    XAttrSetFlag.REPLACE,
    XAttrSetFlag.CREATE | XAttrSetFlag.REPLACE,
)
SYMLINK_TARGETS = ("/a", "/a/b", "b", "../c", "/x y/Ä")
SEED_RULES = ("mkdirs", "mkdirs", "create", "create", "create_symlink")
SEED_OPERATIONS_MAX = 8

# Per profile and backend: examples and steps per example. The default fits the module's budget
# (~40 s on SQLite, ~2 min on MariaDB, two cores); shrinking a failure takes longer.
PROFILES: dict[str, dict[str, dict[str, int]]] = {
    "default": {
        "sqlite": {"max_examples": 400, "stateful_step_count": 60},
        "mysql": {"max_examples": 250, "stateful_step_count": 60},
    },
    "thorough": {
        "sqlite": {"max_examples": 3000, "stateful_step_count": 100},
        "mysql": {"max_examples": 1000, "stateful_step_count": 100},
    },
}
PROFILE_ENV = "HOPSFS_HYPOTHESIS_PROFILE"


def _profile_settings(backend: str) -> settings:
    name = os.environ.get(PROFILE_ENV, "default")
    if name not in PROFILES:
        raise ValueError(f"{PROFILE_ENV}={name!r}: choose one of {sorted(PROFILES)}")
    values = PROFILES[name]["sqlite" if backend == "sqlite" else "mysql"]
    return settings(
        deadline=None,
        derandomize=False,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        **values,
    )


class Outcome:
    """What one call did: its normalized return value, or the class of the error it raised."""

    def __init__(self, value: object = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error

    def describe(self) -> str:
        if self.error is not None:
            return f"raised {type(self.error).__name__}({self.error})"
        return f"returned {self.value!r}"

    def same_as(self, other: Outcome) -> bool:
        if self.error is not None or other.error is not None:
            return type(self.error) is type(other.error)
        return self.value == other.value


def _normalize(value: object) -> object:
    if isinstance(value, FileStatus):
        return status_view(value)
    if isinstance(value, Listing):
        return listing_view(value)
    return value


class NamespaceMachine(RuleBasedStateMachine):
    """One example: a fresh database, an engine and a model driven in lockstep."""

    new_database: ClassVar[Callable[[], str]]

    def __init__(self) -> None:
        super().__init__()
        self.url = self.new_database()
        store = MetadataStore(self.url)
        store.format(superuser=SUPERUSER, supergroup=SUPERGROUP, now_ms=int(time.time() * 1000), force=True)
        self.namespace = Namespace(store)
        self.model = ModelFS(SUPERUSER, SUPERGROUP, 0o755)
        self.failed = False

    # -- drawing arguments ----------------------------------------------------------------------

    def _path(self, data: st.DataObject, label: str, *, allow_root: bool = False) -> str:
        kind = data.draw(st.integers(0, 19), label=f"{label} kind")
        existing = self.model.paths()
        if kind == 18 and allow_root:
            return "/"
        if kind < 12 and existing:
            path = data.draw(st.sampled_from(existing), label=label)
            if kind < 3 and path.count("/") < 4:
                path = f"{path}/{data.draw(st.sampled_from(NAMES), label=f'{label} child')}"
            return path
        if kind == 19:
            return data.draw(st.sampled_from(INVALID_PATHS), label=label)
        depth = data.draw(st.sampled_from(DEPTHS), label=f"{label} depth")
        names = data.draw(st.lists(st.sampled_from(NAMES), min_size=depth, max_size=depth), label=label)
        return "/" + "/".join(names)

    @staticmethod
    def _caller(data: st.DataObject) -> Caller:
        return data.draw(st.sampled_from(CALLERS), label="caller")

    def _owner_or_caller(self, data: st.DataObject, path: str) -> Caller:
        """Often the owner of `path` (so that sticky-bit and ownership rules pass or fail on purpose)."""
        node = self.model.walk().get(path)
        owners = [caller for caller in CALLERS if node is not None and caller.user == node.owner]
        if owners and data.draw(st.booleans(), label="owner calls"):
            return owners[0]
        return self._caller(data)

    # -- comparing ------------------------------------------------------------------------------

    def _both(self, operation: str, caller: Caller, *args: Any, **kwargs: Any) -> Outcome:
        """Run `operation` on the model and on the engine; fail unless they agree."""
        expected = self._call(getattr(self.model, operation), caller, *args, **kwargs)
        actual = self._call(getattr(self.namespace, operation), caller, *args, **kwargs)
        if isinstance(actual.error, InvariantViolation | TransientError | RetriesExhausted):
            self.failed = True
            raise actual.error
        if actual.error is not None and not isinstance(actual.error, HopsFSError):
            self.failed = True
            raise actual.error
        if not expected.same_as(actual):
            self.failed = True
            shown = ", ".join([repr(caller), *map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            raise AssertionError(
                f"{operation}({shown}):\n  model  {expected.describe()}\n  engine {actual.describe()}"
            )
        return actual

    @staticmethod
    def _call(function: Callable[..., object], caller: Caller, *args: Any, **kwargs: Any) -> Outcome:
        try:
            return Outcome(value=_normalize(function(caller, *args, **kwargs)))
        except AssertionError:
            raise
        except Exception as error:  # compared by class against the other side
            return Outcome(error=error)

    # -- setup ----------------------------------------------------------------------------------

    @initialize(data=st.data(), mode=st.sampled_from(ROOT_MODES))
    def open_root(self, data: st.DataObject, mode: int) -> None:
        """Let ordinary users create at the top level in most examples, then seed a few inodes by
        several owners, so that later operations collide (overwrites, sticky bits, non-empty trees)."""
        self._both("set_permission", ROOT, "/", mode)
        for _ in range(data.draw(st.integers(0, SEED_OPERATIONS_MAX), label="seed operations")):
            seed = data.draw(st.sampled_from(SEED_RULES), label="seed rule")
            if seed == "mkdirs":
                self.mkdirs(data, data.draw(st.sampled_from(DIRECTORY_MODES), label="mode"), True)
            elif seed == "create":
                self._both("create", self._caller(data), self._path(data, "path"), 0o644, overwrite=False)
            else:
                self._both(
                    "create_symlink", self._caller(data), SYMLINK_TARGETS[0], self._path(data, "link"), True
                )

    # -- rules ----------------------------------------------------------------------------------

    @rule(data=st.data(), mode=st.sampled_from(DIRECTORY_MODES), create_parent=st.booleans())
    def mkdirs(self, data: st.DataObject, mode: int, create_parent: bool) -> None:
        self._both("mkdirs", self._caller(data), self._path(data, "path"), mode, create_parent)

    @rule(
        data=st.data(),
        mode=st.sampled_from(FILE_MODES),
        overwrite=st.booleans(),
        create_parent=st.booleans(),
        replication=st.sampled_from((1, 2, 3)),
    )
    def create(
        self, data: st.DataObject, mode: int, overwrite: bool, create_parent: bool, replication: int
    ) -> None:
        self._both(
            "create",
            self._caller(data),
            self._path(data, "path"),
            mode,
            overwrite=overwrite,
            create_parent=create_parent,
            replication=replication,
        )

    @rule(data=st.data(), recursive=st.booleans())
    def delete(self, data: st.DataObject, recursive: bool) -> None:
        path = self._path(data, "path")
        self._both("delete", self._owner_or_caller(data, path), path, recursive)

    @rule(data=st.data(), overwrite=st.booleans())
    def rename(self, data: st.DataObject, overwrite: bool) -> None:
        source = self._path(data, "source")
        caller = self._owner_or_caller(data, source)
        self._both("rename", caller, source, self._rename_target(data, source), overwrite)

    @rule(data=st.data())
    def rename_legacy(self, data: st.DataObject) -> None:
        source = self._path(data, "source")
        caller = self._owner_or_caller(data, source)
        self._both("rename_legacy", caller, source, self._rename_target(data, source))

    @rule(data=st.data())
    def rename_over_another_owner(self, data: st.DataObject) -> None:
        """rename2 with OVERWRITE, by the owner of the source, onto an inode someone else owns: the
        sticky-bit rules on both ends (HOPSFS_CHOICES["rename_sticky_on_destination"]) then decide."""
        inodes = self.model.walk()
        owners = {caller.user: caller for caller in CALLERS}
        pairs = [
            (source, target)
            for source, source_node in inodes.items()
            if source_node.owner in owners
            for target, target_node in inodes.items()
            if target_node.kind is source_node.kind
            and target_node.owner != source_node.owner
            and not target_node.children
            and not target.startswith(source + "/")
        ]
        if not pairs:
            return
        source, target = data.draw(st.sampled_from(sorted(pairs)), label="source and target")
        self._both("rename", owners[inodes[source].owner], source, target, True)

    def _rename_target(self, data: st.DataObject, source: str) -> str:
        """Usually any path; sometimes the path a symlink source points at (HDFS refuses that), or an
        inode the source could replace, so that overwrites (and the sticky bit on them) happen."""
        inodes = self.model.walk()
        node = inodes.get(source)
        if node is not None and node.symlink_target and data.draw(st.booleans(), label="onto link target"):
            return node.symlink_target
        replaceable = sorted(
            path
            for path, other in inodes.items()
            if node is not None
            and other.kind is node.kind
            and not other.children
            and path != source
            and not path.startswith(source + "/")
        )
        if replaceable and data.draw(st.booleans(), label="onto a replaceable inode"):
            return data.draw(st.sampled_from(replaceable), label="target")
        return self._path(data, "target")

    @rule(data=st.data(), mode=st.sampled_from(DIRECTORY_MODES + FILE_MODES))
    def set_permission(self, data: st.DataObject, mode: int) -> None:
        self._both("set_permission", self._caller(data), self._path(data, "path", allow_root=True), mode)

    @rule(
        data=st.data(),
        owner=st.one_of(st.none(), st.sampled_from(OWNERS)),
        group=st.sampled_from(GROUPS),
        change_group=st.booleans(),
    )
    def set_owner(self, data: st.DataObject, owner: str | None, group: str, change_group: bool) -> None:
        chosen_group = group if change_group or owner is None else None
        self._both(
            "set_owner", self._caller(data), self._path(data, "path", allow_root=True), owner, chosen_group
        )

    @rule(data=st.data(), modification_time_ms=st.sampled_from((-1, 0, 1_700_000_000_000)))
    def set_times(self, data: st.DataObject, modification_time_ms: int) -> None:
        self._both(
            "set_times",
            self._caller(data),
            self._path(data, "path", allow_root=True),
            modification_time_ms,
            -1,
        )

    @rule(data=st.data(), replication=st.sampled_from((1, 2, 5)))
    def set_replication(self, data: st.DataObject, replication: int) -> None:
        self._both("set_replication", self._caller(data), self._path(data, "path"), replication)

    @rule(
        data=st.data(),
        name=st.sampled_from(XATTR_NAMES),
        value=st.sampled_from(XATTR_VALUES),
        flags=st.sampled_from(XATTR_FLAGS),
    )
    def set_xattr(self, data: st.DataObject, name: str, value: bytes, flags: XAttrSetFlag) -> None:
        self._both(
            "set_xattr", self._caller(data), self._path(data, "path", allow_root=True), name, value, flags
        )

    @rule(data=st.data(), name=st.sampled_from(XATTR_NAMES))
    def remove_xattr(self, data: st.DataObject, name: str) -> None:
        self._both("remove_xattr", self._caller(data), self._path(data, "path", allow_root=True), name)

    @rule(
        data=st.data(),
        names=st.one_of(
            st.none(), st.lists(st.sampled_from(XATTR_NAMES), min_size=1, max_size=2, unique=True)
        ),
    )
    def get_xattrs(self, data: st.DataObject, names: list[str] | None) -> None:
        self._both("get_xattrs", self._caller(data), self._path(data, "path", allow_root=True), names)

    @rule(data=st.data(), link_target=st.sampled_from(SYMLINK_TARGETS), create_parent=st.booleans())
    def create_symlink(self, data: st.DataObject, link_target: str, create_parent: bool) -> None:
        self._both("create_symlink", self._caller(data), link_target, self._path(data, "link"), create_parent)

    @rule(data=st.data())
    def get_link_target(self, data: st.DataObject) -> None:
        self._both("get_link_target", self._caller(data), self._path(data, "path"))

    @rule(data=st.data())
    def stat(self, data: st.DataObject) -> None:
        self._both("stat", self._caller(data), self._path(data, "path", allow_root=True))

    @rule(data=st.data(), limit=st.integers(1, 3), start_after=st.sampled_from(("", "", "a", "b", "c", "Ä")))
    def list(self, data: st.DataObject, limit: int, start_after: str) -> None:
        caller = self._caller(data)
        path = self._path(data, "path", allow_root=True)
        self._both("list", caller, path, start_after, limit)

    @rule(data=st.data())
    def content_summary(self, data: st.DataObject) -> None:
        caller = self._caller(data)
        path = self._path(data, "path", allow_root=True)
        self._both("content_summary", caller, path)

    # -- invariants and teardown ----------------------------------------------------------------

    @invariant()
    def tree_matches_model(self) -> None:
        """The whole tree as the superuser lists it equals the model, attribute by attribute."""
        actual = {path: status_view(status) for path, status in self._engine_tree().items()}
        expected = {path: self.model.view(path, node) for path, node in self.model.walk().items()}
        if actual != expected:
            self.failed = True
            missing = sorted(expected.keys() - actual.keys())
            extra = sorted(actual.keys() - expected.keys())
            differing = sorted(p for p in expected.keys() & actual.keys() if expected[p] != actual[p])
            lines = [f"tree differs: missing {missing}, unexpected {extra}"]
            lines += [f"  {p}: model {expected[p]}\n  {' ' * len(p)}  engine {actual[p]}" for p in differing]
            raise AssertionError("\n".join(lines))

    def _engine_tree(self) -> dict[str, FileStatus]:
        found: dict[str, FileStatus] = {}
        pending = ["/"]
        while pending:
            directory = pending.pop()
            for status in self.namespace.list_all(ROOT, directory):
                found[status.path] = status
                if status.kind is InodeKind.DIRECTORY:
                    pending.append(status.path)
        return found

    def teardown(self) -> None:
        try:
            if not self.failed:
                assert_consistent(self.url)
                self._check_change_log()
        finally:
            self.namespace.close()
            _remove_sqlite_files(self.url)

    def _check_change_log(self) -> None:
        """Replaying the change log per inode gives the live inodes; logical times only go up."""
        events = _all_changes(self.namespace)
        last_time: dict[int, int] = {}
        final: dict[int, ChangeEvent] = {}
        for event in events:
            previous = last_time.get(event.inode_id)
            assert previous is None or event.logical_time > previous, (
                f"inode {event.inode_id}: logical time {event.logical_time} after {previous} ({event})"
            )
            last_time[event.inode_id] = event.logical_time
        for event in sorted(events, key=lambda e: (e.inode_id, e.logical_time)):
            final[event.inode_id] = event
        replayed = {
            inode_id: (event.parent_id, event.name)
            for inode_id, event in final.items()
            if event.operation != "DELETE"
        }
        root_event = replayed.pop(schema.ROOT_INODE_ID, (schema.ROOT_PARENT_ID, schema.ROOT_NAME))
        assert root_event == (schema.ROOT_PARENT_ID, schema.ROOT_NAME), f"root logged as {root_event}"
        live = self._live_inodes()
        assert replayed == live, (
            f"change log replays to {sorted(replayed.items())}, live {sorted(live.items())}"
        )

    def _live_inodes(self) -> dict[int, tuple[int, str]]:
        tree = self._engine_tree()
        ids = {"/": schema.ROOT_INODE_ID, **{path: status.inode_id for path, status in tree.items()}}
        return {
            status.inode_id: (ids[path.rsplit("/", 1)[0] or "/"], status.name)
            for path, status in tree.items()
        }


def _all_changes(namespace: Namespace) -> list[ChangeEvent]:
    events: list[ChangeEvent] = []
    after = 0
    while True:
        page = namespace.read_changes(after_sequence=after, limit=1000)
        events.extend(page)
        if len(page) < 1000:
            return events
        after = page[-1].sequence


def _remove_sqlite_files(url: str) -> None:
    """Each SQLite example has its own file; drop it once the example is checked."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(parsed.database + suffix).unlink(missing_ok=True)


def _database_factory(db_url: str, directory: Path) -> Callable[[], str]:
    """SQLite: a new file per example. MySQL: the test's database, reformatted by each example."""
    if make_url(db_url).get_backend_name() != "sqlite":
        return lambda: db_url
    counter = itertools.count()
    return lambda: f"sqlite:///{directory / f'model-{next(counter)}.db'}"


def test_namespace_matches_hdfs_model(db_url: str, tmp_path: Path) -> None:
    backend = make_url(db_url).get_backend_name()
    machine = type(
        "BoundNamespaceMachine",
        (NamespaceMachine,),
        {"new_database": staticmethod(_database_factory(db_url, tmp_path))},
    )
    run_state_machine_as_test(machine, settings=_profile_settings(backend))
