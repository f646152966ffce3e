"""The namenode's counters and their Prometheus text exposition, served over HTTP at /metrics.

Counters are updated on the event loop thread only (calls start and finish there), so they need no
lock; the engine's own statistics (transactions, retries) are read as they are. The HTTP endpoint is
deliberately tiny (GET /metrics, one response per connection): Prometheus and curl are its clients.
"""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger("hopsfs.namenode.metrics")


class NamenodeMetrics:
    def __init__(self) -> None:
        self.calls_started = 0
        self.calls = Counter[str]()  # finished calls by method
        self.call_errors = Counter[tuple[str, str]]()  # (method, Java exception class)
        self.call_seconds = Counter[str]()  # summed latency by method
        self.protocol_errors = 0
        self.connections_refused = 0

    def call_finished(self, method: str, seconds: float, java_class: str | None) -> None:
        self.calls[method] += 1
        self.call_seconds[method] += seconds
        if java_class is not None:
            self.call_errors[(method, java_class)] += 1

    def render(self, gauges: dict[str, float], engine: dict[str, int]) -> str:
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")

        family("hopsfs_namenode_calls_total", "counter", "RPC calls answered, by method.")
        for method, count in sorted(self.calls.items()):
            lines.append(f'hopsfs_namenode_calls_total{{method="{method}"}} {count}')
        family(
            "hopsfs_namenode_call_seconds_total", "counter", "Time from call arrival to answer, by method."
        )
        for method, seconds in sorted(self.call_seconds.items()):
            lines.append(f'hopsfs_namenode_call_seconds_total{{method="{method}"}} {seconds:.6f}')
        family("hopsfs_namenode_call_errors_total", "counter", "Calls answered with an error, by exception.")
        for (method, java_class), count in sorted(self.call_errors.items()):
            lines.append(
                f'hopsfs_namenode_call_errors_total{{method="{method}",exception="{java_class}"}} {count}'
            )
        family(
            "hopsfs_namenode_protocol_errors_total",
            "counter",
            "Connections closed for breaking the protocol.",
        )
        lines.append(f"hopsfs_namenode_protocol_errors_total {self.protocol_errors}")
        family("hopsfs_namenode_connections_refused_total", "counter", "Connections refused at the limit.")
        lines.append(f"hopsfs_namenode_connections_refused_total {self.connections_refused}")
        for name, value in sorted(gauges.items()):
            family(f"hopsfs_namenode_{name}", "gauge", name.replace("_", " ") + ".")
            lines.append(f"hopsfs_namenode_{name} {value:g}")
        for name, value in sorted(engine.items()):
            family(f"hopsfs_engine_{name}_total", "counter", f"Engine {name} since start.")
            lines.append(f"hopsfs_engine_{name}_total {value}")
        return "\n".join(lines) + "\n"
