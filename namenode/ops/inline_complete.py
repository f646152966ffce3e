"""completeWithData: close a file that its writer created and wrote nothing to through blocks, with
its bytes stored inline (HopsFS's path for an output stream that stayed small).

The create at open took the lease, as HDFS's create does, so everything a create refuses was
refused there; this transaction only swaps "complete an empty file" for "complete it holding these
bytes". Lock set: as complete (the file). A file over its directory's threshold is left open and
unchanged (the writer then sends the bytes through blocks), and so is one that has a block already.
"""

from __future__ import annotations

from dataclasses import dataclass

from hopsfs.errors import InvalidArgument
from namenode.engine.txn import Transaction
from namenode.ops.blocks import lock_resolved_open_file
from namenode.ops.common import mark_closed
from namenode.ops.small_files import inline_threshold


@dataclass(frozen=True, slots=True)
class InlineCompleted:
    stored: bool
    threshold_bytes: int


def complete_with_data(
    transaction: Transaction, path: str, holder: str, file_id: int, data: bytes
) -> InlineCompleted:
    """Close `holder`'s open file with `data` inline; stored=False (nothing changed) when `data`
    exceeds the threshold. A re-sent call whose first one closed the file answers stored=True."""
    resolved, row = lock_resolved_open_file(transaction, path, holder, file_id, closed_ok=bool(file_id))
    threshold_bytes = inline_threshold(transaction, resolved)
    if row is None:
        # Closed already: by this very call, sent again after its answer was lost, when it holds
        # exactly these bytes; otherwise the writer lost its file (lease recovery closed it).
        stored = transaction.session.read_inodes_by_ids([file_id])
        if stored and stored[0].file_stored_in_db and stored[0].size == len(data):
            return InlineCompleted(True, threshold_bytes)
        raise InvalidArgument(f"{path} was closed before its bytes were stored")
    if row.file_stored_in_db:
        raise InvalidArgument(f"{path} is being moved to blocks by an append: complete it with its blocks")
    if transaction.session.read_last_blocks(row.id, 1):
        raise InvalidArgument(f"{path} has blocks already: complete it with its last block instead")
    if len(data) > threshold_bytes:
        return InlineCompleted(False, threshold_bytes)
    row.file_stored_in_db = 1
    mark_closed(transaction, row, len(data))
    transaction.store_inline_data(row, data)
    return InlineCompleted(True, threshold_bytes)
