"""Random operation sequences through the engine, captured and indexed: the search index equals the
namespace afterwards, document by document, and queries by name and by prefix answer exactly what a
walk of the namespace answers.

The engine `Namespace` runs in-process on SQLite; capture (`Capturer` over `MetadataReader`) and the
search sink run synchronously at "sync" steps the sequence chooses, so batches split and join at
random places: a rename of a directory in the same batch as creations below it, a delete of a subtree
right after its rename, and so on.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdc.capture.bootstrap import bootstrap
from cdc.capture.capturer import Capturer
from cdc.capture.checkpoints import Checkpoint
from cdc.log import DurableLog
from cdc.metadata import MetadataReader
from cdc.sinks.search import SearchSink
from hopsfs.errors import HopsFSError
from hopsfs.types import Caller, FileStatus, InodeKind
from namenode.dal.store import MetadataStore
from namenode.engine.namespace import Namespace

SUPERUSER = Caller("root", ())
NAMES = ("a", "b", "c")
OWNERS = ("alice", "bob")
DOCUMENTS_MAX = 10_000

paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
shallow_paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=2).map(
    lambda parts: "/" + "/".join(parts)
)
operations = st.one_of(
    st.tuples(st.just("mkdir"), paths),
    st.tuples(st.just("create"), paths),
    st.tuples(st.just("tree"), shallow_paths),  # a small subtree, so directory renames move something
    st.tuples(st.just("rename"), shallow_paths, shallow_paths),
    st.tuples(st.just("rename"), paths, paths),
    st.tuples(st.just("delete"), paths),
    st.tuples(st.just("xattr"), paths, st.sampled_from(("tag", "team")), st.sampled_from(("red", "blue"))),
    st.tuples(st.just("remove_xattr"), paths, st.sampled_from(("tag", "team"))),
    st.tuples(st.just("owner"), paths, st.sampled_from(OWNERS)),
    st.tuples(st.just("chmod"), paths, st.sampled_from((0o700, 0o755))),
    st.tuples(st.just("sync")),
)


class Pipeline:
    """Engine, capture and search sink on one temporary directory."""

    def __init__(self, directory: Path) -> None:
        url = f"sqlite:///{directory / 'meta.db'}"
        store = MetadataStore(url)
        store.format(superuser=SUPERUSER.user, supergroup="supergroup", now_ms=int(time.time() * 1000))
        self.namespace = Namespace(store)
        self.reader = MetadataReader(url)
        self.log = DurableLog(directory / "log")
        self.capturer = Capturer(self.log)
        self.sequence = bootstrap(self.reader, self.capturer).sequence
        self.search = SearchSink(directory / "search", self.reader)
        self.applied = 0

    def sync(self) -> None:
        rows = self.reader.read_changes_after(self.sequence, 5000)
        if rows:
            self.sequence = rows[-1].sequence
            self.capturer.capture(rows, Checkpoint(backend="sqlite", sequence=self.sequence).encode())
        records = self.log.read(self.applied + 1, 5000)
        self.search.apply(records)
        self.search.commit()
        self.applied = self.log.last_position

    def run(self, operation: tuple[object, ...]) -> None:
        namespace, kind = self.namespace, operation[0]
        try:
            if kind == "mkdir":
                namespace.mkdirs(SUPERUSER, str(operation[1]))
            elif kind == "create":
                namespace.create(SUPERUSER, str(operation[1]), create_parent=True)
            elif kind == "tree":
                for below in ("a/c", "b"):
                    self.run(("create", f"{operation[1]}/{below}"))
            elif kind == "rename":
                namespace.rename(SUPERUSER, str(operation[1]), str(operation[2]))
            elif kind == "delete":
                namespace.delete(SUPERUSER, str(operation[1]), recursive=True)
            elif kind == "xattr":
                namespace.set_xattr(
                    SUPERUSER, str(operation[1]), f"user.{operation[2]}", str(operation[3]).encode()
                )
            elif kind == "remove_xattr":
                namespace.remove_xattr(SUPERUSER, str(operation[1]), f"user.{operation[2]}")
            elif kind == "owner":
                namespace.set_owner(SUPERUSER, str(operation[1]), owner=str(operation[2]))
            elif kind == "chmod":
                namespace.set_permission(SUPERUSER, str(operation[1]), int(operation[2]))  # type: ignore[call-overload]
            else:
                self.sync()
        except HopsFSError:
            pass  # refused operations change nothing (and log nothing)

    def walk(self) -> dict[str, tuple[object, ...]]:
        """path -> what the index should say about it, from the namespace itself."""
        found: dict[str, tuple[object, ...]] = {}
        pending = ["/"]
        while pending:
            directory = pending.pop()
            for status in self.namespace.list_all(SUPERUSER, directory):
                path = status.path
                found[path] = self._expected(path, status)
                if status.kind == InodeKind.DIRECTORY:
                    pending.append(path)
        return found

    def _expected(self, path: str, status: FileStatus) -> tuple[object, ...]:
        xattrs = self.namespace.get_xattrs(SUPERUSER, path)
        user_xattrs = {name.removeprefix("user."): value.decode() for name, value in xattrs.items()}
        return (
            status.inode_id,
            status.owner,
            status.group,
            int(status.kind),
            status.permission,
            status.size,
            status.modification_time_ms,
            user_xattrs,
        )

    def indexed(self) -> dict[str, tuple[object, ...]]:
        documents = self.search.all_documents(DOCUMENTS_MAX)
        found = {
            document.path: (
                document.inode_id,
                document.owner,
                document.group,
                document.kind,
                document.permission,
                document.size,
                document.modification_time,
                document.xattrs,
            )
            for document in documents
        }
        assert len(found) == len(documents), "one document per path"
        return found

    def close(self) -> None:
        self.search.close()
        self.log.close()
        self.reader.close()
        self.namespace.close()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operations, min_size=1, max_size=40))
def test_the_index_equals_the_namespace_after_random_operations(sequence: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        pipeline = Pipeline(Path(directory))
        try:
            for operation in sequence:
                pipeline.run(operation)
            pipeline.sync()
            expected = pipeline.walk()
            assert pipeline.indexed() == expected
            for name in NAMES:
                hits = pipeline.search.search(f"name:{name}", None, 1000)
                assert sorted(inode.path for _, inode in hits) == sorted(
                    path for path in expected if path.rsplit("/", 1)[1] == name
                )
                prefix = f"/{name}"
                under = pipeline.search.search("*", prefix, 1000)
                assert sorted(inode.path for _, inode in under) == sorted(
                    path for path in expected if path == prefix or path.startswith(prefix + "/")
                )
        finally:
            pipeline.close()
