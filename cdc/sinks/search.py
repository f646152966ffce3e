"""Search sink: a tantivy full-text index of the namespace, in step with the stream.

Events give the path (resolved at commit time by capture) and the ancestors; the attributes events
do not carry (owner, group, size, times, user xattrs) are read from the metadata store, read-only,
when a batch is committed (cdc/metadata.py). Those reads may be newer than the event; every later
change has its own event, so once the sink has applied the log's last event the index equals the
namespace (tests/property/cdc/test_cdc_search_model.py checks exactly that under random operations).
A directory's modification time changes when a child is added or removed, without an event of its
own: such events refresh the parent's document too.

Whole subtrees:
- delete: the log has a DELETE per descendant; the sink also deletes every document whose
  `ancestor_ids` holds the directory, at once (tantivy applies deletes to earlier uncommitted adds
  too), so the subtree is gone whatever the order of those events.
- rename of a directory: everything pending is written and committed, then every document below the
  directory (one term query on `ancestor_ids`) is rewritten with its new path and ancestors, from its
  stored fields; a directory rename costs one commit plus one rewrite per descendant.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from cdc.metadata import InodeAttributes, MetadataReader
from cdc.settings import (
    SEARCH_ATTRIBUTE_READ_IDS_MAX,
    SEARCH_RENAME_DOCUMENTS_PAGE,
    SEARCH_RESULTS_MAX,
    SEARCH_WRITER_HEAP_BYTES,
)
from cdc.sinks.search_documents import (
    DEFAULT_QUERY_FIELDS,
    IndexedInode,
    build_schema,
    from_document,
    indexed_inode,
    moved,
    to_document,
)
from hopsfs.cdc_events import (
    CREATION_OPERATIONS,
    DELETE_OPERATION,
    READ_OPERATION,
    RENAME_OPERATION,
    ChangeRecord,
)
from hopsfs.errors import InvalidArgument
from hopsfs.invariants import check
from hopsfs.types import InodeKind
from namenode.schema import ROOT_INODE_ID

log = logging.getLogger("hopsfs.cdc.search")


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where an inode is (path and ancestors) as of the event that last touched it in this batch."""

    path: str
    ancestor_ids: tuple[int, ...]


_REFRESH = object()  # re-read the attributes of an indexed inode, wherever the index has it now
_Pending = _Placement | None | object  # None: delete the document


