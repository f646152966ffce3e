"""Command line: python -m bench.crc32c [--quick] [--repeats N] [--seconds S] [--seed N]

Times every candidate of `bench.crc32c.candidates` on one 64 KiB buffer and on a 64 KiB packet's
checksum array (128 chunks of 512 bytes), best of `--repeats` windows of about `--seconds` each, and
prints a markdown table; rates are in GB/s (10**9 bytes per second) of data checksummed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.crc32c.candidates import CANDIDATES, CHECK_INPUT, HOPSFS_CANDIDATE, Candidate, CrcFunction
from hopsfs.invariants import check

PACKET_BYTES = 64 * 1024
CHUNK_BYTES = 512
CHUNKS_PER_PACKET = PACKET_BYTES // CHUNK_BYTES
REPEATS_DEFAULT = 5
SECONDS_DEFAULT = 0.2
QUICK_REPEATS = 2
QUICK_SECONDS = 0.005
# Calibration never runs a case more often than this per window, whatever the clock says.
LOOPS_PER_WINDOW_MAX = 1_000_000

check(PACKET_BYTES % CHUNK_BYTES == 0, "the packet is a whole number of chunks")

_CHECKSUM_ARRAY = struct.Struct(f">{CHUNKS_PER_PACKET}I")


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    version: str
    implementation: str
    one_call_bytes_per_s: float | None
    array_bytes_per_s: float | None
    array_us: float | None


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.crc32c", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help=f"windows per case ({REPEATS_DEFAULT})")
    parser.add_argument(
        "--seconds", type=float, default=None, help=f"length of one window ({SECONDS_DEFAULT} s)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random packet")
    parser.add_argument("--quick", action="store_true", help="a run of about a second (for smoke tests)")
    return parser.parse_args(argv)


def best_seconds_per_loop(case: Callable[[], object], repeats: int, seconds: float) -> float:
    """The fastest per-call time over `repeats` windows of about `seconds`, after calibrating the loops."""
    loops = 1
    while loops < LOOPS_PER_WINDOW_MAX:
        started = time.perf_counter()
        for _ in range(loops):
            case()
        if time.perf_counter() - started >= seconds / 4:
            break
        loops *= 2
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            case()
        best = min(best, (time.perf_counter() - started) / loops)
    check(best > 0, "a measured call takes time")
    return best


def checksum_array_case(function: CrcFunction, packet: bytes, use_memoryview: bool) -> Callable[[], bytes]:
    """What a codec does per packet: one call per chunk, results packed as big-endian 32-bit values."""
    source: bytes | memoryview = memoryview(packet) if use_memoryview else packet
    starts = range(0, len(packet), CHUNK_BYTES)

    def case() -> bytes:
        return _CHECKSUM_ARRAY.pack(*[function(source[start : start + CHUNK_BYTES]) for start in starts])

    return case


def measure(candidate: Candidate, packet: bytes, repeats: int, seconds: float) -> Row:
    version = candidate.version()
    try:
        function, implementation = candidate.load()
    except ImportError:
        return Row(candidate.label, "not installed", "-", None, None, None)
    if function(CHECK_INPUT) != candidate.check_value():
        return Row(candidate.label, version, "WRONG CHECK VALUE: not measured", None, None, None)
    one_call = best_seconds_per_loop(lambda: function(packet), repeats, seconds)
    if candidate is HOPSFS_CANDIDATE:
        array_case = _hopsfs_array_case(packet)
    else:
        array_case = checksum_array_case(function, packet, candidate.accepts_memoryview)
    array = best_seconds_per_loop(array_case, repeats, seconds)
    return Row(
        candidate.label, version, implementation, len(packet) / one_call, len(packet) / array, array * 1e6
    )


def _hopsfs_array_case(packet: bytes) -> Callable[[], bytes]:
    from hopsfs.protocol import dtp_checksum

    spec = dtp_checksum.ChecksumSpec(dtp_checksum.ChecksumType.CRC32C, CHUNK_BYTES)
    reference = checksum_array_case(dtp_checksum.crc32c_function(), packet, True)()
    check(dtp_checksum.compute_checksums(spec, packet) == reference, "the codec agrees with its package")
    return lambda: dtp_checksum.compute_checksums(spec, packet)


def render_markdown(rows: list[Row], repeats: int, seconds: float) -> str:
    lines = [
        f"CRC32C candidates on {machine_description()}; best of {repeats} windows of ~{seconds} s.",
        "",
        "| package | version | implementation | 64 KiB, one call (GB/s) "
        f"| {CHUNKS_PER_PACKET} x {CHUNK_BYTES} B checksum array (GB/s) | per 64 KiB packet (us) |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        one_call = "-" if row.one_call_bytes_per_s is None else f"{row.one_call_bytes_per_s / 1e9:.2f}"
        array = "-" if row.array_bytes_per_s is None else f"{row.array_bytes_per_s / 1e9:.2f}"
        array_us = "-" if row.array_us is None else f"{row.array_us:.1f}"
        lines.append(
            f"| {row.label} | {row.version} | {row.implementation} | {one_call} | {array} | {array_us} |"
        )
    return "\n".join(lines)


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    repeats = arguments.repeats or (QUICK_REPEATS if arguments.quick else REPEATS_DEFAULT)
    seconds = arguments.seconds or (QUICK_SECONDS if arguments.quick else SECONDS_DEFAULT)
    if repeats <= 0 or seconds <= 0:
        print("--repeats and --seconds must be positive", file=sys.stderr)
        return 2
    packet = random.Random(arguments.seed).randbytes(PACKET_BYTES)
    rows = [measure(candidate, packet, repeats, seconds) for candidate in (*CANDIDATES, HOPSFS_CANDIDATE)]
    print(render_markdown(rows, repeats, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
