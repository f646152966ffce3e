"""The search index's schema and documents (tantivy), kept apart from the sink's event logic.

One document per inode (the root excepted), keyed by `inode_id`. Text fields for full-text search
(`name`, `path_text`, `xattrs`), exact fields for filters (`path`, `prefixes`, `owner`, `group`,
`kind`, `xattr`, `xattr_names`), numbers for ranges (`size`, `modification_time`, `access_time`).
`prefixes` holds the path of every ancestor and the path itself, so "under /a/b" is one term query;
`ancestor_ids` holds the ids of the directories above, so a renamed or deleted directory finds its
descendants by one term query however it is named now. Every field a re-pathed document needs is
stored, so a directory rename rewrites descendants without reading the metadata store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tantivy

from cdc.metadata import InodeAttributes
from hopsfs.invariants import check
from hopsfs.types import InodeKind

DEFAULT_QUERY_FIELDS = ["name", "path_text", "xattrs"]
KIND_NAMES = {InodeKind.FILE: "file", InodeKind.DIRECTORY: "directory", InodeKind.SYMLINK: "symlink"}
KIND_VALUES = {name: int(kind) for kind, name in KIND_NAMES.items()}


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("inode_id", stored=True, indexed=True, fast=True)
    builder.add_text_field("path", stored=True, tokenizer_name="raw")
    builder.add_text_field("path_text", stored=False)
    builder.add_text_field("prefixes", stored=False, tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field("ancestor_ids", stored=True, indexed=True)
    builder.add_text_field("name", stored=True)
    builder.add_text_field("owner", stored=True, tokenizer_name="raw")
    builder.add_text_field("group", stored=True, tokenizer_name="raw")
    builder.add_text_field("kind", stored=True, tokenizer_name="raw")
    builder.add_unsigned_field("permission", stored=True)
    builder.add_unsigned_field("size", stored=True, indexed=True, fast=True)
    builder.add_integer_field("modification_time", stored=True, indexed=True, fast=True)
    builder.add_integer_field("access_time", stored=True, indexed=True, fast=True)
    builder.add_text_field("xattr", stored=True, tokenizer_name="raw")
    builder.add_text_field("xattr_names", stored=False, tokenizer_name="raw")
    builder.add_text_field("xattrs", stored=False)
    return builder.build()


@dataclass(frozen=True, slots=True)
class IndexedInode:
    """What one document says about one inode."""

    inode_id: int
    path: str
    ancestor_ids: tuple[int, ...]
    name: str
    owner: str
    group: str
    kind: int
    permission: int
    size: int
    modification_time: int
    access_time: int
    xattrs: dict[str, str] = field(default_factory=dict)


def indexed_inode(
    inode_id: int,
    path: str,
    ancestor_ids: tuple[int, ...],
    attributes: InodeAttributes,
    xattrs: dict[str, bytes],
) -> IndexedInode:
    check(attributes.inode_id == inode_id, "attributes belong to the inode indexed")
    return IndexedInode(
        inode_id=inode_id,
        path=path,
        ancestor_ids=ancestor_ids,
        name=path.rsplit("/", 1)[-1],
        owner=attributes.owner,
        group=attributes.group,
        kind=attributes.kind,
        permission=attributes.permission,
        size=attributes.size,
        modification_time=attributes.modification_time,
        access_time=attributes.access_time,
        xattrs={name: value.decode("utf-8", errors="replace") for name, value in sorted(xattrs.items())},
    )


def to_document(inode: IndexedInode) -> tantivy.Document:
    check(inode.path.startswith("/") and inode.path != "/", "documents are for inodes below the root")
    document = tantivy.Document()
    document.add_unsigned("inode_id", inode.inode_id)
    document.add_text("path", inode.path)
    document.add_text("path_text", inode.path.replace("/", " "))
    for prefix in path_prefixes(inode.path):
        document.add_text("prefixes", prefix)
    for ancestor_id in inode.ancestor_ids:
        document.add_unsigned("ancestor_ids", ancestor_id)
    document.add_text("name", inode.name)
    document.add_text("owner", inode.owner)
    document.add_text("group", inode.group)
    document.add_text("kind", KIND_NAMES.get(InodeKind(inode.kind), "file"))
    document.add_unsigned("permission", inode.permission)
    document.add_unsigned("size", max(inode.size, 0))
    document.add_integer("modification_time", inode.modification_time)
    document.add_integer("access_time", inode.access_time)
    for name, value in inode.xattrs.items():
        document.add_text("xattr", f"{name}={value}")
        document.add_text("xattr_names", name)
        document.add_text("xattrs", f"{name} {value}")
    return document


def from_document(document: tantivy.Document) -> IndexedInode:
    values: dict[str, list[Any]] = document.to_dict()
    xattrs: dict[str, str] = {}
    for pair in values.get("xattr", []):
        name, _, value = str(pair).partition("=")
        xattrs[name] = value
    path = str(values["path"][0])
    return IndexedInode(
        inode_id=int(values["inode_id"][0]),
        path=path,
        ancestor_ids=tuple(int(value) for value in values.get("ancestor_ids", [])),
        name=str(values["name"][0]),
        owner=str(values["owner"][0]),
        group=str(values["group"][0]),
        kind=KIND_VALUES.get(str(values["kind"][0]), int(InodeKind.FILE)),
        permission=int(values["permission"][0]),
        size=int(values["size"][0]),
        modification_time=int(values["modification_time"][0]),
        access_time=int(values["access_time"][0]),
        xattrs=xattrs,
    )


def path_prefixes(path: str) -> list[str]:
    """ "/a/b/c" -> ["/a", "/a/b", "/a/b/c"]."""
    components = path.strip("/").split("/")
    return ["/" + "/".join(components[: index + 1]) for index in range(len(components))]


def moved(
    inode: IndexedInode, old_root: str, new_root: str, new_root_ancestors: tuple[int, ...], root_id: int
) -> IndexedInode:
    """`inode` (a descendant of directory `root_id`) after that directory moved from old_root to new_root."""
    check(inode.path.startswith(old_root + "/"), "a moved document was below the renamed directory")
    check(root_id in inode.ancestor_ids, "a moved document has the renamed directory among its ancestors")
    below = inode.ancestor_ids[inode.ancestor_ids.index(root_id) :]
    return IndexedInode(
        inode_id=inode.inode_id,
        path=new_root + inode.path[len(old_root) :],
        ancestor_ids=new_root_ancestors + below,
        name=inode.name,
        owner=inode.owner,
        group=inode.group,
        kind=inode.kind,
        permission=inode.permission,
        size=inode.size,
        modification_time=inode.modification_time,
        access_time=inode.access_time,
        xattrs=inode.xattrs,
    )
