"""`python -m bench NAME [options]` runs `python -m bench.NAME [options]` (engine, rpc, crc32c, storage,
harness, datanode, dataio, cdc)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("engine", "rpc", "crc32c", "storage", "harness", "datanode", "dataio", "cdc")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        choices = ",".join(BENCHMARKS)
        print(f"usage: python -m bench {{{choices}}} [options]  (see python -m bench.NAME --help)")
        return 2
    module = importlib.import_module(f"bench.{argv[0]}.__main__")
    result: int = module.main(argv[1:])
    return result


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
