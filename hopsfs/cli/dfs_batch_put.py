"""-put of a directory: its small files go to the namenode in batches (batchCreateWithData), up to
1000 files per call, each batch one transaction, instead of a create, a block pipeline and a
complete per file.

A batch creates every file whole or none (so no `._COPYING_` name is needed: nobody sees a partial
file). When a batch fails for any reason (an existing file without -f, a directory in the way, a
directory threshold lower than the file, a namenode error), nothing of it was created and its files
take the one-by-one path, which reports each problem as Hadoop does. Files whose replication or
block size the command sets (-D dfs.replication, -D dfs.blocksize) always take that path, and so
do the small files of a directory holding fewer than BATCH_PUT_FILES_MIN of them: until the namenode
serves inline bytes over DataTransferProtocol an HDFS client (hdfs-native, Spark) cannot read a file
stored inline, so -put keeps writing blocks where batching gains little.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from hopsfs.cli.dfs_context import CommandContext
from hopsfs.cli.dfs_paths import DfsPath
from hopsfs.client import Client
from hopsfs.client.small_file_calls import (
    BATCH_BYTES_MAX,
    BATCH_FILES_MAX,
    INLINE_OFFER_BYTES_MAX,
    small_file_batches,
)
from hopsfs.errors import HopsFSError
from hopsfs.invariants import check

BATCH_PUT_FILES_MIN = 100  # small files one local directory must hold before they go in batches
check(
    min(BATCH_FILES_MAX, BATCH_BYTES_MAX // INLINE_OFFER_BYTES_MAX) >= BATCH_PUT_FILES_MIN,
    "a first batch holds BATCH_PUT_FILES_MIN small files whenever the directory has them",
)
LocalFile = tuple[str, DfsPath]
Preserve = Callable[[DfsPath, os.stat_result], None]


@dataclass(frozen=True, slots=True)
class SmallLocalFile:
    remote: DfsPath
    data: bytes
    source_stat: os.stat_result


def put_small_files(
    context: CommandContext, files: Sequence[LocalFile], *, overwrite: bool, preserve: Preserve | None
) -> list[LocalFile]:
    """Write the small regular files among `files` (one local directory's, into one remote directory)
    in batches; the files left for the one-by-one path, in their order.

    Read a batch ahead: the next batch's local files are read while the namenode creates the current
    one, so at most two batches (2 x BATCH_BYTES_MAX) are held, however many files the directory has."""
    if not files or context.replication is not None or context.block_size is not None:
        return list(files)
    batches = _small_batches(files)
    batch = next(batches, [])
    if len(batch) < BATCH_PUT_FILES_MIN:
        return list(files)
    client = files[0][1].client
    written: dict[str, SmallLocalFile] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-put") as sender:
        while batch:
            sending = sender.submit(_send, client, batch, overwrite)
            upcoming = next(batches, [])
            if sending.result():
                written.update((entry.remote.path, entry) for entry in batch)
            batch = upcoming
    if preserve is not None:
        for path in sorted(written):
            preserve(written[path].remote, written[path].source_stat)
    return [(local_path, remote) for local_path, remote in files if remote.path not in written]


def _small_batches(files: Sequence[LocalFile]) -> Iterator[list[SmallLocalFile]]:
    """The small regular files among `files`, read lazily, in batches within BATCH_FILES_MAX files and
    BATCH_BYTES_MAX bytes."""

    def small_files() -> Iterator[SmallLocalFile]:
        for local_path, remote in files:
            loaded = _read_small(local_path)
            if loaded is not None:
                yield SmallLocalFile(remote, *loaded)

    return small_file_batches(small_files(), lambda entry: len(entry.data))


def _send(client: Client, batch: list[SmallLocalFile], overwrite: bool) -> bool:
    """One batchCreateWithData call; False when nothing of it was created (any refusal or error:
    its files then take the one-by-one path, which reports each problem as Hadoop does)."""
    try:
        created = client.batch_create_with_data(
            [(entry.remote.path, entry.data) for entry in batch], overwrite=overwrite
        )
    except HopsFSError:
        return False
    return created is not None


def _read_small(local_path: str) -> tuple[bytes, os.stat_result] | None:
    """The bytes and stat of a regular local file small enough to batch; None for anything else
    (the one-by-one path deals with it, and with any error reading it)."""
    try:
        source_stat = os.stat(local_path)
        if not stat.S_ISREG(source_stat.st_mode) or source_stat.st_size > INLINE_OFFER_BYTES_MAX:
            return None
        with open(local_path, "rb") as source:
            data = source.read(INLINE_OFFER_BYTES_MAX + 1)
    except OSError:
        return None
    if len(data) > INLINE_OFFER_BYTES_MAX:
        return None  # grew since the stat
    return data, source_stat
