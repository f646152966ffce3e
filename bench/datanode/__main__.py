"""Command line: python -m bench.datanode [--size-mib N] [--block-mib N] [--replication 1,3] [--directory P]

One client writes `--size-mib` MiB sequentially as blocks of `--block-mib` MiB through a pipeline of
R `hopsfs datanode` processes (R from `--replication`), then reads every block back from the first
datanode: with sendfile, with pread + send (the datanode restarted with --no-sendfile), and with the
client verifying checksums. The same bytes are written (then fsynced, as a finalized replica is) and
read with plain Python file I/O in the same run and directory. Write packets and their checksums are
built before the clock starts. Reads come from the page cache on both sides, so read rates compare
CPU cost rather than the disk. Prints a markdown table: MB/s (10**6 bytes/s), the ratio to the plain
file rate, and CPU seconds per GB of the datanode processes and of the client.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.datanode.client import BenchClient, make_packets
from bench.datanode.cluster import BLOCK_POOL_ID, BenchDatanode, StubNamenode
from hopsfs.invariants import check
from hopsfs.protocol.proto.hdfs_pb2 import DatanodeIDProto, DatanodeInfoProto

SIZE_MIB_DEFAULT = 256
BLOCK_MIB_DEFAULT = 128
PACKET_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Measurement:
    label: str
    seconds: float
    plain_seconds: float
    server_cpu_s: float
    client_cpu_s: float


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.datanode", description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=SIZE_MIB_DEFAULT, help="bytes written and read (256)")
    parser.add_argument("--block-mib", type=int, default=BLOCK_MIB_DEFAULT, help="block size (128)")
    parser.add_argument("--replication", default="1,3", help="pipeline lengths to measure (1,3)")
    parser.add_argument("--directory", type=Path, default=None, help="where to write (a temporary directory)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def plain_write(path: Path, blocks: Sequence[Sequence[tuple[bytes, bytes]]]) -> None:
    with path.open("wb", buffering=0) as stream:
        for packets in blocks:
            for data, _ in packets:
                stream.write(data)
        os.fsync(stream.fileno())


def plain_read(path: Path) -> int:
    total = 0
    with path.open("rb", buffering=0) as stream:
        while chunk := stream.read(PACKET_BYTES):
            total += len(chunk)
    return total


def measure(
    label: str, action: Callable[[], object], plain_seconds: float, datanodes: Sequence[BenchDatanode]
) -> Measurement:
    server_before = sum(datanode.cpu_seconds() for datanode in datanodes)
    client_before = time.process_time()
    started = time.perf_counter()
    action()
    seconds = time.perf_counter() - started
    server_cpu_s = sum(datanode.cpu_seconds() for datanode in datanodes) - server_before
    return Measurement(label, seconds, plain_seconds, server_cpu_s, time.process_time() - client_before)


def run(
    directory: Path, size_bytes: int, block_bytes: int, replications: list[int], seed: int
) -> list[Measurement]:
    generator = random.Random(seed)
    # randbytes takes at most 2**28 bytes per call.
    data = b"".join(
        generator.randbytes(min(2**24, size_bytes - start)) for start in range(0, size_bytes, 2**24)
    )
    blocks = [
        make_packets(data[start : start + block_bytes], PACKET_BYTES)
        for start in range(0, size_bytes, block_bytes)
    ]
    plain_path = directory / "plain.bin"
    plain_write_s = _timed(lambda: plain_write(plain_path, blocks))
    plain_read_s = _timed(lambda: check(plain_read(plain_path) == size_bytes, "plain read is whole"))
    namenode = StubNamenode()
    results: list[Measurement] = []
    try:
        for replication in replications:
            results += _run_pipeline(
                directory / f"r{replication}",
                blocks,
                size_bytes,
                replication,
                namenode.address,
                (plain_write_s, plain_read_s),
            )
    finally:
        namenode.stop()
    return results


def _run_pipeline(
    directory: Path,
    blocks: list[list[tuple[bytes, bytes]]],
    size_bytes: int,
    replication: int,
    namenode_address: str,
    plain: tuple[float, float],
) -> list[Measurement]:
    plain_write_s, plain_read_s = plain
    datanodes = [
        BenchDatanode(directory / f"dn{index}", namenode_address, True) for index in range(replication)
    ]
    targets = [_info(datanode.port) for datanode in datanodes[1:]]
    results = []
    try:

        def write_all() -> None:
            for block_id, packets in enumerate(blocks, start=1):
                client = BenchClient(datanodes[0].port, BLOCK_POOL_ID)  # a write ends its connection
                client.write_block(block_id, packets, targets)
                client.close()

        results.append(measure(f"write, replication {replication}", write_all, plain_write_s, datanodes))
        if replication == 1:
            results += _reads(datanodes[0], blocks, size_bytes, plain_read_s, "sendfile")
    finally:
        for datanode in datanodes:
            datanode.stop()
    if replication == 1:
        copying = BenchDatanode(directory / "dn0", namenode_address, False)
        try:
            results += _reads(copying, blocks, size_bytes, plain_read_s, "pread + send")
        finally:
            copying.stop()
    return results


def _reads(
    datanode: BenchDatanode,
    blocks: list[list[tuple[bytes, bytes]]],
    size_bytes: int,
    plain_read_s: float,
    how: str,
) -> list[Measurement]:
    lengths = [sum(len(data) for data, _ in packets) for packets in blocks]
    results = []
    for verify in (False, True) if how == "sendfile" else (False,):
        client = BenchClient(datanode.port, BLOCK_POOL_ID)

        def read_all(verify: bool = verify, client: BenchClient = client) -> None:
            total = sum(
                client.read_block(block_id, length, verify)
                for block_id, length in enumerate(lengths, start=1)
            )
            check(total == size_bytes, "every byte was read")

        label = f"read ({how}{', client verifies' if verify else ''})"
        results.append(measure(label, read_all, plain_read_s, [datanode]))
        client.close()
    return results


def print_table(results: list[Measurement], size_bytes: int, block_bytes: int) -> None:
    gigabytes = size_bytes / 1e9
    print(
        f"{size_bytes / 2**20:.0f} MiB in blocks of {block_bytes / 2**20:.0f} MiB, "
        "packets 64 KiB, CRC32C per 512 B\n"
    )
    print("| case | datanode MB/s | plain file MB/s | ratio | datanode CPU s/GB | client CPU s/GB |")
    print("|---|---:|---:|---:|---:|---:|")
    for result in results:
        rate = size_bytes / result.seconds / 1e6
        plain_rate = size_bytes / result.plain_seconds / 1e6
        print(
            f"| {result.label} | {rate:.0f} | {plain_rate:.0f} | {rate / plain_rate:.2f} | "
            f"{result.server_cpu_s / gigabytes:.2f} | {result.client_cpu_s / gigabytes:.2f} |"
        )


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    size_bytes, block_bytes = arguments.size_mib * 2**20, arguments.block_mib * 2**20
    replications = [int(item) for item in arguments.replication.split(",") if item]
    check(size_bytes > 0 and block_bytes > 0 and all(r >= 1 for r in replications), "positive sizes")
    if arguments.directory is not None:
        arguments.directory.mkdir(parents=True, exist_ok=True)
        results = run(arguments.directory, size_bytes, block_bytes, replications, arguments.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-datanode-") as directory:
            results = run(Path(directory), size_bytes, block_bytes, replications, arguments.seed)
    print_table(results, size_bytes, block_bytes)
    return 0


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _info(port: int) -> DatanodeInfoProto:
    return DatanodeInfoProto(
        id=DatanodeIDProto(
            ipAddr="127.0.0.1", hostName="127.0.0.1", datanodeUuid="", xferPort=port, infoPort=0, ipcPort=0
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
