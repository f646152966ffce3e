"""The lines a hopsfs server prints once it serves, and how supervisors and tests recognize them.

One module for both sides, so the printed text and the patterns that parse it cannot drift apart:
`namenode.process` prints them, `hopsfs up` (hopsfs.cli.cluster), the benchmarks and the tests wait
for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

NAMENODE_READY_PREFIX = "hopsfs namenode serving "
NAMENODE_METRICS_PREFIX = "hopsfs namenode metrics on "
# Groups: host, port, pid.
NAMENODE_READY = re.compile(
    re.escape(NAMENODE_READY_PREFIX) + r"hopsfs://([^\s:]+|\[[^\]]+\]):(\d+) \(pid (\d+)\)"
)
# Group: the /metrics URL.
NAMENODE_METRICS = re.compile(re.escape(NAMENODE_METRICS_PREFIX) + r"(http://\S+/metrics)")


def url_host(host: str) -> str:
    """The host to put in a URL for a server bound to `host`: a wildcard address is reached on
    127.0.0.1, an IPv6 address goes in brackets."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def namenode_ready_line(host: str, port: int, pid: int) -> str:
    return f"{NAMENODE_READY_PREFIX}hopsfs://{url_host(host)}:{port} (pid {pid})"


def namenode_metrics_line(host: str, port: int) -> str:
    return f"{NAMENODE_METRICS_PREFIX}http://{url_host(host)}:{port}/metrics"


def last_metrics_url(output_lines: Iterable[str]) -> str | None:
    """The /metrics URL a namenode announced last in its output, if any."""
    found = None
    for line in output_lines:
        match = NAMENODE_METRICS.search(line)
        if match:
            found = match.group(1)
    return found
