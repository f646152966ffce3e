"""The small-file operations of the namespace API (ops/small_files.py), a mixin of `Namespace`:
files stored in the metadata store, created or read in one transaction each, in batches, moved to
blocks by an append, and truncate, which cuts inline and block files (ops/truncate.py). Each method
runs one transaction (the batch: one for all its files)."""

from __future__ import annotations

from collections.abc import Sequence

from hopsfs import limits
from hopsfs.errors import InvalidArgument
from hopsfs.invariants import check
from hopsfs.paths import split_path
from hopsfs.types import Caller, FileStatus, RetryKey
from namenode.engine.txn import EngineContext, run_transaction
from namenode.ops import inline_complete, read, small_file_batch, small_files, truncate
from namenode.small_file_values import BatchCreated


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
        retry: RetryKey | None = None,
    ) -> small_files.InlineCreated:
        """create + write + close of a small file in one transaction; not created (status None)
        when `data` exceeds the directory's threshold: the caller writes it through blocks. With
        `retry`, a re-sent call gets the first call's answer (it is at-most-once, as create is)."""
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
                retry=retry,
            )
        except small_files.InlineRefused as refused:
            return small_files.InlineCreated(None, refused.threshold_bytes)

    def batch_create_with_data(
        self,
        caller: Caller,
        files: Sequence[small_files.SmallFile],
        *,
        overwrite: bool = False,
        retry: RetryKey | None = None,
    ) -> small_files.InlineCreated | list[FileStatus]:
        """Many small files in one transaction, all or none (ops/small_file_batch.py); InlineCreated(None,
        threshold) when one of them exceeds its directory's threshold (nothing is created). With
        `retry`, a re-sent call is answered from the retry cache: the files' current statuses."""
        if not 0 < len(files) <= small_files.BATCH_FILES_MAX:
            raise InvalidArgument(f"a batch holds 1 to {small_files.BATCH_FILES_MAX} files, not {len(files)}")
        if sum(len(entry.data) for entry in files) > small_files.BATCH_BYTES_MAX:
            raise InvalidArgument(f"a batch holds at most {small_files.BATCH_BYTES_MAX} bytes of file data")
        plan = small_file_batch.plan_batch(files)
        try:
            created = run_transaction(
                self.context,
                caller,
                lambda tx: _batch_created(small_file_batch.create_all(tx, plan, overwrite=overwrite)),
                write=True,
                ids_needed=plan.ids_needed,
                retry=retry,
            )
        except small_files.InlineRefused as refused:
            return small_files.InlineCreated(None, refused.threshold_bytes)
        statuses = created.statuses
        if statuses is None:  # a re-sent call whose first one created the files
            statuses = run_transaction(
                self.context, caller, lambda tx: [read.stat(tx, entry.path) for entry in files], write=False
            )
        check(len(statuses) == len(files), "a created batch has a status per file")
        return statuses

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

    def truncate(self, caller: Caller, path: str, new_length: int, holder: str) -> bool:
        """HDFS truncate (ops/truncate.py): True when the file has its new length now; False when
        block recovery finishes the cut and closes the file."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: truncate.truncate(tx, path, new_length, holder),
            write=True,
        )

    def truncate_to_inline(
        self, caller: Caller, path: str, data: bytes, expected: truncate.ExpectedFile
    ) -> truncate.InlineTruncated:
        """Cut a closed block file to `data`, its first bytes, stored inline; refused (nothing
        changed) when the file is no longer `expected` or `data` exceeds its threshold."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: truncate.truncate_to_inline(tx, path, data, expected),
            write=True,
        )

    def complete_with_data(
        self, caller: Caller, path: str, holder: str, file_id: int, data: bytes
    ) -> inline_complete.InlineCompleted:
        """Close `holder`'s file, created empty, with `data` stored inline; not stored (the file
        left open) when `data` exceeds the directory's threshold."""
        return run_transaction(
            self.context,
            caller,
            lambda tx: inline_complete.complete_with_data(tx, path, holder, file_id, data),
            write=True,
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


def _batch_created(statuses: list[FileStatus]) -> BatchCreated:
    return BatchCreated(statuses, [status.inode_id for status in statuses])
