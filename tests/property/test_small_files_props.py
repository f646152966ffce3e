"""Small files against a plain bytes model: any sequence of create-with-data (around the threshold and
the tier edges), overwrite, rename, delete, batch create, truncate, an append that never completes
(lease recovery reverts it) and read on the engine answers as a dict of path -> bytes would, and fsck
(inline rows included) holds after every sequence. SQLite and MariaDB."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from support import databases
from support.fsck import assert_consistent

from hopsfs.errors import FileNotFound, InvalidArgument, LeaseConflict
from hopsfs.types import Caller
from namenode import schema
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace
from namenode.ops.small_files import SmallFile

ROOT = Caller("hdfs")
THRESHOLD = 9000  # a directory policy, so chunked files and refusals are both cheap to reach
NAMES = ("a", "b", "c")
EDGES = sorted(
    {0, 1, THRESHOLD - 1, THRESHOLD, THRESHOLD + 1, schema.INLINE_CHUNK_BYTES + 1}
    | {edge + delta for edge in schema.INLINE_TIER_BYTES_MAX for delta in (-1, 0, 1)}
)
SIZES = st.one_of(st.sampled_from(EDGES), st.integers(min_value=0, max_value=THRESHOLD + 100))
_COUNTER = itertools.count()


def _bytes(size: int, seed: int) -> bytes:
    return bytes((index * 7 + seed) % 256 for index in range(size))


class SmallFileMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        store = MetadataStore(self.url)
        store.format(superuser="hdfs", supergroup="supergroup", now_ms=1, force=True)
        self.namespace = Namespace(store)
        self.namespace.mkdirs(ROOT, "/d")
        self.namespace.set_inline_threshold(ROOT, "/d", THRESHOLD)
        self.model: dict[str, bytes] = {}

    @rule(name=st.sampled_from(NAMES), size=SIZES, seed=st.integers(0, 255), overwrite=st.booleans())
    def create(self, name: str, size: int, seed: int, overwrite: bool) -> None:
        path, data = f"/d/{name}", _bytes(size, seed)
        exists = path in self.model
        try:
            created = self.namespace.create_with_data(ROOT, path, data, overwrite=overwrite)
        except Exception as error:
            assert exists and not overwrite, error
            return
        assert not (exists and not overwrite)
        if size > THRESHOLD:
            assert created.status is None and created.threshold_bytes == THRESHOLD
        else:
            assert created.status is not None and created.status.size == size
            self.model[path] = data

    @rule(source=st.sampled_from(NAMES), destination=st.sampled_from(NAMES))
    def rename(self, source: str, destination: str) -> None:
        source_path, target_path = f"/d/{source}", f"/d/{destination}"
        if source_path not in self.model or source_path == target_path:
            return
        self.namespace.rename(ROOT, source_path, target_path, overwrite=True)
        self.model[target_path] = self.model.pop(source_path)

    @rule(name=st.sampled_from(NAMES))
    def delete(self, name: str) -> None:
        path = f"/d/{name}"
        assert self.namespace.delete(ROOT, path) == (path in self.model)
        self.model.pop(path, None)

    @rule(sizes=st.lists(SIZES, min_size=1, max_size=4))
    def batch(self, sizes: list[int]) -> None:
        files = [SmallFile(f"/d/batch-{next(_COUNTER)}", _bytes(size, size)) for size in sizes]
        result = self.namespace.batch_create_with_data(ROOT, files)
        if any(size > THRESHOLD for size in sizes):
            assert not isinstance(result, list) and result.status is None
        else:
            assert isinstance(result, list)
            self.model.update({entry.path: entry.data for entry in files})

    @rule(name=st.sampled_from(NAMES), length=SIZES, cut=st.booleans())
    def truncate(self, name: str, length: int, cut: bool) -> None:
        path = f"/d/{name}"
        if path not in self.model:
            with pytest.raises(FileNotFound):
                self.namespace.truncate(ROOT, path, length, "truncator")
            return
        if cut:  # mostly a length the file has, so the cut happens
            length = min(length, len(self.model[path]))
        if length > len(self.model[path]):
            with pytest.raises(InvalidArgument, match="Cannot truncate to a larger file size"):
                self.namespace.truncate(ROOT, path, length, "truncator")
            return
        assert self.namespace.truncate(ROOT, path, length, "truncator")  # inline: done at once
        self.model[path] = self.model[path][:length]

    @rule(name=st.sampled_from(NAMES))
    def unfinished_append(self, name: str) -> None:
        """An append whose writer dies before completing: truncate is refused meanwhile, and lease
        recovery brings the file back as it was (all or nothing)."""
        path = f"/d/{name}"
        if path not in self.model:
            return
        self.namespace.append_inline(ROOT, path, "appender")
        with pytest.raises(LeaseConflict, match="Failed to TRUNCATE_FILE"):
            self.namespace.truncate(ROOT, path, 0, "truncator")
        assert self.namespace.recover_lease(ROOT, path, "recoverer")

    @invariant()
    def reads_match_the_model(self) -> None:
        for name in (*NAMES, *[path.rsplit("/", 1)[1] for path in self.model]):
            path = f"/d/{name}"
            try:
                read = self.namespace.read_with_metadata(ROOT, path)
            except FileNotFound:
                assert path not in self.model
                continue
            assert read.data == self.model[path] and read.status.size == len(self.model[path])

    def teardown(self) -> None:
        self.namespace.close()
        assert_consistent(self.url)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_small_files_answer_as_a_bytes_model(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = databases.sqlite_url(tmp_path) if backend == "sqlite" else request.getfixturevalue("mysql_url")
    SmallFileMachine.url = url
    run_state_machine_as_test(
        SmallFileMachine,
        settings=settings(
            max_examples=50 if backend == "sqlite" else 15,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
