"""The small-file operations of the namespace API (ops/small_files.py), a mixin of `Namespace`:
files stored in the metadata store, created or read in one transaction each, in batches, and
moved to blocks by an append. Each method runs one transaction (the batch: one for all its files)."""

from __future__ import annotations

from collections.abc import Sequence

from hopsfs import limits
from hopsfs.errors import InvalidArgument
from hopsfs.invariants import check
from hopsfs.paths import split_path
from hopsfs.types import Caller, FileStatus
from namenode.engine.txn import EngineContext, run_batch_transaction, run_transaction
from namenode.ops import small_files


class SmallFileOperations:
    context: EngineContext

    def create_with_data(
        self,
        caller: Caller,
        path: str,
        data: bytes,
        permission: int = 0o644,
        *,
        overwrite: bool = False,
        create_parent: bool = True,
        replication: int = limits.REPLICATION_DEFAULT,
        block_size: int = limits.BLOCK_SIZE_BYTES_DEFAULT,
    ) -> small_files.InlineCreated:
        """create + write + close of a small file in one transaction; not created (status None)
        when `data` exceeds the directory's threshold: the caller writes it through blocks."""
        try:
            return run_transaction(
                self.context,
                caller,
                lambda tx: small_files.create_with_data(
                    tx,
                    path,
                    data,
                    permission=permission,
                    overwrite=overwrite,
                    create_parent=create_parent,
                    replication=replication,
                    block_size=block_size,
                ),
                write=True,
                ids_needed=_depth(path),
            )
        except small_files.InlineRefused as refused:
            return small_files.InlineCreated(None, refused.threshold_bytes)

    def batch_create_with_data(
        self, caller: Caller, files: Sequence[small_files.SmallFile], *, overwrite: bool = False
    ) -> small_files.InlineCreated | list[FileStatus]:
        """Many small files in one transaction, all or none; InlineCreated(None, threshold) when one
        of them exceeds its directory's threshold (nothing is created)."""
        if not 0 < len(files) <= small_files.BATCH_FILES_MAX:
            raise InvalidArgument(f"a batch holds 1 to {small_files.BATCH_FILES_MAX} files, not {len(files)}")
        operations = [
            (
                lambda tx, entry=entry: small_files.create_with_data(
                    tx,
                    entry.path,
                    entry.data,
                    permission=entry.permission,
                    overwrite=overwrite,
                    create_parent=True,
                    replication=limits.REPLICATION_DEFAULT,
                    block_size=limits.BLOCK_SIZE_BYTES_DEFAULT,
                )
            )
            for entry in files
        ]
        depth = max(_depth(entry.path) for entry in files)
        try:
            created = run_batch_transaction(self.context, caller, operations, ids_per_operation=depth)
        except small_files.InlineRefused as refused:
            return small_files.InlineCreated(None, refused.threshold_bytes)
        statuses = [entry.status for entry in created]
        check(all(status is not None for status in statuses), "a created small file has a status")
        return [status for status in statuses if status is not None]

    def read_with_metadata(self, caller: Caller, path: str) -> small_files.InlineRead:
        """A file's status and, when it is stored inline, its bytes, in one consistent read."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: small_files.read_with_metadata(tx, path),
            write=False,
            snapshot=True,
        )

    def append_inline(self, caller: Caller, path: str, holder: str) -> small_files.InlineRead:
        """Reopen a small file for appending under `holder`'s lease, with its bytes (the growth path:
        ops/small_files.py); a file in blocks is left alone and comes back without data."""
        return run_transaction(
            self.context, caller, lambda tx: small_files.append_inline(tx, path, holder), write=True
        )

    def set_inline_threshold(self, caller: Caller, path: str, threshold_bytes: int | None) -> None:
        run_transaction(
            self.context,
            caller,
            lambda tx: small_files.set_inline_threshold(tx, path, threshold_bytes),
            write=True,
        )


def _depth(path: str) -> int:
    return max(len(split_path(path)), 1)
