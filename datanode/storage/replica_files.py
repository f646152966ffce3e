"""The files of one replica on a volume: naming them from a record, creating, moving and removing.

Creation order is meta file (with its header) first, then the empty data file: a crash in between
leaves a lone meta file, which restart removes; a data file therefore always has a meta file beside it
unless a finalize or delete was cut short (reconcile.py handles both).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from datanode.storage.errors import ReplicaAlreadyExists
from datanode.storage.fsync import fsync_directory, pwrite_all
from datanode.storage.layout import block_file_name, meta_file_name, parse_meta_file_name
from datanode.storage.meta_file import encode_meta_header
from datanode.storage.replica import ReplicaRecord
from datanode.storage.volume import Volume
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumSpec

# Directory listings while looking for a meta file are bounded (a leaf holds ~2 files per replica).
_LEAF_ENTRIES_MAX = 10_000_000


def data_path(volume: Volume, record: ReplicaRecord) -> Path:
    return volume.root / record.relative_path


def meta_path(volume: Volume, record: ReplicaRecord) -> Path:
    return data_path(volume, record).with_name(meta_file_name(record.block_id, record.genstamp))


def relative_to_volume(volume: Volume, path: Path) -> PurePosixPath:
    return PurePosixPath(path.relative_to(volume.root).as_posix())


def create_rbw_files(volume: Volume, block_id: int, genstamp: int, spec: ChecksumSpec) -> Path:
    """Create the rbw meta file (header only) and empty data file; return the data file's path."""
    directory = volume.directories.rbw
    meta = directory / meta_file_name(block_id, genstamp)
    data = directory / block_file_name(block_id)
    try:
        descriptor = os.open(meta, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as error:
        raise ReplicaAlreadyExists(f"blk_{block_id}: leftover meta file {meta}") from error
    try:
        pwrite_all(descriptor, encode_meta_header(spec), 0)
    finally:
        os.close(descriptor)
    try:
        os.close(os.open(data, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError as error:
        os.unlink(meta)
        raise ReplicaAlreadyExists(f"blk_{block_id}: leftover data file {data}") from error
    return data


def find_meta(directory: Path, block_id: int) -> tuple[Path, int] | None:
    """The meta file of `block_id` in `directory` with the highest generation stamp, or None.

    Only for recovery paths: it lists the directory.
    """
    best: tuple[Path, int] | None = None
    prefix = block_file_name(block_id) + "_"
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return None
    with entries:
        for count, entry in enumerate(entries):
            check(count < _LEAF_ENTRIES_MAX, "a replica directory stays within its bound")
            parsed = parse_meta_file_name(entry.name) if entry.name.startswith(prefix) else None
            if parsed is not None and parsed[0] == block_id and (best is None or parsed[1] > best[1]):
                best = (Path(entry.path), parsed[1])
    return best


def ensure_directory(path: Path) -> None:
    """Create `path` (and parents) durably: a new directory is fsynced into its parent."""
    if path.is_dir():
        return
    missing: list[Path] = []
    cursor = path
    # Walk up to the first existing ancestor; the depth is the fan-out depth, a handful of levels.
    while not cursor.is_dir():
        missing.append(cursor)
        cursor = cursor.parent
        check(len(missing) <= 8, "replica directories are a few levels deep")
    path.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        fsync_directory(created.parent)


def move_replica_files(source_data: Path, source_meta: Path, target_directory: Path) -> tuple[Path, Path]:
    """Rename meta then data into `target_directory`, durably; return the new (data, meta) paths.

    The order matters for restart: a crash between the renames leaves the data file alone in the
    source and the meta file in the target, which reconcile rolls forward (both were fsynced before).
    """
    ensure_directory(target_directory)
    target_meta = target_directory / source_meta.name
    target_data = target_directory / source_data.name
    os.rename(source_meta, target_meta)
    os.rename(source_data, target_data)
    fsync_directory(target_directory)
    fsync_directory(source_data.parent)
    return target_data, target_meta


def reopen_replica_files(
    block_id: int, finalized_data: Path, finalized_meta: Path, rbw_directory: Path, new_genstamp: int
) -> Path:
    """Move a finalized replica back into rbw/ (append), its meta file renamed to `new_genstamp`;
    return the new data path.

    Data moves first: a crash between the renames leaves the data in rbw/ beside the finalized meta
    file, which restart rolls forward into a finalized replica again (the append never happened).
    """
    check(finalized_data.name == block_file_name(block_id), "the data file is the block's")
    rbw_data = rbw_directory / finalized_data.name
    rbw_meta = rbw_directory / meta_file_name(block_id, new_genstamp)
    os.rename(finalized_data, rbw_data)
    os.rename(finalized_meta, rbw_meta)
    fsync_directory(rbw_directory)
    fsync_directory(finalized_data.parent)
    return rbw_data


def remove_if_present(path: Path) -> int:
    """Unlink `path` if it exists; return the bytes it held (0 when absent)."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size
