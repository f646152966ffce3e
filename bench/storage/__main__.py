"""Command line: python -m bench.storage [--size-mib N] [--packet-kib N] [--directory PATH]

Writes one replica of `--size-mib` MiB through ReplicaStore (create_rbw, 64 KiB packets with their
CRC32C checksums as a client would send them, finalize), then reads it back packet by packet with and
without verification; the same bytes are written (then fsynced) and read with plain Python file I/O in
the same run and directory. Checksums are computed before the clock starts: on the wire the client
computes them. Reads come from the page cache for both sides (nothing here can drop it), so read
rates compare CPU cost rather than the disk. Prints a markdown table: MB/s (10**6 bytes per second)
and the ratio to the plain file rate.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from datanode.storage import DEFAULT_REPLICA_SPEC, ReplicaStore, StoreConfig
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import compute_checksums

SIZE_MIB_DEFAULT = 256
PACKET_KIB_DEFAULT = 64
BLOCK_POOL_ID = "BP-bench"


@dataclass(frozen=True, slots=True)
class Result:
    label: str
    seconds: float
    plain_seconds: float


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.storage", description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=SIZE_MIB_DEFAULT, help="replica size (256)")
    parser.add_argument("--packet-kib", type=int, default=PACKET_KIB_DEFAULT, help="packet size (64)")
    parser.add_argument("--directory", type=Path, default=None, help="where to write (a temporary directory)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def make_packets(size_bytes: int, packet_bytes: int, seed: int) -> list[tuple[bytes, bytes]]:
    generator = random.Random(seed)
    packets = []
    for offset in range(0, size_bytes, packet_bytes):
        data = generator.randbytes(min(packet_bytes, size_bytes - offset))
        packets.append((data, compute_checksums(DEFAULT_REPLICA_SPEC, data)))
    return packets


def store_write(store: ReplicaStore, block_id: int, packets: list[tuple[bytes, bytes]], verify: bool) -> None:
    store.create_rbw(block_id, 1)
    offset = 0
    for data, checksums in packets:
        offset = store.append(block_id, 1, offset, data, checksums, verify=verify)
    store.finalize(block_id, 1)


def store_read(store: ReplicaStore, block_id: int, length: int, packet_bytes: int, verify: bool) -> int:
    total = 0
    with store.open_for_read(block_id, 1) as reader:
        for offset in range(0, length, packet_bytes):
            total += len(reader.read(offset, min(packet_bytes, length - offset), verify=verify).data)
    return total


def plain_write(path: Path, packets: list[tuple[bytes, bytes]]) -> None:
    with path.open("wb", buffering=0) as stream:
        for data, _ in packets:
            stream.write(data)
        os.fsync(stream.fileno())


def plain_read(path: Path, packet_bytes: int) -> int:
    total = 0
    with path.open("rb", buffering=0) as stream:
        while chunk := stream.read(packet_bytes):
            total += len(chunk)
    return total


def run(directory: Path, size_bytes: int, packet_bytes: int, seed: int) -> list[Result]:
    packets = make_packets(size_bytes, packet_bytes, seed)
    plain_path = directory / "plain.bin"
    plain_write_s = timed(lambda: plain_write(plain_path, packets))
    plain_read_s = timed(lambda: plain_read(plain_path, packet_bytes))
    store = ReplicaStore.open(
        StoreConfig((directory / "volume",), BLOCK_POOL_ID, replica_bytes_expected=size_bytes)
    )
    try:
        write_verified_s = timed(lambda: store_write(store, 1, packets, verify=True))
        write_trusted_s = timed(lambda: store_write(store, 2, packets, verify=False))
        read_plain_s = timed(
            lambda: check(store_read(store, 1, size_bytes, packet_bytes, False) == size_bytes, "whole")
        )
        read_verified_s = timed(
            lambda: check(store_read(store, 1, size_bytes, packet_bytes, True) == size_bytes, "whole")
        )
        check(store.verify(1) is None, "the benchmark replica verifies")
    finally:
        store.close()
    return [
        Result("write, checksums verified, finalize (fsync)", write_verified_s, plain_write_s),
        Result("write, checksums trusted, finalize (fsync)", write_trusted_s, plain_write_s),
        Result("read with checksums, no verification", read_plain_s, plain_read_s),
        Result("read with checksums, verified", read_verified_s, plain_read_s),
    ]


def print_table(results: list[Result], size_bytes: int, packet_bytes: int) -> None:
    print(
        f"replica {size_bytes / 2**20:.0f} MiB, packets {packet_bytes / 1024:.0f} KiB, CRC32C per 512 bytes\n"
    )
    print("| case | store MB/s | plain file MB/s | ratio |")
    print("|---|---:|---:|---:|")
    for result in results:
        store_rate = size_bytes / result.seconds / 1e6
        plain_rate = size_bytes / result.plain_seconds / 1e6
        print(f"| {result.label} | {store_rate:.0f} | {plain_rate:.0f} | {store_rate / plain_rate:.2f} |")


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    size_bytes = arguments.size_mib * 2**20
    packet_bytes = arguments.packet_kib * 1024
    check(size_bytes > 0 and packet_bytes > 0, "sizes are positive")
    if arguments.directory is not None:
        arguments.directory.mkdir(parents=True, exist_ok=True)
        results = run(arguments.directory, size_bytes, packet_bytes, arguments.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-storage-") as directory:
            results = run(Path(directory), size_bytes, packet_bytes, arguments.seed)
    print_table(results, size_bytes, packet_bytes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
