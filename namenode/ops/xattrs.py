"""Extended attributes (HDFS XAttr semantics) in the `user.` and `trusted.` namespaces.

`user.` needs READ on the inode to get and WRITE to set; `trusted.` is for the superuser only.
Names are bounded by the component limit; name plus value by XATTR_SIZE_BYTES_MAX; the count per
inode by XATTRS_PER_INODE_MAX. Lock set: the target only.
"""

from __future__ import annotations

import enum

from hopsfs import limits
from hopsfs.errors import FileAlreadyExists, InvalidArgument, LimitExceeded, XAttrNotFound
from hopsfs.types import XAttrSetFlag
from namenode.engine.permissions import READ, STICKY_BIT, WRITE
from namenode.engine.resolver import check_traverse, require_target, resolve
from namenode.engine.txn import Transaction
from namenode.entities import InodeRow
from namenode.ops.common import check_path_free


class XAttrNamespace(enum.IntEnum):
    USER = 0
    TRUSTED = 1


def parse_name(full_name: str) -> tuple[XAttrNamespace, str]:
    """'user.color' -> (USER, 'color'). Raises InvalidArgument for other namespaces or bad names."""
    if not isinstance(full_name, str) or "." not in full_name:
        raise InvalidArgument(
            "An XAttr name must be prefixed with user/trusted/security/system/raw, "
            f"followed by a '.': {full_name!r}"
        )
    prefix, name = full_name.split(".", 1)
    try:
        namespace = XAttrNamespace[prefix.upper()]
    except KeyError:
        raise InvalidArgument(f"unsupported xattr namespace {prefix!r}: use user. or trusted.") from None
    if prefix != prefix.lower():
        raise InvalidArgument(f"xattr namespace must be lower case: {full_name!r}")
    if not name or len(name.encode("utf-8")) > limits.PATH_COMPONENT_BYTES_MAX or "\x00" in name:
        raise InvalidArgument(f"invalid xattr name {full_name!r}")
    return namespace, name


def full_name(namespace: int, name: str) -> str:
    return f"{XAttrNamespace(namespace).name.lower()}.{name}"


def set_xattr(transaction: Transaction, path: str, name: str, value: bytes, flags: XAttrSetFlag) -> None:
    namespace, short_name = parse_name(name)
    if not isinstance(value, bytes | bytearray):
        raise InvalidArgument("an xattr value must be bytes")
    if len(short_name.encode("utf-8")) + len(value) > limits.XATTR_SIZE_BYTES_MAX:
        raise LimitExceeded(
            "The XAttr is too big. The maximum combined size of the name and value is "
            f"{limits.XATTR_SIZE_BYTES_MAX}"
        )
    if not flags & (XAttrSetFlag.CREATE | XAttrSetFlag.REPLACE):
        raise InvalidArgument("xattr set flags must include CREATE or REPLACE")
    row = _lock_target(transaction, path, namespace)
    existing = {(ns, key) for ns, key, _ in transaction.session.read_xattrs(row.id)}
    present = (namespace, short_name) in existing
    if present and not flags & XAttrSetFlag.REPLACE:
        raise FileAlreadyExists(f"XAttr: {name} already exists. The REPLACE flag must be specified.")
    if not present and not flags & XAttrSetFlag.CREATE:
        raise XAttrNotFound(f"XAttr: {name} does not exist. The CREATE flag must be specified.")
    if not present and len(existing) >= limits.XATTRS_PER_INODE_MAX:
        raise LimitExceeded(
            f"Cannot add additional XAttr to inode, would exceed limit of {limits.XATTRS_PER_INODE_MAX}"
        )
    transaction.set_xattr(row.id, namespace, short_name, bytes(value), replace=present)
    if not present:
        row.xattr_count += 1
    transaction.update(row)
    transaction.log_change("XATTR_SET", row)


def remove_xattr(transaction: Transaction, path: str, name: str) -> None:
    namespace, short_name = parse_name(name)
    row = _lock_target(transaction, path, namespace)
    existing = {(ns, key) for ns, key, _ in transaction.session.read_xattrs(row.id)}
    if (namespace, short_name) not in existing:
        raise XAttrNotFound(f"No matching attributes found for remove operation: {name}")
    transaction.remove_xattr(row.id, namespace, short_name)
    row.xattr_count -= 1
    transaction.update(row)
    transaction.log_change("XATTR_REMOVE", row)


def get_xattrs(transaction: Transaction, path: str, names: list[str] | None) -> dict[str, bytes]:
    """All readable xattrs, or exactly `names` (XAttrNotFound if one is missing)."""
    wanted = [parse_name(name) for name in names] if names else None
    for namespace, _ in wanted or ():
        _require_namespace_access(transaction, namespace)  # HDFS refuses the names before the path
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    row = require_target(resolved)
    permissions = transaction.permissions
    permissions.require(row, READ, path)
    stored = {
        (namespace, key): value
        for namespace, key, value in transaction.session.read_xattrs(row.id)
        if namespace == XAttrNamespace.USER or permissions.is_superuser
    }
    if wanted is None:
        return {full_name(namespace, key): value for (namespace, key), value in sorted(stored.items())}
    result: dict[str, bytes] = {}
    for namespace, key in wanted:
        if (namespace, key) not in stored:
            raise XAttrNotFound(
                "At least one of the attributes provided was not found: " + full_name(namespace, key)
            )
        result[full_name(namespace, key)] = stored[(namespace, key)]
    return result


def list_xattrs(transaction: Transaction, path: str) -> list[str]:
    """Names visible to the caller; HDFS needs only traverse access to list them."""
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    row = require_target(resolved)
    superuser = transaction.permissions.is_superuser
    return sorted(
        full_name(namespace, key)
        for namespace, key, _ in transaction.session.read_xattrs(row.id)
        if namespace == XAttrNamespace.USER or superuser
    )


def _lock_target(transaction: Transaction, path: str, namespace: XAttrNamespace) -> InodeRow:
    """The locked target, once the caller may change its xattrs: WRITE, or ownership of a sticky
    directory (HDFS FSDirXAttrOp.checkXAttrChangeAccess)."""
    _require_namespace_access(transaction, namespace)
    resolved = resolve(transaction, path)
    check_traverse(transaction, resolved)
    target = require_target(resolved)
    check_path_free(transaction, resolved)
    row = transaction.lock([target])[target.id]
    if row.is_directory and row.permission & STICKY_BIT:
        transaction.permissions.require_owner(row, path)
    else:
        transaction.permissions.require(row, WRITE, path)
    return row


def _require_namespace_access(transaction: Transaction, namespace: XAttrNamespace) -> None:
    if namespace == XAttrNamespace.TRUSTED:
        transaction.permissions.require_superuser("access trusted. extended attributes")