class SearchSink:
    name = "search"

    def __init__(self, directory: Path, reader: MetadataReader) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._schema = build_schema()
        self._index = tantivy.Index(self._schema, path=str(directory), reuse=True)
        self._writer = self._index.writer(SEARCH_WRITER_HEAP_BYTES, 1)
        self._reader = reader
        self._pending: dict[int, _Pending] = {}
        # Documents written since the last commit, which queries of the index cannot see yet.
        self._uncommitted: dict[int, IndexedInode | None] = {}
        self._searcher_lock = threading.Lock()
        self.documents_written = 0
        self.misplaced_documents = 0  # descendants found outside their renamed directory: a bug

    # -- the sink -------------------------------------------------------------------------------

    def apply(self, records: Sequence[ChangeRecord]) -> None:
        for record in records:
            self._apply_one(record)

    def commit(self) -> None:
        self._flush()
        self._commit()

    def rollback(self) -> None:
        self._pending.clear()
        self._uncommitted.clear()
        self._writer.rollback()

    def close(self) -> None:
        self._writer.wait_merging_threads()

    # -- queries --------------------------------------------------------------------------------

    def search(self, query: str, prefix: str | None, limit: int) -> list[tuple[float, IndexedInode]]:
        check(0 < limit <= SEARCH_RESULTS_MAX, "a search asks for a bounded number of results")
        try:
            parsed = self._index.parse_query(query or "*", DEFAULT_QUERY_FIELDS)
        except ValueError as error:
            raise InvalidArgument(f"bad search query {query!r}: {error}") from error
        normalized = (prefix or "").rstrip("/")
        if normalized:
            under = tantivy.Query.term_query(self._schema, "prefixes", normalized)
            parsed = tantivy.Query.boolean_query([(tantivy.Occur.Must, parsed), (tantivy.Occur.Must, under)])
        searcher = self._searcher()
        result = searcher.search(parsed, limit)
        return [(float(score), from_document(searcher.doc(address))) for score, address in result.hits]

    def inode_at(self, path: str) -> int | None:
        found = self._find("path", path)
        return None if found is None else found.inode_id

    def path_of(self, inode_id: int) -> str | None:
        found = self._find("inode_id", inode_id)
        return None if found is None else found.path

    def all_documents(self, limit: int) -> list[IndexedInode]:
        """Every document (tests and debugging); at most `limit`."""
        searcher = self._searcher()
        result = searcher.search(tantivy.Query.all_query(), limit)
        return [from_document(searcher.doc(address)) for _, address in result.hits]

    # -- events ---------------------------------------------------------------------------------

    def _apply_one(self, record: ChangeRecord) -> None:
        if record.operation == READ_OPERATION:
            return
        if not record.path:
            log.error(
                "event %d (%s of inode %d) has no path", record.position, record.operation, record.inode_id
            )
            return
        if record.operation == DELETE_OPERATION:
            self._delete(record)
            return
        if record.operation == RENAME_OPERATION and record.kind == InodeKind.DIRECTORY:
            self._move_subtree(record)
        self._pending[record.inode_id] = _Placement(record.path, record.ancestor_ids)
        if record.operation in CREATION_OPERATIONS or record.operation == RENAME_OPERATION:
            self._refresh_parent(record.path, record.ancestor_ids)
        if record.operation == RENAME_OPERATION and record.previous_parent_id is not None:
            self._refresh(record.previous_parent_id)

    def _delete(self, record: ChangeRecord) -> None:
        self._pending[record.inode_id] = None
        if record.kind == InodeKind.DIRECTORY:
            self._delete_where("ancestor_ids", record.inode_id)
            below = [
                inode_id
                for inode_id, entry in self._pending.items()
                if isinstance(entry, _Placement) and record.inode_id in entry.ancestor_ids
            ]
            for inode_id in below:
                self._pending[inode_id] = None
        self._refresh_parent(record.path, record.ancestor_ids)

    def _refresh_parent(self, child_path: str, ancestor_ids: tuple[int, ...]) -> None:
        """The parent's mtime changed with the child: re-read it, placed as the child's event says."""
        if len(ancestor_ids) < 2 or ancestor_ids[-1] in self._pending:
            return  # the root (not indexed), or already pending with a placement of its own
        parent_path = child_path.rsplit("/", 1)[0]
        self._pending[ancestor_ids[-1]] = _Placement(parent_path, ancestor_ids[:-1])

    def _refresh(self, inode_id: int) -> None:
        if inode_id != ROOT_INODE_ID and inode_id not in self._pending:
            self._pending[inode_id] = _REFRESH

    def _move_subtree(self, record: ChangeRecord) -> None:
        self.commit()  # the query below must see every earlier event
        old_root, new_root = record.previous_path, record.path
        check(bool(old_root), "a directory rename event has the previous path")
        query = tantivy.Query.term_query(self._schema, "ancestor_ids", record.inode_id)
        searcher = self._searcher()
        total = searcher.search(query, 1, count=True).count or 0
        for offset in range(0, total, SEARCH_RENAME_DOCUMENTS_PAGE):
            page = searcher.search(query, SEARCH_RENAME_DOCUMENTS_PAGE, count=False, offset=offset)
            for _, address in page.hits:
                inode = from_document(searcher.doc(address))
                if not inode.path.startswith(old_root + "/"):
                    self.misplaced_documents += 1
                    log.error("document %s was not below %s when it was renamed", inode.path, old_root)
                    continue
                self._write(moved(inode, old_root, new_root, record.ancestor_ids, record.inode_id))

    # -- writing --------------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        placements: dict[int, _Placement] = {}
        for inode_id, entry in pending.items():
            if entry is None:
                self._delete_where("inode_id", inode_id)
                self._uncommitted[inode_id] = None
            elif isinstance(entry, _Placement):
                placements[inode_id] = entry
            else:
                current = self._lookup(inode_id)
                if current is not None:
                    placements[inode_id] = _Placement(current.path, current.ancestor_ids)
        attributes, xattrs = self._read_attributes(sorted(placements))
        for inode_id, placement in placements.items():
            found = attributes.get(inode_id)
            if found is None:  # deleted since: its DELETE event follows
                self._delete_where("inode_id", inode_id)
                self._uncommitted[inode_id] = None
                continue
            self._write(
                indexed_inode(
                    inode_id, placement.path, placement.ancestor_ids, found, xattrs.get(inode_id, {})
                )
            )

    def _write(self, inode: IndexedInode) -> None:
        self._delete_where("inode_id", inode.inode_id)
        self._writer.add_document(to_document(inode))
        self._uncommitted[inode.inode_id] = inode
        self.documents_written += 1

    def _delete_where(self, field: str, value: int) -> None:
        # By query: tantivy-py's delete by term does not match unsigned fields (measured).
        self._writer.delete_documents_by_query(tantivy.Query.term_query(self._schema, field, value))

    def _commit(self) -> None:
        self._writer.commit()
        with self._searcher_lock:
            self._index.reload()
        self._uncommitted.clear()

    def _lookup(self, inode_id: int) -> IndexedInode | None:
        """The inode's document as this sink last wrote it, committed or not."""
        if inode_id in self._uncommitted:
            return self._uncommitted[inode_id]
        return self._find("inode_id", inode_id)

    def _read_attributes(
        self, inode_ids: list[int]
    ) -> tuple[dict[int, InodeAttributes], dict[int, dict[str, bytes]]]:
        attributes: dict[int, InodeAttributes] = {}
        xattrs: dict[int, dict[str, bytes]] = {}
        for start in range(0, len(inode_ids), SEARCH_ATTRIBUTE_READ_IDS_MAX):
            chunk = inode_ids[start : start + SEARCH_ATTRIBUTE_READ_IDS_MAX]
            attributes.update(self._reader.inode_attributes(chunk))
            xattrs.update(self._reader.user_xattrs(chunk))
        return attributes, xattrs

    def _searcher(self) -> tantivy.Searcher:
        with self._searcher_lock:
            return self._index.searcher()

    def _find(self, field: str, value: int | str) -> IndexedInode | None:
        searcher = self._searcher()
        result = searcher.search(tantivy.Query.term_query(self._schema, field, value), 1)
        if not result.hits:
            return None
        return from_document(searcher.doc(result.hits[0][1]))
