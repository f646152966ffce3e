"""The suite: every workload, at every client count, on the local-disk baseline and then on each
target, one configuration at a time, with the same workload definition and settings everywhere.

The baseline (a temporary directory through `os`) runs right before the targets at each client
count, so each ratio compares two runs minutes apart at most on the same machine. A configuration
is skipped, with the reason, when the target lacks a capability the workload needs (the target says
which) or when the namespace is shared but the target's clients cannot see each other (memory://);
the baseline of a workload no target runs is skipped too. A configuration whose clients fail is
recorded as failed with the client's error, and the suite goes on with fresh client processes.

Everything runs under BASE/RUN_NAME on each target (one directory per configuration below it),
which the coordinator removes at the end unless asked to keep it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bench.harness.errors import HarnessError
from bench.harness.pool import ClientPool
from bench.harness.results import FAILED, OK, SKIPPED, ConfigurationResult, merge_outcomes
from bench.harness.targets import Target, TargetSpec, join_path, open_target
from bench.harness.worker import ClientTask
from bench.harness.workloads import SHARED, WORKLOADS, WorkloadSettings
from hopsfs.invariants import check


@dataclass(frozen=True, slots=True)
class SuitePlan:
    targets: tuple[TargetSpec, ...]
    baseline: TargetSpec
    workloads: tuple[str, ...]
    client_counts: tuple[int, ...]
    settings: WorkloadSettings
    run_name: str
    keep: bool = False

    def __post_init__(self) -> None:
        check(len(self.targets) > 0, "a suite has a target")
        check(all(name in WORKLOADS for name in self.workloads), "every workload is known")
        check(all(count >= 1 for count in self.client_counts), "client counts are positive")


def run_name() -> str:
    """A directory name no other run uses: time and process id."""
    return f"hopsfs-bench-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def run_suite(
    plan: SuitePlan,
    on_result: Callable[[ConfigurationResult], None],
    log: Callable[[str], None] = print,
) -> list[ConfigurationResult]:
    """Run every configuration of `plan`; each result goes to `on_result` as soon as it exists."""
    results: list[ConfigurationResult] = []
    with _opened_targets([plan.baseline, *plan.targets], plan, log) as opened:
        pool: ClientPool | None = None
        try:
            for workload in plan.workloads:
                for clients in plan.client_counts:
                    for spec in (plan.baseline, *plan.targets):
                        if pool is None:
                            pool = ClientPool(max(plan.client_counts))
                        result = _run_configuration(pool, spec, opened, workload, clients, plan)
                        if result.status == FAILED:
                            pool.close()
                            pool = None
                        log(_progress_line(result))
                        on_result(result)
                        results.append(result)
        finally:
            if pool is not None:
                pool.close()
    return results


def skip_reason(spec: TargetSpec, target: Target, workload: str, settings: WorkloadSettings) -> str | None:
    """Why `workload` cannot run on this target, or None."""
    missing = sorted(WORKLOADS[workload].requirements(settings) - target.capabilities)
    if missing:
        return "; ".join(target.missing(capability) for capability in missing)
    if settings.namespace == SHARED and not spec.shared_between_processes:
        return f"{spec.url} is private to each process: its clients cannot share a namespace"
    return None


def _run_configuration(
    pool: ClientPool,
    spec: TargetSpec,
    opened: dict[TargetSpec, Target],
    workload: str,
    clients: int,
    plan: SuitePlan,
) -> ConfigurationResult:
    baseline = spec == plan.baseline
    result = ConfigurationResult(spec, baseline, workload, clients)
    reason = _configuration_skip_reason(spec, opened, workload, plan)
    if reason is not None:
        result.status, result.reason = SKIPPED, reason
        return result
    workload_class = WORKLOADS[workload]
    shared = plan.settings.namespace == SHARED
    root = join_path(spec.base_path, plan.run_name, f"{workload}-{clients}c")
    tasks = [
        ClientTask(spec, workload, plan.settings, root, client, clients, shared and client == 0)
        for client in range(clients)
    ]
    try:
        pool.prepare(tasks)
        for phase in workload_class.phases:
            timed = phase in workload_class.timed_phases
            limit_s = plan.settings.duration_s if timed else plan.settings.phase_timeout_s
            start_ns, outcomes = pool.run_phase(clients, phase, limit_s)
            shares = workload_class.expected_shares(phase)
            result.phases.append(merge_outcomes(phase, start_ns, outcomes, shares))
        pool.finish(clients, shared)
    except HarnessError as error:
        result.status, result.reason = FAILED, str(error)
    result.load_average_1m = round(os.getloadavg()[0], 2)
    return result


def _configuration_skip_reason(
    spec: TargetSpec, opened: dict[TargetSpec, Target], workload: str, plan: SuitePlan
) -> str | None:
    if spec != plan.baseline:
        return skip_reason(spec, opened[spec], workload, plan.settings)
    # The baseline only runs for a workload some target runs.
    runs = [
        target
        for target in plan.targets
        if skip_reason(target, opened[target], workload, plan.settings) is None
    ]
    return None if runs else "no target runs this workload"


@contextlib.contextmanager
def _opened_targets(
    specs: list[TargetSpec], plan: SuitePlan, log: Callable[[str], None]
) -> Iterator[dict[TargetSpec, Target]]:
    """Each target opened in this process: its capabilities, a first call that fails early and
    clearly when it is unreachable, and the final clean-up of the run's directory."""
    opened: dict[TargetSpec, Target] = {}
    try:
        for spec in dict.fromkeys(specs):
            target = opened[spec] = open_target(spec)
            try:
                target.mkdirs(join_path(spec.base_path, plan.run_name))
            except Exception as error:
                raise HarnessError(f"{spec.label}: cannot create the run directory ({error})") from error
        yield opened
    finally:
        for spec, target in opened.items():
            run_directory = join_path(spec.base_path, plan.run_name)
            try:
                if not plan.keep:
                    target.delete(run_directory, recursive=True)
            except FileNotFoundError:
                pass  # memory:// lives per process: this one may hold nothing to remove
            except Exception as error:  # a failed clean-up must not hide the run's own outcome
                log(f"{spec.label}: could not remove {run_directory}: {error}")
            finally:
                target.close()


def _progress_line(result: ConfigurationResult) -> str:
    head = f"{result.target.label}: {result.workload}, {result.clients} client(s)"
    if result.status != OK:
        return f"{head}: {result.status} ({result.reason})"
    parts = []
    for phase in result.phases:
        total = phase.total()
        parts.append(f"{phase.phase} {phase.ops_per_s(total):,.0f} ops/s")
    return f"{head}: " + ", ".join(parts)
