"""What a workload is: settings, the per-client context, steps, and the interface the runner drives.

A workload is defined once, against `Target` only, so it runs unchanged on every target. Each client
process builds its own instance and is driven through: `setup_shared` (client 0 only, when the
namespace is shared, before anyone else starts), `setup` (untimed: this client's part of the
namespace), `warm_up` (untimed steps: connections, caches), then `steps(phase)` for each phase in
order (all clients start a phase together and the next one waits for all of them), then `teardown`
and, on client 0 last, `teardown_shared`.

A `Step` is one timed call (`run`) plus an untimed `done(result)` that checks the answer against the
workload's model and updates the model; `done` raising counts the step as an error. A step whose
`run` is None could not be made (its precondition failed, e.g. no file of its own left to delete):
it is counted as skipped, not timed. A phase in `timed_phases` is an endless stream that the runner
ends after `duration_s` or `ops_per_client`; the others run to completion.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from bench.harness.distributions import MIB
from bench.harness.namespace import NamespaceShape
from bench.harness.targets import Target, join_path
from hopsfs.invariants import check

PRIVATE = "private"  # each client in its own subtree (hammer-bench's default)
SHARED = "shared"  # every client in one tree
NAMESPACE_MODES = (PRIVATE, SHARED)
STAT = "stat"


@dataclass(frozen=True, slots=True)
class WorkloadSettings:
    namespace: str = PRIVATE
    shape: NamespaceShape = field(default_factory=NamespaceShape)
    file_sizes: str = "zero"  # a key of distributions.FILE_SIZE_DISTRIBUTIONS
    duration_s: float = 2.0  # a timed phase's window
    ops_per_client: int | None = None  # ends a timed phase earlier, after this many steps per client
    warmup_ops: int = 50
    mdtest_files: int = 200  # per client
    mdtest_directories: int = 4
    small_files: int = 20  # per client (each write waits for its close: keep the default suite short)
    big_file_bytes: int = 16 * MIB  # per client
    chunk_bytes: int = 1 * MIB
    seed: int = 1
    phase_timeout_s: float = 300.0  # a phase that runs to completion is cut here and marked truncated

    def __post_init__(self) -> None:
        check(self.namespace in NAMESPACE_MODES, f"namespace is one of {NAMESPACE_MODES}")
        check(self.duration_s > 0 and self.phase_timeout_s > 0, "phases have positive time bounds")
        check(self.ops_per_client is None or self.ops_per_client > 0, "an op count is positive")
        check(self.mdtest_files > 0 and self.mdtest_directories > 0, "mdtest has files and directories")
        check(self.small_files > 0, "small-files writes at least one file")
        check(self.chunk_bytes >= 16 and self.big_file_bytes >= self.chunk_bytes, "a big file holds a chunk")


@dataclass(slots=True)
class ClientContext:
    target: Target
    root: str  # this configuration's directory on the target; each workload works below it
    client: int
    clients: int
    settings: WorkloadSettings
    random: random.Random

    @property
    def shared(self) -> bool:
        return self.settings.namespace == SHARED

    @property
    def client_name(self) -> str:
        return f"c{self.client:03d}"

    def path(self, *names: str) -> str:
        return join_path(self.root, *names)


@dataclass(slots=True)
class Step:
    operation: str
    run: Callable[[], object] | None
    done: Callable[[object], None] | None = None
    payload_bytes: int = 0  # data moved by a successful run (MB/s)
    succeeded: bool = False


class Workload(ABC):
    name: ClassVar[str]
    phases: ClassVar[tuple[str, ...]]
    timed_phases: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, context: ClientContext) -> None:
        self.context = context
        self.target = context.target
        self.settings = context.settings

    @classmethod
    def requirements(cls, settings: WorkloadSettings) -> frozenset[str]:
        """Target capabilities the workload cannot run without (see targets.base)."""
        return frozenset()

    @classmethod
    def expected_shares(cls, phase: str) -> dict[str, float] | None:
        """For a mix: each operation's intended fraction of the steps; None for a fixed sequence."""
        return None

    def setup_shared(self) -> None:
        return None

    @abstractmethod
    def setup(self) -> None: ...

    @abstractmethod
    def steps(self, phase: str) -> Iterator[Step]: ...

    @property
    @abstractmethod
    def home(self) -> str:
        """A directory this client can always stat (warm-up)."""

    def warm_up(self) -> Iterator[Step]:
        """Untimed calls before the first phase: opens connections and warms caches."""
        for _ in range(self.settings.warmup_ops):
            yield Step(STAT, lambda: self.target.stat(self.home))

    def teardown(self) -> None:
        return None

    def teardown_shared(self) -> None:
        return None
