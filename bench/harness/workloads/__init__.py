"""The workloads, by the name the command line uses: spotify, mdtest, small-files, big-files."""

from __future__ import annotations

from bench.harness.workloads.base import (
    NAMESPACE_MODES,
    PRIVATE,
    SHARED,
    ClientContext,
    Step,
    Workload,
    WorkloadSettings,
)
from bench.harness.workloads.data import BigFilesWorkload, SmallFilesWorkload
from bench.harness.workloads.mdtest import MdtestWorkload
from bench.harness.workloads.spotify import SpotifyWorkload

WORKLOADS: dict[str, type[Workload]] = {
    workload.name: workload
    for workload in (SpotifyWorkload, MdtestWorkload, SmallFilesWorkload, BigFilesWorkload)
}

__all__ = [
    "NAMESPACE_MODES",
    "PRIVATE",
    "SHARED",
    "WORKLOADS",
    "ClientContext",
    "Step",
    "Workload",
    "WorkloadSettings",
]
