"""Startup: reconcile the replica index with the files on the volumes.

For each indexed replica the files are looked up where the record says (two stats for a finalized
replica: no data is read). Then each volume's rbw/ directory is listed, and optionally (`full_scan`,
for a lost index) every finalized leaf. Outcomes:

- finalized data + meta present, lengths consistent: kept.
- a replica being written (indexed or found in rbw/): its length becomes the longest prefix of whole
  chunks whose checksums verify (a last partial chunk counts if its checksum verifies); both files are
  truncated to that and fsynced.
- data in rbw/ with its meta file already in the finalized leaf: a finalize cut between its two renames;
  both files were fsynced before the first rename, so the data file is moved on (rolled forward).
- files missing: the entry is dropped; lone leftovers (meta without data, data without meta) removed.
- a finalized replica whose files disagree with the record or each other: moved to trash and dropped.
- an entry naming a volume not configured now: kept in the index, not served.

Every change is written back to the index durably before the store serves requests.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datanode.storage.errors import ReplicaCorrupt
from datanode.storage.fsync import fsync_directory, pread_all
from datanode.storage.index import ReplicaIndex
from datanode.storage.layout import block_file_name, parse_block_file_name, parse_meta_file_name
from datanode.storage.meta_file import (
    META_HEADER_BYTES,
    chunks_covered,
    decode_meta_header,
    meta_file_length,
)
from datanode.storage.replica import ReplicaRecord, ReplicaState
from datanode.storage.replica_files import (
    find_meta,
    relative_to_volume,
    remove_if_present,
)
from datanode.storage.verification import verified_prefix_length
from datanode.storage.volume import Volume
from hopsfs.invariants import check
from hopsfs.protocol.dtp_checksum import ChecksumFunctions

LOGGER = logging.getLogger(__name__)


@dataclass(slots=True)
class ReconcileReport:
    kept: int = 0
    recovered: int = 0  # replicas being written, length re-derived from their checksums
    rolled_forward: int = 0  # finalizes completed after a crash between renames
    dropped: int = 0  # index entries without files
    quarantined: int = 0  # inconsistent finalized replicas moved to trash
    orphans_removed: int = 0  # lone files without a replica
    on_absent_volumes: int = 0  # entries kept in the index for volumes not configured now


def reconcile(
    volumes: Sequence[Volume], index: ReplicaIndex, functions: ChecksumFunctions, full_scan: bool
) -> tuple[dict[int, ReplicaRecord], ReconcileReport]:
    """The replicas on `volumes`, with the index brought in line with them."""
    by_id = {volume.volume_id: volume for volume in volumes}
    check(len(by_id) == len(volumes), "volume ids are unique")
    records: dict[int, ReplicaRecord] = {}
    report = ReconcileReport()
    for record in list(index.records()):
        volume = by_id.get(record.volume_id)
        if volume is None:
            # Its disk may only be unmounted: keep the entry for when the volume returns, serve nothing.
            report.on_absent_volumes += 1
            continue
        resolved = _resolve_indexed(volume, record, functions, report)
        _write_back(index, record.block_id, record, resolved, records, report)
    for volume in volumes:
        for block_id, resolved in _scan_rbw(volume, records, functions, report):
            _write_back(index, block_id, None, resolved, records, report)
        if full_scan:
            for block_id, resolved in _scan_finalized(volume, records, report):
                _write_back(index, block_id, None, resolved, records, report)
    return records, report


def _write_back(
    index: ReplicaIndex,
    block_id: int,
    indexed: ReplicaRecord | None,
    resolved: ReplicaRecord | None,
    records: dict[int, ReplicaRecord],
    report: ReconcileReport,
) -> None:
    if resolved is None:
        if indexed is not None:
            index.delete(block_id, durable=True)
            report.dropped += 1
        return
    check(resolved.block_id == block_id, "a resolved record keeps its block id")
    check(block_id not in records, "one replica per block id across volumes")
    if resolved != indexed:
        index.put(resolved, durable=True)
    records[block_id] = resolved


def _resolve_indexed(
    volume: Volume, record: ReplicaRecord, functions: ChecksumFunctions, report: ReconcileReport
) -> ReplicaRecord | None:
    block_id = record.block_id
    directories = volume.directories
    leaf = directories.finalized_leaf(block_id)
    finalized_data = leaf / block_file_name(block_id)
    rbw_data = directories.rbw / block_file_name(block_id)
    if finalized_data.exists():
        resolved = _check_finalized(volume, block_id, finalized_data, record.genstamp, report)
        if (
            resolved is not None
            and record.state is ReplicaState.FINALIZED
            and resolved.length != record.length
        ):
            _quarantine(volume, resolved, report)
            return None
        if resolved is not None:
            report.kept += 1
        return resolved
    if rbw_data.exists():
        return _resolve_rbw_data(volume, block_id, functions, report)
    _remove_leftover_metas(directories.rbw, block_id, report)
    _remove_leftover_metas(leaf, block_id, report)
    return None


def _resolve_rbw_data(
    volume: Volume, block_id: int, functions: ChecksumFunctions, report: ReconcileReport
) -> ReplicaRecord | None:
    """A data file in rbw/: recover it, roll its finalize forward, or remove it as an orphan."""
    directories = volume.directories
    rbw_data = directories.rbw / block_file_name(block_id)
    rbw_meta = find_meta(directories.rbw, block_id)
    if rbw_meta is not None:
        report.recovered += 1
        return _recover_rbw(volume, block_id, rbw_data, rbw_meta[0], rbw_meta[1], functions, report)
    leaf = directories.finalized_leaf(block_id)
    finalized_meta = find_meta(leaf, block_id)
    if finalized_meta is None:
        report.orphans_removed += 1
        remove_if_present(rbw_data)
        return None
    os.rename(rbw_data, leaf / rbw_data.name)
    fsync_directory(leaf)
    fsync_directory(directories.rbw)
    report.rolled_forward += 1
    return _check_finalized(volume, block_id, leaf / rbw_data.name, finalized_meta[1], report)


def _check_finalized(
    volume: Volume, block_id: int, data: Path, genstamp_hint: int, report: ReconcileReport
) -> ReplicaRecord | None:
    """The record of a finalized replica whose meta file length matches its data length, else None."""
    meta = data.with_name(f"{block_file_name(block_id)}_{genstamp_hint}.meta")
    genstamp = genstamp_hint
    if not meta.exists():
        found = find_meta(data.parent, block_id)
        if found is None:
            relative = relative_to_volume(volume, data)
            _quarantine(
                volume,
                ReplicaRecord(block_id, ReplicaState.FINALIZED, 0, 0, volume.volume_id, relative),
                report,
            )
            return None
        meta, genstamp = found
    length = data.stat().st_size
    record = ReplicaRecord(
        block_id, ReplicaState.FINALIZED, genstamp, length, volume.volume_id, relative_to_volume(volume, data)
    )
    if not _meta_matches(meta, length):
        _quarantine(volume, record, report)
        return None
    return record


def _meta_matches(meta: Path, data_length: int) -> bool:
    with meta.open("rb") as stream:
        header = stream.read(META_HEADER_BYTES)
    try:
        spec = decode_meta_header(header, str(meta))
    except ReplicaCorrupt:
        return False
    return meta.stat().st_size == meta_file_length(data_length, spec)


def _recover_rbw(
    volume: Volume,
    block_id: int,
    data: Path,
    meta: Path,
    genstamp: int,
    functions: ChecksumFunctions,
    report: ReconcileReport,
) -> ReplicaRecord | None:
    """Truncate a replica being written to its verified prefix; None (files removed) if unusable."""
    data_descriptor = os.open(data, os.O_RDWR)
    meta_descriptor = os.open(meta, os.O_RDWR)
    try:
        try:
            spec = decode_meta_header(pread_all(meta_descriptor, META_HEADER_BYTES, 0), str(meta))
        except ReplicaCorrupt:
            spec = None  # a create cut before its header was written: nothing was ever stored
        if spec is not None:
            covered = chunks_covered(os.fstat(meta_descriptor).st_size)
            data_length = os.fstat(data_descriptor).st_size
            length = verified_prefix_length(
                data_descriptor, meta_descriptor, spec, data_length, covered, functions
            )
            os.ftruncate(data_descriptor, length)
            os.ftruncate(meta_descriptor, meta_file_length(length, spec))
            os.fsync(data_descriptor)
            os.fsync(meta_descriptor)
    finally:
        os.close(data_descriptor)
        os.close(meta_descriptor)
    if spec is None:
        report.orphans_removed += 1
        remove_if_present(data)
        remove_if_present(meta)
        return None
    LOGGER.info("recovered blk_%d being written: %d verified bytes", block_id, length)
    relative = relative_to_volume(volume, data)
    return ReplicaRecord(block_id, ReplicaState.RBW, genstamp, length, volume.volume_id, relative)


def _scan_rbw(
    volume: Volume, records: dict[int, ReplicaRecord], functions: ChecksumFunctions, report: ReconcileReport
) -> list[tuple[int, ReplicaRecord | None]]:
    """Replicas in rbw/ that the index did not know; lone meta files there are removed."""
    rbw = volume.directories.rbw
    data_ids, meta_ids = _list_replica_names(rbw)
    found: list[tuple[int, ReplicaRecord | None]] = []
    for block_id in sorted(data_ids - records.keys()):
        found.append((block_id, _resolve_rbw_data(volume, block_id, functions, report)))
    for block_id in sorted(meta_ids - data_ids):
        _remove_leftover_metas(rbw, block_id, report)
    return found


def _scan_finalized(
    volume: Volume, records: dict[int, ReplicaRecord], report: ReconcileReport
) -> list[tuple[int, ReplicaRecord | None]]:
    """Finalized replicas the index did not know (a lost index); reads names and lengths only."""
    found: list[tuple[int, ReplicaRecord | None]] = []
    for first in sorted(volume.directories.finalized.glob("subdir*")):
        for leaf in sorted(first.glob("subdir*")):
            data_ids, meta_ids = _list_replica_names(leaf)
            for block_id in sorted(data_ids - records.keys()):
                data = leaf / block_file_name(block_id)
                found.append((block_id, _check_finalized(volume, block_id, data, 0, report)))
            for block_id in sorted(meta_ids - data_ids):
                _remove_leftover_metas(leaf, block_id, report)
    return found


def _list_replica_names(directory: Path) -> tuple[set[int], set[int]]:
    data_ids: set[int] = set()
    meta_ids: set[int] = set()
    with os.scandir(directory) as entries:
        for entry in entries:
            block_id = parse_block_file_name(entry.name)
            if block_id is not None:
                data_ids.add(block_id)
                continue
            parsed = parse_meta_file_name(entry.name)
            if parsed is not None:
                meta_ids.add(parsed[0])
    return data_ids, meta_ids


def _remove_leftover_metas(directory: Path, block_id: int, report: ReconcileReport) -> None:
    # A bounded loop: each round removes one meta file, and there are few per block id.
    for _ in range(64):
        found = find_meta(directory, block_id)
        if found is None:
            return
        remove_if_present(found[0])
        report.orphans_removed += 1


def _quarantine(volume: Volume, record: ReplicaRecord, report: ReconcileReport) -> None:
    """Move an inconsistent finalized replica's files to trash for inspection; never serve them."""
    data = volume.root / record.relative_path
    trash = volume.directories.trash_leaf(record.block_id)
    LOGGER.warning("blk_%d on %s is inconsistent: moved to %s", record.block_id, volume.volume_id, trash)
    metas = [found[0] for found in [find_meta(data.parent, record.block_id)] if found is not None]
    trash.mkdir(parents=True, exist_ok=True)
    for path in [data, *metas]:
        if path.exists():
            os.replace(path, trash / path.name)
    report.quarantined += 1
