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

DATANODE_READY_PREFIX = "hopsfs datanode: serving DataTransferProtocol on "
DATANODE_METRICS_PREFIX = "hopsfs datanode metrics on "
# Groups: host, port, datanode uuid.
DATANODE_READY = re.compile(
    re.escape(DATANODE_READY_PREFIX) + r"([^\s:]+|\[[^\]]+\]):(\d+) \(uuid ([0-9a-f-]+)\)"
)
# Group: the /metrics URL.
DATANODE_METRICS = re.compile(re.escape(DATANODE_METRICS_PREFIX) + r"(http://\S+/metrics)")
NAMENODE_DATANODE_SERVICE_PREFIX = "hopsfs namenode datanode service on "
# Groups: host, port of the gRPC service datanodes register and report to.
NAMENODE_DATANODE_SERVICE = re.compile(
    re.escape(NAMENODE_DATANODE_SERVICE_PREFIX) + r"([^\s:]+|\[[^\]]+\]):(\d+)"
)


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


def namenode_datanode_service_line(host: str, port: int) -> str:
    return f"{NAMENODE_DATANODE_SERVICE_PREFIX}{url_host(host)}:{port}"


def last_match(pattern: re.Pattern[str], output_lines: Iterable[str]) -> re.Match[str] | None:
    """The last line of a server's output that `pattern` finds, as its match."""
    found = None
    for line in output_lines:
        match = pattern.search(line)
        if match:
            found = match
    return found


def datanode_ready_line(host: str, port: int, datanode_uuid: str) -> str:
    return f"{DATANODE_READY_PREFIX}{url_host(host)}:{port} (uuid {datanode_uuid})"


def datanode_metrics_line(host: str, port: int) -> str:
    return f"{DATANODE_METRICS_PREFIX}http://{url_host(host)}:{port}/metrics"


def last_metrics_url(output_lines: Iterable[str]) -> str | None:
    """The /metrics URL a server announced last in its output, if any."""
    match = last_match(NAMENODE_METRICS, output_lines)
    return match.group(1) if match else None


# ---- the CDC service (`hopsfs cdc`, cdc/service/process.py) -------------------------------------
CDC_READY_PREFIX = "hopsfs cdc serving "
CDC_METRICS_PREFIX = "hopsfs cdc metrics on "
# Groups: host, port, pid. Subscribers connect to HOST:PORT (gRPC).
CDC_READY = re.compile(re.escape(CDC_READY_PREFIX) + r"grpc://([^\s:]+|\[[^\]]+\]):(\d+) \(pid (\d+)\)")
# Group: the /metrics URL.
CDC_METRICS = re.compile(re.escape(CDC_METRICS_PREFIX) + r"(http://\S+/metrics)")


def cdc_ready_line(host: str, port: int, pid: int) -> str:
    return f"{CDC_READY_PREFIX}grpc://{url_host(host)}:{port} (pid {pid})"


def cdc_metrics_line(host: str, port: int) -> str:
    return f"{CDC_METRICS_PREFIX}http://{url_host(host)}:{port}/metrics"
