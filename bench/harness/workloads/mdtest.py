"""mdtest-style metadata phases: create, stat, list, rename, delete of N files per client across D
directories.

Private namespace: each client has its own D directories (mdtest -u). Shared: every client works in
the same D directories (mdtest's default), with names prefixed by its client name, so the
directories' rows are contended. File i lives in directory i mod D. Every phase is a barrier: the
list phase therefore knows exactly how many entries each directory holds (all clients' files in a
shared directory) and checks it; stat checks that each path is a 0-byte file.
"""

from __future__ import annotations

from collections.abc import Iterator

from bench.harness.workloads.base import ClientContext, Step, Workload
from bench.harness.workloads.checks import bind, expect_entries, expect_kind

CREATE = "create"
STAT = "stat"
LIST = "list"
RENAME = "rename"
DELETE = "delete"
SHARED_DIRECTORY = "shared"


class MdtestWorkload(Workload):
    name = "mdtest"
    phases = (CREATE, STAT, LIST, RENAME, DELETE)

    def __init__(self, context: ClientContext) -> None:
        super().__init__(context)
        self.top = context.path(SHARED_DIRECTORY if context.shared else context.client_name)
        count = self.settings.mdtest_directories
        self.directories = [f"{self.top}/d{index}" for index in range(count)]
        prefix = context.client_name
        files = range(self.settings.mdtest_files)
        self.created = [f"{self.directories[index % count]}/{prefix}-f{index}" for index in files]
        self.renamed = [f"{self.directories[index % count]}/{prefix}-r{index}" for index in files]

    @property
    def home(self) -> str:
        return self.top

    def setup_shared(self) -> None:
        self._make_directories()

    def setup(self) -> None:
        if not self.context.shared:
            self._make_directories()

    def steps(self, phase: str) -> Iterator[Step]:
        target = self.target
        if phase == CREATE:
            for path in self.created:
                yield Step(CREATE, bind(target.create, path, b""))
        elif phase == STAT:
            for path in self.created:
                yield Step(STAT, bind(target.stat, path), expect_kind(path, directory=False, size=0))
        elif phase == LIST:
            for index, directory in enumerate(self.directories):
                yield Step(
                    LIST, bind(target.list, directory), expect_entries(directory, self._entries(index))
                )
        elif phase == RENAME:
            for source, destination in zip(self.created, self.renamed, strict=True):
                yield Step(RENAME, bind(target.rename, source, destination))
        elif phase == DELETE:
            for path in self.renamed:
                yield Step(DELETE, bind(target.delete, path))
        else:
            raise ValueError(f"mdtest has no phase {phase!r}")

    def teardown(self) -> None:
        if not self.context.shared:
            self.target.delete(self.top, recursive=True)

    def teardown_shared(self) -> None:
        self.target.delete(self.top, recursive=True)

    def _make_directories(self) -> None:
        for directory in self.directories:
            self.target.mkdirs(directory)

    def _entries(self, directory_index: int) -> int:
        """Files in directory `directory_index` after the create phase: this client's, or everyone's."""
        count, files = self.settings.mdtest_directories, self.settings.mdtest_files
        per_client = len(range(directory_index, files, count))
        return per_client * (self.context.clients if self.context.shared else 1)
