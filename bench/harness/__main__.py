"""Command line: `python -m bench harness [options]`, also `hopsfs bench [options]`.

With no --target it starts a hopsfs cluster of its own (`hopsfs up`'s launcher, a temporary SQLite
store) and runs the short default suite against it, well under a minute. Every run also measures
the local-disk baseline (a temporary directory through `os`), and writes into --out:
harness-TIME.jsonl (machine, settings, configurations, one row per operation), harness-TIME.md (the
report) and harness-TIME-throughput.png / -latency.png. It prints the phase totals and the paths.

Exit status: 0 when every configuration ran (or was skipped, with its reason) without an error;
1 when one failed or an operation returned an error or a wrong answer (the report says which).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.harness.cluster import local_cluster
from bench.harness.distributions import FILE_SIZE_DISTRIBUTIONS
from bench.harness.environment import environment_record
from bench.harness.errors import HarnessError
from bench.harness.namespace import NamespaceShape
from bench.harness.plots import write_plots
from bench.harness.report import (
    configuration_records,
    render_markdown,
    result_rows,
    summary_lines,
    write_json_lines,
)
from bench.harness.results import FAILED, ConfigurationResult
from bench.harness.runner import SuitePlan, run_name, run_suite
from bench.harness.targets import LOCAL, TargetSpec, local_spec, parse_target
from bench.harness.workloads import NAMESPACE_MODES, PRIVATE, WORKLOADS, WorkloadSettings

PROG = "python -m bench harness"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results"
DEFAULT_WORKLOADS = ",".join(WORKLOADS)
DEFAULT_CLIENTS = "1,2"
DEFAULT_NAMENODES = 2  # as `hopsfs up`
SIZE_UNITS = {"": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 10**6, "mb": 10**6, "mib": 2**20}
SIZE_UNITS |= {"g": 10**9, "gb": 10**9, "gib": 2**30}
SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


def parse_arguments(argv: list[str], prog: str = PROG) -> argparse.Namespace:
    defaults = WorkloadSettings()
    shape = defaults.shape
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Spotify mix, mdtest phases, small and big files on hopsfs, any fsspec URL or any "
        "directory, beside the local-disk baseline.",
    )
    add = parser.add_argument
    add(
        "--target",
        action="append",
        default=[],
        help="hopsfs://[user@]host:port[/base], an fsspec URL (memory://, file:///dir, hdfs://host:port) "
        "or a directory; repeat for several (default: a hopsfs cluster started for the run)",
    )
    add("--workloads", default=DEFAULT_WORKLOADS, help=f"comma-separated, of {DEFAULT_WORKLOADS}")
    add("--clients", default=DEFAULT_CLIENTS, help=f"client process counts (default {DEFAULT_CLIENTS})")
    add("--duration", type=float, default=defaults.duration_s, help="seconds of each timed phase (the mix)")
    add("--ops", type=int, default=None, help="end each timed phase after this many operations per client")
    add("--warmup-ops", type=int, default=defaults.warmup_ops, help="untimed operations per client first")
    add("--namespace", choices=NAMESPACE_MODES, default=PRIVATE, help="a subtree per client, or one shared")
    add("--dirs-per-dir", type=int, default=shape.directories_per_directory, help="spotify tree fan-out")
    add("--files-per-dir", type=int, default=shape.files_per_directory, help="spotify files per directory")
    add("--depth", type=int, default=shape.depth, help="spotify tree depth below each client's root")
    add("--file-sizes", choices=sorted(FILE_SIZE_DISTRIBUTIONS), default=defaults.file_sizes)
    add("--mdtest-files", type=int, default=defaults.mdtest_files, help="mdtest files per client")
    add("--mdtest-dirs", type=int, default=defaults.mdtest_directories, help="mdtest directories")
    add("--small-files", type=int, default=defaults.small_files, help="small files per client (4-64 KiB)")
    add("--big-file-size", default="16MiB", help="big-files: bytes per client (e.g. 1GiB)")
    add("--chunk-size", default="1MiB", help="big-files: bytes per write or read call")
    add("--seed", type=int, default=defaults.seed)
    add("--baseline-dir", type=Path, default=None, help="where the local-disk baseline runs (a temp dir)")
    add("--namenodes", type=int, default=DEFAULT_NAMENODES, help="namenodes of a cluster the run starts")
    add("--out", type=Path, default=DEFAULT_OUT, help="directory for the .jsonl, .md and .png results")
    add("--no-plots", action="store_true", help="write no PNG plots")
    add("--keep", action="store_true", help="leave the run's files on the targets")
    return parser.parse_args(argv)


def parse_size(text: str) -> int:
    """Bytes from '16MiB', '1GiB', '4096', '64k'."""
    match = SIZE_PATTERN.match(text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in SIZE_UNITS:
        raise HarnessError(f"not a size: {text!r} (e.g. 4096, 64KiB, 16MiB, 1GiB)")
    return int(match.group(1)) * SIZE_UNITS[unit]


def settings_from(arguments: argparse.Namespace) -> WorkloadSettings:
    """The workload settings the options name (checked by `_checked_settings` first)."""
    return WorkloadSettings(
        namespace=arguments.namespace,
        shape=NamespaceShape(arguments.dirs_per_dir, arguments.files_per_dir, arguments.depth),
        file_sizes=arguments.file_sizes,
        duration_s=arguments.duration,
        ops_per_client=arguments.ops,
        warmup_ops=arguments.warmup_ops,
        mdtest_files=arguments.mdtest_files,
        mdtest_directories=arguments.mdtest_dirs,
        small_files=arguments.small_files,
        big_file_bytes=parse_size(arguments.big_file_size),
        chunk_bytes=parse_size(arguments.chunk_size),
        seed=arguments.seed,
    )


def _words(text: str) -> list[str]:
    return [word.strip() for word in text.split(",") if word.strip()]


def _workloads(text: str) -> tuple[str, ...]:
    names = tuple(_words(text))
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or not names:
        raise HarnessError(f"unknown workload(s) {unknown}: use {', '.join(WORKLOADS)}")
    return names


def _client_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(sorted({int(word) for word in _words(text)}))
    except ValueError as error:
        raise HarnessError(f"--clients takes numbers: {text!r}") from error
    if not counts or counts[0] < 1:
        raise HarnessError("--clients takes positive counts")
    return counts


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv, prog)
    try:
        return _run(arguments)
    except HarnessError as error:
        print(f"bench harness: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # clients, cluster and run directories were cleaned up on the way out
        return EXIT_INTERRUPTED


def _run(arguments: argparse.Namespace) -> int:
    workloads = _workloads(arguments.workloads)
    client_counts = _client_counts(arguments.clients)
    settings = _checked_settings(arguments)
    targets = [parse_target(text) for text in arguments.target]
    baseline_parent = (arguments.baseline_dir or Path(tempfile.gettempdir())).resolve()
    arguments.out.mkdir(parents=True, exist_ok=True)
    prefix = arguments.out / f"harness-{time.strftime('%Y%m%d-%H%M%S')}"
    with ExitStack() as stack:
        if not targets:
            print(f"bench harness: starting a hopsfs cluster ({arguments.namenodes} namenode(s), SQLite)")
            url = stack.enter_context(local_cluster(arguments.namenodes))
            namenodes = f"{arguments.namenodes} namenode{'s' if arguments.namenodes > 1 else ''}"
            targets = [parse_target(url, label=f"hopsfs ({namenodes})")]
        baseline_directory = Path(
            stack.enter_context(
                tempfile.TemporaryDirectory(prefix="hopsfs-bench-local-", dir=baseline_parent)
            )
        )
        baseline = local_spec(baseline_directory, "local disk")
        plan = SuitePlan(
            tuple(targets), baseline, workloads, client_counts, settings, run_name(), arguments.keep
        )
        machine = environment_record([str(baseline_parent), *_local_paths(targets)])
        header = [machine, _settings_record(plan, arguments)]
        results: list[ConfigurationResult] = []

        def record(result: ConfigurationResult) -> None:
            results.append(result)
            _write_outputs(prefix, header, results, [])  # a run cut short still leaves its results

        run_suite(plan, record)
    plots = [] if arguments.no_plots else _plots(result_rows(results), prefix)
    markdown_path = _write_outputs(prefix, header, results, [path.name for path in plots])
    print("\n".join(summary_lines(results)))
    print(f"report: {markdown_path}")
    for path in [Path(f"{prefix}.jsonl"), *plots]:
        print(f"        {path}")
    return _exit_status(results)


def _plots(rows: list[dict[str, Any]], prefix: Path) -> list[Path]:
    try:
        return write_plots(rows, prefix)
    except ImportError as error:  # plotting is optional: the `bench` extra installs matplotlib
        print(f"bench harness: no plots ({error}); pip install 'hopsfs[bench]' for them")
        return []


def _checked_settings(arguments: argparse.Namespace) -> WorkloadSettings:
    if arguments.duration <= 0 or (arguments.ops is not None and arguments.ops < 1):
        raise HarnessError("--duration must be positive and --ops at least 1")
    if min(arguments.mdtest_files, arguments.mdtest_dirs, arguments.small_files) < 1:
        raise HarnessError("--mdtest-files, --mdtest-dirs and --small-files must be at least 1")
    if min(arguments.dirs_per_dir, arguments.files_per_dir, arguments.depth, arguments.warmup_ops) < 0:
        raise HarnessError("tree shape and warm-up counts cannot be negative")
    chunk, size = parse_size(arguments.chunk_size), parse_size(arguments.big_file_size)
    if chunk < 16 or size < chunk:
        raise HarnessError("--chunk-size must be at least 16 bytes and --big-file-size at least one chunk")
    return settings_from(arguments)


def _local_paths(targets: list[TargetSpec]) -> list[str]:
    return [target.base_path for target in targets if target.kind == LOCAL]


def _settings_record(plan: SuitePlan, arguments: argparse.Namespace) -> dict[str, Any]:
    settings = asdict(plan.settings)
    return {
        "kind": "settings",
        "workloads": list(plan.workloads),
        "clients": list(plan.client_counts),
        **settings,
        "targets": [
            {"label": target.label, "kind": target.kind, "url": target.url} for target in plan.targets
        ],
        "cluster_namenodes": None if arguments.target else arguments.namenodes,
        "baseline": plan.baseline.base_path,
        "run_name": plan.run_name,
    }


def _write_outputs(
    prefix: Path, header: list[dict[str, Any]], results: list[ConfigurationResult], plot_names: list[str]
) -> Path:
    write_json_lines(
        Path(f"{prefix}.jsonl"), [*header, *configuration_records(results), *result_rows(results)]
    )
    markdown_path = Path(f"{prefix}.md")
    markdown_path.write_text(render_markdown(header[0], header[1], results, plot_names), encoding="utf-8")
    return markdown_path


def _exit_status(results: list[ConfigurationResult]) -> int:
    failed = any(result.status == FAILED for result in results)
    errors = any(
        tally.errors for result in results for phase in result.phases for tally in phase.tallies.values()
    )
    return EXIT_FAILURE if failed or errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
