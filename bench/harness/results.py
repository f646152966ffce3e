"""What a run measures: per-operation tallies in each client process, merged per phase across them.

A client keeps one `OperationTally` per operation of a phase: a latency histogram of the successful
calls, and counts of errors (with a few messages), unsupported calls (with the target's reason) and
skipped steps. The coordinator merges the clients' tallies into one `PhaseResult`, whose elapsed
time runs from the phase's common start to the last client's last call, so throughput is the whole
group's: operations of every client / elapsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.harness.histogram import LatencyHistogram
from bench.harness.targets import TargetSpec
from hopsfs.invariants import check

ERROR_SAMPLES_MAX = 5
ERROR_TEXT_MAX = 300
ALL_OPERATIONS = "all"
OK = "ok"
SKIPPED = "skipped"
FAILED = "failed"


@dataclass(slots=True)
class OperationTally:
    operation: str
    histogram: LatencyHistogram = field(default_factory=LatencyHistogram)
    errors: int = 0
    unsupported: int = 0
    skipped: int = 0
    payload_bytes: int = 0
    error_samples: list[str] = field(default_factory=list)
    unsupported_reason: str | None = None

    @property
    def ops(self) -> int:
        """Successful calls (the ones timed)."""
        return self.histogram.count

    @property
    def attempts(self) -> int:
        """Every step drawn: what an operation mix's shares are shares of."""
        return self.ops + self.errors + self.unsupported + self.skipped

    def record_error(self, error: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES_MAX:
            self.error_samples.append(f"{type(error).__name__}: {error}"[:ERROR_TEXT_MAX])

    def record_unsupported(self, reason: str) -> None:
        self.unsupported += 1
        self.unsupported_reason = reason

    def merge(self, other: OperationTally) -> None:
        check(other.operation == self.operation, "tallies of one operation merge")
        self.absorb(other)

    def absorb(self, other: OperationTally) -> None:
        """Add `other`'s counts, whatever its operation (a phase's total)."""
        self.histogram.merge(other.histogram)
        self.errors += other.errors
        self.unsupported += other.unsupported
        self.skipped += other.skipped
        self.payload_bytes += other.payload_bytes
        room = ERROR_SAMPLES_MAX - len(self.error_samples)
        self.error_samples.extend(other.error_samples[: max(0, room)])
        self.unsupported_reason = self.unsupported_reason or other.unsupported_reason


@dataclass(slots=True)
class PhaseOutcome:
    """One client's phase."""

    phase: str
    tallies: dict[str, OperationTally]
    finished_ns: int  # time.monotonic_ns() after its last call
    truncated: bool = False  # a phase meant to run to completion hit its time limit


@dataclass(slots=True)
class PhaseResult:
    """A phase of every client of one configuration, merged."""

    phase: str
    elapsed_s: float
    tallies: dict[str, OperationTally]
    truncated: bool
    expected_shares: dict[str, float] | None = None  # an operation mix's weights, as fractions

    def total(self) -> OperationTally:
        """Every operation of the phase as one tally (operation ALL_OPERATIONS)."""
        total = OperationTally(ALL_OPERATIONS)
        for tally in self.tallies.values():
            total.absorb(tally)
        return total

    def ops_per_s(self, tally: OperationTally) -> float:
        return tally.ops / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(slots=True)
class ConfigurationResult:
    """One workload on one target with one client count."""

    target: TargetSpec
    baseline: bool
    workload: str
    clients: int
    status: str = OK
    reason: str | None = None  # why it was skipped or failed
    phases: list[PhaseResult] = field(default_factory=list)
    load_average_1m: float | None = None  # the machine's, when the configuration ended (other tenants)


def merge_outcomes(
    phase: str,
    start_ns: int,
    outcomes: list[PhaseOutcome],
    expected_shares: dict[str, float] | None = None,
) -> PhaseResult:
    """The clients' outcomes of one phase, started together at `start_ns`, as one result."""
    check(len(outcomes) > 0, "a phase has at least one client")
    check(all(outcome.phase == phase for outcome in outcomes), "outcomes of one phase merge")
    tallies: dict[str, OperationTally] = {}
    for outcome in outcomes:
        for name, tally in outcome.tallies.items():
            tallies.setdefault(name, OperationTally(name)).merge(tally)
    finished_ns = max(outcome.finished_ns for outcome in outcomes)
    return PhaseResult(
        phase=phase,
        elapsed_s=max(0.0, (finished_ns - start_ns) / 1e9),
        tallies=tallies,
        truncated=any(outcome.truncated for outcome in outcomes),
        expected_shares=expected_shares,
    )
