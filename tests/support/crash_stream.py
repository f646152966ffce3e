"""A long, seeded stream of mixed namespace operations for the crash (kill -9) tests.

The stream is the only writer of its store, so it keeps a model of the tree and only plans operations
that must succeed; any error is a bug and ends the worker with a traceback. Before each operation it
prints `BEGIN <json>` naming the change-log rows the operation must write (operation -> count) and the
inode it acts on; after it returns, `DONE <json>`. A test that kills the worker can then cut the change
log into one slice per finished operation and check what the operation in flight left behind.

Bounds: at most `operations_max` operations; at most XATTRS_PER_INODE_KEPT xattrs per inode.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from hopsfs.types import Caller
from namenode.engine.namespace import Namespace

SUPERUSER = Caller("root", ())
BEGIN_PREFIX = "BEGIN "
DONE_PREFIX = "DONE "
XATTRS_PER_INODE_KEPT = 4
TREE_SIZE_BEFORE_DELETES = 40
DIRECTORY = "dir"
FILE = "file"


@dataclass(slots=True)
class PlannedOperation:
    index: int
    operation: str
    arguments: list[str]
    expect: dict[str, int]  # change-log operation -> rows this operation writes
    inode: int | None = None  # the inode acted on, when it exists before the operation

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class TreeModel:
    """What the namespace holds, as the only writer sees it."""

    kinds: dict[str, str] = field(default_factory=lambda: {"/": DIRECTORY})
    xattrs: dict[str, list[str]] = field(default_factory=dict)
    names_issued: int = 0

    def fresh_name(self, prefix: str) -> str:
        self.names_issued += 1
        return f"{prefix}{self.names_issued}"

    def directories(self) -> list[str]:
        return [path for path, kind in self.kinds.items() if kind == DIRECTORY]

    def non_root(self) -> list[str]:
        return [path for path in self.kinds if path != "/"]

    def subtree(self, path: str) -> list[str]:
        return [other for other in self.kinds if other == path or other.startswith(path + "/")]

    def add(self, path: str, kind: str) -> None:
        self.kinds[path] = kind

    def remove(self, path: str) -> None:
        for other in self.subtree(path):
            del self.kinds[other]
            self.xattrs.pop(other, None)

    def move(self, source: str, target: str) -> None:
        for other in self.subtree(source):
            moved = target + other[len(source) :]
            self.kinds[moved] = self.kinds.pop(other)
            if other in self.xattrs:
                self.xattrs[moved] = self.xattrs.pop(other)


def child(parent: str, name: str) -> str:
    return f"/{name}" if parent == "/" else f"{parent}/{name}"


class OperationStream:
    def __init__(self, namespace: Namespace, seed: int, emit: Callable[[str], None]) -> None:
        self.namespace = namespace
        self.rng = random.Random(seed)
        self.model = TreeModel()
        self.emit = emit

    def run(self, operations_max: int) -> int:
        for index in range(operations_max):
            planned = self.plan(index)
            self.emit(BEGIN_PREFIX + json.dumps(planned.to_json()))
            inode = self.execute(planned)
            self.emit(DONE_PREFIX + json.dumps({"index": index, "inode": inode}))
        return operations_max

    # -- planning -------------------------------------------------------------------------------

    def plan(self, index: int) -> PlannedOperation:
        size = len(self.model.kinds)
        choice = self.rng.random()
        if size > TREE_SIZE_BEFORE_DELETES and choice < 0.12:
            return self._plan_delete(index)
        if size > 2 and choice < 0.3:
            return self._plan_rename(index)
        if size > 2 and choice < 0.45:
            return self._plan_xattr(index)
        if choice < 0.7:
            return self._plan_mkdirs(index)
        return self._plan_create(index)

    def _plan_mkdirs(self, index: int) -> PlannedOperation:
        path = self.rng.choice(self.model.directories())
        depth = self.rng.randint(1, 3)
        for _ in range(depth):
            path = child(path, self.model.fresh_name("d"))
        return PlannedOperation(index, "mkdirs", [path], {"MKDIR": depth})

    def _plan_create(self, index: int) -> PlannedOperation:
        parent = self.rng.choice(self.model.directories())
        expect = {"CREATE": 1}
        if self.rng.random() < 0.2:
            parent = child(parent, self.model.fresh_name("d"))
            expect["MKDIR"] = 1
        return PlannedOperation(index, "create", [child(parent, self.model.fresh_name("f"))], expect)

    def _plan_rename(self, index: int) -> PlannedOperation:
        source = self.rng.choice(self.model.non_root())
        candidates = [d for d in self.model.directories() if d != source and not d.startswith(source + "/")]
        target = child(self.rng.choice(candidates), self.model.fresh_name("r"))
        return PlannedOperation(index, "rename", [source, target], {"RENAME": 1}, self._inode(source))

    def _plan_delete(self, index: int) -> PlannedOperation:
        directories = [d for d in self.model.directories() if d != "/"]
        if directories and self.rng.random() < 0.8:
            target = self.rng.choice(directories)
        else:
            target = self.rng.choice(self.model.non_root())
        expect = {"DELETE": len(self.model.subtree(target))}
        return PlannedOperation(index, "delete", [target], expect, self._inode(target))

    def _plan_xattr(self, index: int) -> PlannedOperation:
        target = self.rng.choice(self.model.non_root())
        names = self.model.xattrs.get(target, [])
        if names and (len(names) >= XATTRS_PER_INODE_KEPT or self.rng.random() < 0.3):
            name = self.rng.choice(names)
            return PlannedOperation(
                index, "remove_xattr", [target, name], {"XATTR_REMOVE": 1}, self._inode(target)
            )
        name = f"user.{self.model.fresh_name('x')}"
        return PlannedOperation(index, "set_xattr", [target, name], {"XATTR_SET": 1}, self._inode(target))

    def _inode(self, path: str) -> int:
        return self.namespace.stat(SUPERUSER, path).inode_id

    # -- execution ------------------------------------------------------------------------------

    def execute(self, planned: PlannedOperation) -> int | None:
        """Run one planned operation (it must succeed) and bring the model along; the inode it made."""
        namespace, model, arguments = self.namespace, self.model, planned.arguments
        if planned.operation == "mkdirs":
            assert namespace.mkdirs(SUPERUSER, arguments[0]) is True
            _add_with_parents(model, arguments[0], DIRECTORY)
            return namespace.stat(SUPERUSER, arguments[0]).inode_id
        if planned.operation == "create":
            status = namespace.create(SUPERUSER, arguments[0])
            _add_with_parents(model, arguments[0], FILE)
            return status.inode_id
        if planned.operation == "rename":
            namespace.rename(SUPERUSER, arguments[0], arguments[1])
            model.move(arguments[0], arguments[1])
        elif planned.operation == "delete":
            assert namespace.delete(SUPERUSER, arguments[0], recursive=True) is True
            model.remove(arguments[0])
        elif planned.operation == "set_xattr":
            namespace.set_xattr(SUPERUSER, arguments[0], arguments[1], planned.operation.encode())
            model.xattrs.setdefault(arguments[0], []).append(arguments[1])
        elif planned.operation == "remove_xattr":
            namespace.remove_xattr(SUPERUSER, arguments[0], arguments[1])
            model.xattrs[arguments[0]].remove(arguments[1])
        else:
            raise AssertionError(f"unknown planned operation {planned.operation}")
        return planned.inode


def _add_with_parents(model: TreeModel, path: str, kind: str) -> None:
    parts = path.split("/")[1:]
    for depth in range(1, len(parts)):
        model.kinds.setdefault("/" + "/".join(parts[:depth]), DIRECTORY)
    model.add(path, kind)
