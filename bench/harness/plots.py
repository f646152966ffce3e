"""PNG plots of a run (matplotlib, Agg backend: no display needed).

- throughput vs clients: one panel per workload phase, the phase's total ops/s (MB/s for data
  phases) against the client count, one line per target, the local-disk baseline dashed (a log
  axis when the lines are more than LOG_SCALE_SPAN apart);
- latency CDF: one panel per workload phase at the largest client count measured, the fraction of
  calls at or below each latency (log scale), one line per target, from the merged histograms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.harness.histogram import LatencyHistogram
from bench.harness.results import ALL_OPERATIONS

PANEL_COLUMNS_MAX = 3
PANEL_SIZE_INCHES = (5.0, 3.6)
DPI = 100
LOG_SCALE_SPAN = 20.0


def write_plots(rows: list[dict[str, Any]], prefix: Path) -> list[Path]:
    """Both figures from `result_rows` rows, as PREFIX-throughput.png and PREFIX-latency.png."""
    totals = [row for row in rows if row["operation"] == ALL_OPERATIONS]
    if not totals:
        return []
    import matplotlib

    matplotlib.use("Agg")
    panels = list(dict.fromkeys((row["workload"], row["phase"]) for row in totals))
    paths = [
        _figure(panels, totals, Path(f"{prefix}-throughput.png"), _throughput_panel),
        _figure(panels, totals, Path(f"{prefix}-latency.png"), _latency_panel),
    ]
    return paths


def _figure(panels: list[tuple[str, str]], rows: list[dict[str, Any]], path: Path, draw: Any) -> Path:
    import matplotlib.pyplot as pyplot

    columns = min(PANEL_COLUMNS_MAX, len(panels))
    lines = -(-len(panels) // columns)
    figure, axes = pyplot.subplots(
        lines,
        columns,
        figsize=(PANEL_SIZE_INCHES[0] * columns, PANEL_SIZE_INCHES[1] * lines),
        squeeze=False,
    )
    for index, (workload, phase) in enumerate(panels):
        axis = axes[index // columns][index % columns]
        draw(axis, [row for row in rows if (row["workload"], row["phase"]) == (workload, phase)])
        axis.set_title(f"{workload}: {phase}", fontsize=10)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7)
    for index in range(len(panels), lines * columns):
        axes[index // columns][index % columns].set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    pyplot.close(figure)
    return path


def _throughput_panel(axis: Any, rows: list[dict[str, Any]]) -> None:
    data = any(row["mb_per_s"] for row in rows)
    plotted: list[float] = []
    for target in dict.fromkeys(row["target"] for row in rows):
        mine = sorted((row for row in rows if row["target"] == target), key=lambda row: row["clients"])
        values = [(row["mb_per_s"] or 0.0) if data else row["ops_per_s"] for row in mine]
        plotted += values
        style = "--" if mine[0]["baseline"] else "-"
        label = f"{target} (baseline)" if mine[0]["baseline"] else target
        axis.plot([row["clients"] for row in mine], values, style, marker="o", label=label)
    axis.set_xticks(sorted({row["clients"] for row in rows}))
    axis.set_xlabel("client processes")
    axis.set_ylabel("MB/s" if data else "ops/s")
    positive = [value for value in plotted if value > 0]
    if positive and max(positive) > LOG_SCALE_SPAN * min(positive):
        axis.set_yscale("log")  # targets orders of magnitude apart: a linear axis flattens the slow one
    else:
        axis.set_ylim(bottom=0)


def _latency_panel(axis: Any, rows: list[dict[str, Any]]) -> None:
    clients = max(row["clients"] for row in rows)
    for row in rows:
        if row["clients"] != clients or not row["ops"]:
            continue
        stored = row["latency_histogram"]
        histogram = LatencyHistogram.from_pairs(
            stored["buckets"], stored["total_ns"], stored["minimum_ns"], stored["maximum_ns"]
        )
        points = list(histogram.cumulative())
        style = "--" if row["baseline"] else "-"
        label = f"{row['target']} (baseline)" if row["baseline"] else row["target"]
        axis.step(
            [ns / 1000 for ns, _ in points], [share for _, share in points], style, where="post", label=label
        )
    axis.set_xscale("log")
    axis.set_xlabel(f"latency µs ({clients} clients, all operations)")
    axis.set_ylabel("fraction of calls")
    axis.set_ylim(0, 1.01)
