"""`hopsfs bench [options]`: the benchmark harness (`python -m bench harness`).

With no options it starts a throwaway cluster, runs the short default suite (Spotify mix, mdtest
phases, small and big files, beside the local-disk baseline) and prints the table and the report
path. `hopsfs bench --help` lists the options. The harness lives in the `bench` package; it is
imported only when this command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

COMMAND = "bench"
HELP = "benchmark: Spotify mix, mdtest, small and big files on any target (hopsfs bench --help)"
EXIT_FAILURE = 1


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """List the command in `hopsfs --help`; `main` below runs it (its options are the harness's own)."""
    commands.add_parser(COMMAND, help=HELP, add_help=False)


def main(argv: Sequence[str]) -> int:
    try:
        from bench.harness.__main__ import main as harness_main
    except ImportError as error:  # an install without the bench package
        print(f"hopsfs bench: the benchmark harness is not installed ({error})", file=sys.stderr)
        return EXIT_FAILURE
    return harness_main(list(argv), prog=f"hopsfs {COMMAND}")
