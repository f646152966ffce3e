"""`python -m bench engine [options]` runs `python -m bench.engine [options]`."""

from __future__ import annotations

import sys

BENCHMARKS = ("engine",)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        choices = ",".join(BENCHMARKS)
        print(f"usage: python -m bench {{{choices}}} [options]  (see python -m bench.engine --help)")
        return 2
    from bench.engine.__main__ import main as engine_main

    return engine_main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
