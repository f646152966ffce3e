"""`python -m bench NAME [options]` runs `python -m bench.NAME [options]` (engine, rpc, crc32c, storage,
harness, datanode, cdc)."""

from __future__ import annotations

import sys

BENCHMARKS = ("engine", "rpc", "crc32c", "storage", "harness", "datanode", "cdc")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHMARKS:
        choices = ",".join(BENCHMARKS)
        print(f"usage: python -m bench {{{choices}}} [options]  (see python -m bench.NAME --help)")
        return 2
    if argv[0] == "cdc":
        from bench.cdc.__main__ import main as cdc_main

        return cdc_main(argv[1:])
    if argv[0] == "harness":
        from bench.harness.__main__ import main as harness_main

        return harness_main(argv[1:])
    if argv[0] == "datanode":
        from bench.datanode.__main__ import main as datanode_main

        return datanode_main(argv[1:])
    if argv[0] == "rpc":
        from bench.rpc.__main__ import main as rpc_main

        return rpc_main(argv[1:])
    if argv[0] == "storage":
        from bench.storage.__main__ import main as storage_main

        return storage_main(argv[1:])
    if argv[0] == "crc32c":
        from bench.crc32c.__main__ import main as crc32c_main

        return crc32c_main(argv[1:])
    from bench.engine.__main__ import main as engine_main

    return engine_main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
