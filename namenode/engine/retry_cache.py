"""At-most-once operations across stateless namenodes: HopsFS's retry cache, kept in the database.

A client whose connection broke after it sent a create, rename or delete cannot know whether the call
ran. It sends the call again, with the same (client id, call id) and a higher retry count, to any
namenode. `with_retry_cache` wraps the operation so that its answer is recorded in the operation's own
transaction (committed together, or not at all), and a re-sent call finds that answer and returns it
instead of running again (which would answer e.g. FileAlreadyExists to the client's own create).

Only re-sent calls (retry count > 0) look the cache up: a first attempt always runs, so a client whose
call ids are not unique can never receive another call's answer. Entries expire after
RETRY_CACHE_EXPIRY_MS (Hadoop's 10 minutes); `Namespace.expire_retry_cache` deletes old ones. Errors
are not recorded: a re-sent call that failed runs again, as in Hadoop.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from hopsfs import limits
from hopsfs.errors import InvariantViolation
from hopsfs.invariants import check
from hopsfs.types import FileStatus, InodeKind, RetryKey
from namenode.block_entities import Block, DatanodeInfo, LocatedBlock
from namenode.small_file_values import BatchCreated, InlineCreated

if TYPE_CHECKING:  # txn imports this module to wrap operations
    from namenode.engine.txn import Transaction

T = TypeVar("T")


def with_retry_cache(
    retry: RetryKey | None, operation: Callable[[Transaction], T]
) -> Callable[[Transaction], T]:
    """`operation`, answering a re-sent call from the cache and recording a first answer."""
    if retry is None or len(retry.client_id) != limits.RETRY_CLIENT_ID_BYTES:
        return operation  # not an RPC call with a Hadoop client id: nothing to key an answer on

    def cached_operation(transaction: Transaction) -> T:
        if retry.retry_count > 0:
            payload = transaction.session.read_retry_result(
                retry.client_id, retry.call_id, transaction.now_ms
            )
            if payload is not None:
                return decode_result(payload)  # type: ignore[return-value]
        result = operation(transaction)
        transaction.record_retry_result(retry, encode_result(result))
        return result

    return cached_operation


def encode_result(value: object) -> bytes:
    if value is None or isinstance(value, bool):
        document: dict[str, object] = {"value": value}
    elif isinstance(value, FileStatus):
        document = {"status": _status_fields(value)}
    elif isinstance(value, InlineCreated):
        status = None if value.status is None else _status_fields(value.status)
        document = {"inline_created": {"status": status, "threshold": value.threshold_bytes}}
    elif isinstance(value, BatchCreated):
        # Ids only: a thousand statuses would outgrow an entry; a replay reads them again.
        document = {"batch_created": value.inode_ids}
    elif _is_append_result(value):
        status, located = value  # type: ignore[misc]
        block = None if located is None else dataclasses.asdict(located)
        document = {"append": {"status": _status_fields(status), "block": block}}
    else:
        raise InvariantViolation(f"an at-most-once operation returned {type(value).__name__}")
    payload = json.dumps(document, separators=(",", ":")).encode("utf-8")
    check(len(payload) <= limits.RETRY_CACHE_RESULT_BYTES_MAX, "retry cache entry over its size limit")
    return payload


def decode_result(payload: bytes) -> object:
    document = json.loads(payload)
    if "status" in document:
        return _status(document["status"])
    if "inline_created" in document:
        created = document["inline_created"]
        status = None if created["status"] is None else _status(created["status"])
        return InlineCreated(status, int(created["threshold"]))
    if "batch_created" in document:
        return BatchCreated(None, [int(inode_id) for inode_id in document["batch_created"]])
    if "append" in document:
        block = document["append"]["block"]
        return _status(document["append"]["status"]), None if block is None else _located_block(block)
    return document["value"]


def _status_fields(status: FileStatus) -> dict[str, object]:
    fields = dataclasses.asdict(status)
    fields["kind"] = int(status.kind)
    return fields


def _status(fields: dict[str, object]) -> FileStatus:
    values = dict(fields)
    values["kind"] = InodeKind(values["kind"])
    return FileStatus(**values)  # type: ignore[arg-type]


def _is_append_result(value: object) -> bool:
    """append answers (FileStatus, LocatedBlock | None)."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], FileStatus)
        and (value[1] is None or isinstance(value[1], LocatedBlock))
    )


def _located_block(fields: dict[str, object]) -> LocatedBlock:
    block = Block(**fields["block"])  # type: ignore[arg-type]
    locations = [DatanodeInfo(**location) for location in fields["locations"]]  # type: ignore[union-attr]
    return LocatedBlock(block, int(fields["offset"]), locations, bool(fields["corrupt"]))  # type: ignore[arg-type]
