"""The namespace a workload runs over: hammer-bench's tree shape, and the live-path model.

`plan_tree(root, shape)` lays out a directory tree breadth first (no recursion): the root, then
`directories_per_directory` children under every directory down to `depth` levels below the root,
with `files_per_directory` files in every directory (hammer-bench: 2 per directory, 16 files,
depth 3, so 15 directories and 240 files per tree). Parents always come before their children, so
the plan can be created in order.

`LivePaths` is what a client knows exists: a set with O(1) add, remove and uniform random choice
(a list plus an index), so a workload's draws stay valid as renames and deletes change the tree.

Bounds: a plan holds at most PLAN_INODES_MAX entries.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from hopsfs.invariants import check

PLAN_INODES_MAX = 10_000_000


@dataclass(frozen=True, slots=True)
class NamespaceShape:
    directories_per_directory: int = 2
    files_per_directory: int = 16
    depth: int = 3

    def __post_init__(self) -> None:
        check(self.directories_per_directory >= 0, "directories per directory is not negative")
        check(self.files_per_directory >= 0, "files per directory is not negative")
        check(self.depth >= 0, "the depth is not negative")

    @property
    def directory_count(self) -> int:
        """Directories in one tree, its root included."""
        return sum(self.directories_per_directory**level for level in range(self.depth + 1))

    @property
    def file_count(self) -> int:
        return self.directory_count * self.files_per_directory


@dataclass(frozen=True, slots=True)
class TreePlan:
    directories: tuple[str, ...]  # breadth first: the root, then every level in turn
    files: tuple[str, ...]


def plan_tree(root: str, shape: NamespaceShape, file_prefix: str = "f") -> TreePlan:
    """The directories and files of one tree under `root` (which is the first directory)."""
    check(root.startswith("/") and not root.endswith("/"), "the root is an absolute path without a slash")
    check(shape.directory_count + shape.file_count <= PLAN_INODES_MAX, "the tree fits PLAN_INODES_MAX")
    directories = [root]
    level_start = 0
    for _ in range(shape.depth):
        level_end = len(directories)
        for parent in directories[level_start:level_end]:
            directories.extend(f"{parent}/d{child}" for child in range(shape.directories_per_directory))
        level_start = level_end
    files = [
        f"{directory}/{file_prefix}{index}"
        for directory in directories
        for index in range(shape.files_per_directory)
    ]
    check(len(directories) == shape.directory_count, "the plan has the shape's directory count")
    return TreePlan(tuple(directories), tuple(files))


class LivePaths:
    """Paths known to exist, with their sizes; uniform random choice in O(1)."""

    def __init__(self, paths: dict[str, int] | None = None) -> None:
        self._paths: list[str] = []
        self._index: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        for path, size in (paths or {}).items():
            self.add(path, size)

    def __len__(self) -> int:
        return len(self._paths)

    def __contains__(self, path: object) -> bool:
        return path in self._index

    def add(self, path: str, size: int = 0) -> None:
        check(path not in self._index, f"{path} is added once")
        self._index[path] = len(self._paths)
        self._paths.append(path)
        self._sizes[path] = size

    def remove(self, path: str) -> None:
        index = self._index.pop(path)
        last = self._paths.pop()
        if last != path:  # move the last path into the hole
            self._paths[index] = last
            self._index[last] = index
        del self._sizes[path]

    def rename(self, source: str, target: str) -> None:
        size = self._sizes[source]
        self.remove(source)
        self.add(target, size)

    def size(self, path: str) -> int:
        return self._sizes[path]

    def choice(self, generator: random.Random) -> str:
        check(len(self._paths) > 0, "a choice from an empty set")
        return self._paths[generator.randrange(len(self._paths))]
