"""The CDC service's Prometheus text at /metrics: lag (seconds and events), throughput, positions.

`hopsfs_cdc_lag_seconds` / `hopsfs_cdc_lag_events`: committed changes the service has not captured
yet (the age of the oldest; how many). Sinks report how far behind the log they are. The HTTP side is
as small as the namenode's (GET /metrics, one response per connection); Prometheus and curl are its
clients.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "hopsfs_cdc_"
# name (after PREFIX) -> (Prometheus type, help text)
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "lag_seconds": ("gauge", "Age of the oldest committed change not captured yet."),
    "lag_events": ("gauge", "Committed changes not captured yet (MySQL family: approximate)."),
    "events_captured_total": ("counter", "Events appended to the durable log."),
    "events_delivered_total": ("counter", "Events sent to subscribers."),
    "subscribers": ("gauge", "Open subscriptions."),
    "out_of_range_total": (
        "counter",
        "Subscriptions refused or ended because retention removed their events.",
    ),
    "log_first_position": ("gauge", "Oldest retained position."),
    "log_last_position": ("gauge", "Newest position."),
    "events_removed_total": ("counter", "Events removed by retention."),
    "change_log_rows_trimmed_total": (
        "counter",
        "Captured rows deleted from the metadata store's change_log.",
    ),
    "logical_time_regressions_total": ("counter", "An inode's logical time went back: order broken (a bug)."),
    "logical_time_gaps_total": ("counter", "An inode's logical time jumped: a change missing (a bug)."),
    "unresolved_paths_total": ("counter", "Events whose directory was not in the path map (a bug)."),
    "sink_position": ("gauge", "Last position a sink applied and committed."),
    "sink_lag_events": ("gauge", "Events a sink has not applied yet."),
}


@dataclass(frozen=True, slots=True)
class Metric:
    name: str  # a key of DESCRIPTIONS
    value: float
    labels: tuple[tuple[str, str], ...] = ()


def render(metrics: list[Metric]) -> str:
    lines: list[str] = []
    described: set[str] = set()
    for metric in metrics:
        kind, help_text = DESCRIPTIONS[metric.name]
        name = PREFIX + metric.name
        if name not in described:
            described.add(name)
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
        labels = ",".join(f'{key}="{value}"' for key, value in metric.labels)
        shown = f"{name}{{{labels}}}" if labels else name
        lines.append(f"{shown} {metric.value:g}")
    return "\n".join(lines) + "\n"
