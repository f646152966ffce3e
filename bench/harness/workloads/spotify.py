"""The Spotify workload (hammer-bench): the metadata operation mix of distributions.SPOTIFY_MIX over a
generated tree (namespace.plan_tree), with 0-byte files or hammer-bench's small-file sizes.

Private namespace (hammer-bench's default): each client builds and owns its own tree, so every
operation may touch any of its files. Shared: client 0 builds one tree that everyone reads and lists;
each client also creates one seed file per directory, and creates, renames, deletes, chmods and
set-replications only files of its own (names prefixed with its client name), so no client ever
trips over another's change. Directory operations (stat, list, chown, chmod to the same mode) are
harmless under sharing and use every known directory.

Each operation of the mix is drawn independently (distributions.WeightedChoice); its answer is
checked against the model: a stat finds a file or a directory as expected, a read returns the
file's size, `ls FILE` lists one entry. The model follows every successful create, rename, delete
and mkdir, so no draw names a path that is gone.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import ClassVar

from bench.harness import distributions as mix
from bench.harness.namespace import LivePaths, plan_tree
from bench.harness.targets import DATA
from bench.harness.workloads.base import ClientContext, Step, Workload, WorkloadSettings
from bench.harness.workloads.checks import expect_entries, expect_kind, expect_length

FILE_MODE = 0o644
DIRECTORY_MODE = 0o755  # what the tree already has: a chmod never locks another client out
REPLICATION = 3
SHARED_TREE = "shared"
SIZE_SEED_OFFSET = 7919  # the shared tree's file sizes: one seed for every client, apart from theirs
MIX_PHASE = "mix"


class SpotifyWorkload(Workload):
    name = "spotify"
    phases = (MIX_PHASE,)
    timed_phases = frozenset({MIX_PHASE})
    _MIX: ClassVar[mix.WeightedChoice[str]] = mix.WeightedChoice.of(mix.SPOTIFY_MIX)

    def __init__(self, context: ClientContext) -> None:
        super().__init__(context)
        self.sizes = mix.WeightedChoice.of(mix.FILE_SIZE_DISTRIBUTIONS[self.settings.file_sizes])
        self.payload = context.random.randbytes(mix.SMALL_FILE_BYTES_MAX)
        self.prefix = f"{context.client_name}-"
        tree_root = context.path(SHARED_TREE if context.shared else context.client_name)
        self.plan = plan_tree(tree_root, self.settings.shape)
        plan_sizes = self._plan_sizes()
        # Files only this client changes, and (shared) files nobody changes.
        self.own_files = LivePaths({} if context.shared else plan_sizes)
        self.stable_files = list(plan_sizes.items()) if context.shared else []
        self.directories = LivePaths(dict.fromkeys(self.plan.directories, 0))
        self.names_issued = 0
        self.builders: dict[str, Callable[[], Step]] = {
            mix.READ: self._read,
            mix.STAT_FILE: self._stat_file,
            mix.STAT_DIRECTORY: self._stat_directory,
            mix.LIST_DIRECTORY: self._list_directory,
            mix.LIST_FILE: self._list_file,
            mix.CREATE_FILE: self._create_file,
            mix.RENAME: self._rename,
            mix.DELETE: self._delete,
            mix.CHOWN_DIRECTORY: self._chown_directory,
            mix.SET_REPLICATION: self._set_replication,
            mix.MKDIR: self._mkdir,
            mix.CHMOD_FILE: self._chmod_file,
            mix.CHMOD_DIRECTORY: self._chmod_directory,
        }

    @classmethod
    def requirements(cls, settings: WorkloadSettings) -> frozenset[str]:
        # 0-byte files need no data path to set up; a `read` then still needs one (reported per draw).
        return frozenset() if settings.file_sizes == "zero" else frozenset({DATA})

    @classmethod
    def expected_shares(cls, phase: str) -> dict[str, float] | None:
        return cls._MIX.shares() if phase == MIX_PHASE else None

    @property
    def home(self) -> str:
        return self.plan.directories[0]

    def setup_shared(self) -> None:
        self._create_plan()

    def setup(self) -> None:
        if not self.context.shared:
            self._create_plan()
            return
        for directory in self.plan.directories:
            path = f"{directory}/{self.prefix}seed"
            size = self.sizes.draw(self.context.random)
            self.target.create(path, self.payload[:size])
            self.own_files.add(path, size)

    def warm_up(self) -> Iterator[Step]:
        """Mix steps, untimed (the model follows them as in the timed phase)."""
        steps = self.steps(MIX_PHASE)
        for _ in range(self.settings.warmup_ops):
            yield next(steps)

    def steps(self, phase: str) -> Iterator[Step]:
        draw, generator = self._MIX.draw, self.context.random
        while True:
            yield self.builders[draw(generator)]()

    def teardown(self) -> None:
        if not self.context.shared:
            self.target.delete(self.plan.directories[0], recursive=True)

    def teardown_shared(self) -> None:
        self.target.delete(self.plan.directories[0], recursive=True)

    # -- the namespace -----------------------------------------------------------------------------

    def _plan_sizes(self) -> dict[str, int]:
        """Each planned file's size; a shared tree's sizes come from one seed, so every client agrees."""
        seed = self.settings.seed + SIZE_SEED_OFFSET
        generator = random.Random(seed) if self.context.shared else self.context.random
        return {path: self.sizes.draw(generator) for path in self.plan.files}

    def _create_plan(self) -> None:
        for directory in self.plan.directories:
            self.target.mkdirs(directory)
        sizes = dict(self.stable_files) if self.context.shared else None
        for path in self.plan.files:
            size = sizes[path] if sizes is not None else self.own_files.size(path)
            self.target.create(path, self.payload[:size])

    def _fresh_name(self, directory: str, kind: str) -> str:
        self.names_issued += 1
        return f"{directory}/{self.prefix}{kind}{self.names_issued}"

    def _readable_file(self) -> tuple[str, int] | None:
        """A file this client may read: a stable one or one of its own."""
        count = len(self.stable_files) + len(self.own_files)
        if count == 0:
            return None
        index = self.context.random.randrange(count)
        if index < len(self.stable_files):
            return self.stable_files[index]
        path = self.own_files.choice(self.context.random)
        return path, self.own_files.size(path)

    def _own_file(self) -> str | None:
        return self.own_files.choice(self.context.random) if len(self.own_files) else None

    # -- one builder per operation of the mix ------------------------------------------------------

    def _read(self) -> Step:
        chosen = self._readable_file()
        if chosen is None:
            return Step(mix.READ, None)
        path, size = chosen
        return Step(mix.READ, lambda: self.target.read(path), expect_length(path, size), size)

    def _stat_file(self) -> Step:
        chosen = self._readable_file()
        if chosen is None:
            return Step(mix.STAT_FILE, None)
        path, size = chosen
        return Step(
            mix.STAT_FILE, lambda: self.target.stat(path), expect_kind(path, directory=False, size=size)
        )

    def _stat_directory(self) -> Step:
        path = self.directories.choice(self.context.random)
        return Step(mix.STAT_DIRECTORY, lambda: self.target.stat(path), expect_kind(path, directory=True))

    def _list_directory(self) -> Step:
        path = self.directories.choice(self.context.random)
        return Step(mix.LIST_DIRECTORY, lambda: self.target.list(path))

    def _list_file(self) -> Step:
        chosen = self._readable_file()
        if chosen is None:
            return Step(mix.LIST_FILE, None)
        path = chosen[0]
        return Step(mix.LIST_FILE, lambda: self.target.list(path), expect_entries(path, 1))

    def _create_file(self) -> Step:
        path = self._fresh_name(self.directories.choice(self.context.random), "n")
        size = self.sizes.draw(self.context.random)
        data = self.payload[:size]
        return Step(
            mix.CREATE_FILE,
            lambda: self.target.create(path, data),
            lambda _: self.own_files.add(path, size),
            size,
        )

    def _rename(self) -> Step:
        source = self._own_file()
        if source is None:
            return Step(mix.RENAME, None)
        target = self._fresh_name(source.rsplit("/", 1)[0], "r")
        return Step(
            mix.RENAME,
            lambda: self.target.rename(source, target),
            lambda _: self.own_files.rename(source, target),
        )

    def _delete(self) -> Step:
        path = self._own_file()
        if path is None:
            return Step(mix.DELETE, None)
        return Step(mix.DELETE, lambda: self.target.delete(path), lambda _: self.own_files.remove(path))

    def _chown_directory(self) -> Step:
        path = self.directories.choice(self.context.random)
        return Step(mix.CHOWN_DIRECTORY, lambda: self.target.chown(path))

    def _set_replication(self) -> Step:
        path = self._own_file()
        if path is None:
            return Step(mix.SET_REPLICATION, None)
        return Step(mix.SET_REPLICATION, lambda: self.target.set_replication(path, REPLICATION))

    def _mkdir(self) -> Step:
        path = self._fresh_name(self.directories.choice(self.context.random), "m")
        return Step(mix.MKDIR, lambda: self.target.mkdirs(path), lambda _: self.directories.add(path))

    def _chmod_file(self) -> Step:
        path = self._own_file()
        if path is None:
            return Step(mix.CHMOD_FILE, None)
        return Step(mix.CHMOD_FILE, lambda: self.target.chmod(path, FILE_MODE))

    def _chmod_directory(self) -> Step:
        path = self.directories.choice(self.context.random)
        return Step(mix.CHMOD_DIRECTORY, lambda: self.target.chmod(path, DIRECTORY_MODE))
