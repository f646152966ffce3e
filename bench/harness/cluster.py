"""A throwaway hopsfs cluster for `hopsfs bench` with no target: `hopsfs up`'s launcher
(`hopsfs.cli.cluster.LocalCluster`) on a temporary data directory with the embedded SQLite store.

The store is formatted with `hopsfs format` in a child process (superuser: the current user, whom
the benchmark's clients act as), then the namenodes start on one free port (SO_REUSEPORT when more
than one). Datanodes join through LocalCluster when it starts them. Everything is stopped and the
directory removed on exit.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness.errors import HarnessError
from hopsfs.cli.cluster import ClusterError, ClusterOptions, LocalCluster

FORMAT_TIMEOUT_S = 120.0


@contextmanager
def local_cluster(namenodes: int, parent_directory: Path | None = None) -> Iterator[str]:
    """A running cluster's hopsfs:// URL for the duration of the block."""
    if namenodes < 1:
        raise HarnessError("a cluster needs at least one namenode")
    with tempfile.TemporaryDirectory(prefix="hopsfs-bench-cluster-", dir=parent_directory) as temporary:
        data_directory = Path(temporary)
        metadata_url = f"sqlite:///{data_directory / 'metadata.db'}"
        format_store(metadata_url, data_directory)
        cluster = LocalCluster(
            ClusterOptions(data_dir=data_directory, metadata_url=metadata_url, port=0, namenodes=namenodes)
        )
        try:
            try:
                url = cluster.start()
            except ClusterError as error:
                raise HarnessError(f"the benchmark cluster did not start: {error}") from error
            yield url
        finally:
            cluster.stop()


def format_store(metadata_url: str, data_directory: Path) -> None:
    command = [sys.executable, "-m", "hopsfs.cli.main", "format", "--metadata-url", metadata_url]
    completed = subprocess.run(
        [*command, "--data-dir", str(data_directory)],
        capture_output=True,
        text=True,
        timeout=FORMAT_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        raise HarnessError(
            f"formatting {metadata_url} failed: {completed.stderr.strip() or completed.stdout}"
        )
