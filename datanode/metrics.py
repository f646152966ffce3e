"""The datanode's counters and their Prometheus text, served over HTTP at /metrics.

Counters are bumped from the event loop and from pool threads (reads stream from threads), so they
sit behind one lock; gauges (transfers, replicas, volumes) are read when /metrics is asked for.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

from datanode.storage.volume import VolumeCapacity


class DatanodeMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters = Counter[str]()
        self._ops = Counter[str]()  # finished operations by opcode name
        self._errors = Counter[tuple[str, str]]()  # (opcode name, status name)

    def add(self, name: str, amount: int = 1) -> None:
        """Bump counter `name`: bytes_read, bytes_written, protocol_errors, connections_refused, ..."""
        with self._lock:
            self._counters[name] += amount

    def operation_finished(self, opcode: str, status: str | None) -> None:
        """One operation done; `status` names the error status it was answered with, if any."""
        with self._lock:
            self._ops[opcode] += 1
            if status is not None:
                self._errors[(opcode, status)] += 1

    def counter(self, name: str) -> int:
        with self._lock:
            return self._counters[name]

    def render(self, gauges: dict[str, float], volumes: Iterable[VolumeCapacity]) -> str:
        with self._lock:
            counters = dict(self._counters)
            ops = dict(self._ops)
            errors = dict(self._errors)
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")

        family("hopsfs_datanode_ops_total", "counter", "DataTransferProtocol operations finished, by op.")
        for opcode, count in sorted(ops.items()):
            lines.append(f'hopsfs_datanode_ops_total{{op="{opcode}"}} {count}')
        family("hopsfs_datanode_op_errors_total", "counter", "Operations answered with an error status.")
        for (opcode, status), count in sorted(errors.items()):
            lines.append(f'hopsfs_datanode_op_errors_total{{op="{opcode}",status="{status}"}} {count}')
        for name, value in sorted(counters.items()):
            family(f"hopsfs_datanode_{name}_total", "counter", name.replace("_", " ") + " since start.")
            lines.append(f"hopsfs_datanode_{name}_total {value}")
        for name, gauge in sorted(gauges.items()):
            family(f"hopsfs_datanode_{name}", "gauge", name.replace("_", " ") + ".")
            lines.append(f"hopsfs_datanode_{name} {gauge:g}")
        _render_volumes(lines, volumes)
        return "\n".join(lines) + "\n"


def _render_volumes(lines: list[str], volumes: Iterable[VolumeCapacity]) -> None:
    rows = list(volumes)
    for field in ("total_bytes", "used_bytes", "reserved_bytes", "available_bytes"):
        name = f"hopsfs_datanode_volume_{field}"
        lines.append(f"# HELP {name} Volume {field.replace('_', ' ')}.")
        lines.append(f"# TYPE {name} gauge")
        for capacity in rows:
            lines.append(f'{name}{{volume="{capacity.volume_id}"}} {getattr(capacity, field)}')
