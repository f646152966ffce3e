"""The `hopsfs dfs` commands that change the namespace: -mkdir, -mv, -rm, -rmdir, -chmod, -chown,
-chgrp, -touchz, -setfattr, -ln.

Paths to create (-mkdir, -touchz, -ln LINK, the -mv destination) are taken literally; paths that
must exist are glob-expanded. Recursive changes (-R) walk depth first and skip symlinks met on the
way, so a change never leaks out of the tree it was asked for. There is no trash yet: -rm deletes
at once and accepts -skipTrash for scripts written for hdfs.
"""

from __future__ import annotations

from collections.abc import Iterator

from hopsfs.cli.dfs_context import CommandContext
from hopsfs.cli.dfs_errors import NO_SUCH_PATH, CommandFailure, UsageError, path_message
from hopsfs.cli.dfs_format import decode_xattr_value
from hopsfs.cli.dfs_modes import parse_group, parse_mode, parse_owner
from hopsfs.cli.dfs_options import OptionSpec, ParsedArguments
from hopsfs.cli.dfs_paths import DfsPath, stat_or_none
from hopsfs.errors import DirectoryNotEmpty, FileNotFound
from hopsfs.invariants import check
from hopsfs.paths import ROOT
from hopsfs.types import FileStatus

# -- -mkdir ---------------------------------------------------------------------------------------

MKDIR_OPTIONS = OptionSpec(flags=frozenset("p"), operands_min=1)


def mkdir(context: CommandContext, arguments: ParsedArguments) -> None:
    parents = arguments.has("p")
    for text in arguments.operands:
        item = context.locate(text)
        if item is not None:
            with context.attempt(item.display):
                _make_directory(item, parents)


def _make_directory(item: DfsPath, parents: bool) -> None:
    existing = stat_or_none(item.client, item.path)
    if existing is not None:
        if not existing.is_directory:
            raise CommandFailure.for_path(item.display, "Is not a directory")
        if not parents:
            raise CommandFailure.for_path(item.display, "File exists")
        return
    try:
        item.client.mkdirs(item.path, create_parent=parents)
    except FileNotFound:
        # Without -p only the parent can be missing; Hadoop names it.
        raise CommandFailure.for_path(parent_display(item.display), NO_SUCH_PATH) from None


def parent_display(display: str) -> str:
    """The parent of a displayed path, displayed the same way (relative, absolute or URL)."""
    head, separator, _ = display.rstrip("/").rpartition("/")
    if not separator:
        return "."
    if not head or ("://" in head and "/" not in head.split("://", 1)[1]):
        return head + "/"  # the root, shown bare or after a URL's authority
    return head


# -- -mv ------------------------------------------------------------------------------------------

MV_OPTIONS = OptionSpec(operands_min=2)


def mv(context: CommandContext, arguments: ParsedArguments) -> None:
    """Move each source to DESTINATION, or into it when it is a directory (then several may go)."""
    *source_texts, destination_text = arguments.operands
    destination = context.locate(destination_text)
    if destination is None:
        return
    failures_before = context.failures
    with context.attempt(destination.display):
        destination.status = stat_or_none(destination.client, destination.path)
    if context.failures > failures_before:
        return  # the destination cannot be read: every move would fail the same way
    sources = [source for text in source_texts for source in context.expand(text)]
    if len(source_texts) > 1 or len(sources) > 1:
        if destination.status is None:
            context.fail(path_message(destination.display, NO_SUCH_PATH))
            return
        if not destination.status.is_directory:
            context.fail(path_message(destination.display, "Is not a directory"))
            return
    for source in sources:
        with context.attempt(source.display):
            _move(source, destination)


def _move(source: DfsPath, destination: DfsPath) -> None:
    if source.client is not destination.client:
        raise CommandFailure.for_path(source.display, "Does not match target filesystem")
    into_directory = destination.status is not None and destination.status.is_directory
    target = destination.named_child(source.name) if into_directory else destination
    if stat_or_none(target.client, target.path) is not None:
        raise CommandFailure.for_path(target.display, "File exists")
    source.client.rename(source.path, target.path)


# -- -rm and -rmdir -------------------------------------------------------------------------------

RM_OPTIONS = OptionSpec(flags=frozenset({"f", "r", "R", "skipTrash", "safely"}), operands_min=1)


def rm(context: CommandContext, arguments: ParsedArguments) -> None:
    recursive, force = arguments.has("r", "R"), arguments.has("f")
    for text in arguments.operands:
        for item in context.expand(text, missing_ok=force):
            with context.attempt(item.display):
                _remove(context, item, recursive=recursive, force=force)


def _remove(context: CommandContext, item: DfsPath, *, recursive: bool, force: bool) -> None:
    if _status(item).is_directory and not recursive:
        raise CommandFailure.for_path(item.display, "Is a directory")
    if item.path == ROOT:
        raise CommandFailure.for_path(item.display, "Cannot delete the root directory")
    if item.client.delete(item.path, recursive=recursive):
        context.print(f"Deleted {item.display}")
    elif not force:
        raise CommandFailure.for_path(item.display, NO_SUCH_PATH)  # gone since it was listed


IGNORE_NON_EMPTY = "-ignore-fail-on-non-empty"  # written --ignore-fail-on-non-empty, as in Hadoop
RMDIR_OPTIONS = OptionSpec(flags=frozenset({IGNORE_NON_EMPTY}), operands_min=1)


def rmdir(context: CommandContext, arguments: ParsedArguments) -> None:
    ignore_non_empty = arguments.has(IGNORE_NON_EMPTY)
    for text in arguments.operands:
        for item in context.expand(text):
            with context.attempt(item.display):
                if not _status(item).is_directory:
                    raise CommandFailure.for_path(item.display, "Is not a directory")
                try:
                    item.client.delete(item.path, recursive=False)
                except DirectoryNotEmpty:
                    if not ignore_non_empty:
                        raise


# -- -chmod, -chown, -chgrp -----------------------------------------------------------------------

CHANGE_OPTIONS = OptionSpec(flags=frozenset("R"), operands_min=2)


def chmod(context: CommandContext, arguments: ParsedArguments) -> None:
    mode_text, *texts = arguments.operands
    change = parse_mode(mode_text)
    for entry in _entries_to_change(context, texts, recursive=arguments.has("R")):
        with context.attempt(entry.display):
            entry.client.set_permission(entry.path, change.applied_to(_status(entry)))


def chown(context: CommandContext, arguments: ParsedArguments) -> None:
    owner_text, *texts = arguments.operands
    owner, group = parse_owner(owner_text)
    for entry in _entries_to_change(context, texts, recursive=arguments.has("R")):
        with context.attempt(entry.display):
            entry.client.set_owner(entry.path, owner, group)


def chgrp(context: CommandContext, arguments: ParsedArguments) -> None:
    group_text, *texts = arguments.operands
    group = parse_group(group_text)
    for entry in _entries_to_change(context, texts, recursive=arguments.has("R")):
        with context.attempt(entry.display):
            entry.client.set_owner(entry.path, None, group)


def _entries_to_change(context: CommandContext, texts: list[str], *, recursive: bool) -> Iterator[DfsPath]:
    """The paths the arguments name and, with -R, everything below them except symlinks.

    Lazy: a directory is listed only after it was changed, as in Hadoop, so `-chmod -R u+rx` still
    descends into a directory the change itself made readable.
    """
    for text in texts:
        for item in context.expand(text):
            for entry in context.subtree(item, recursive=recursive):
                if entry is item or not _status(entry).is_symlink:
                    yield entry


# -- -touchz --------------------------------------------------------------------------------------

TOUCHZ_OPTIONS = OptionSpec(operands_min=1)


def touchz(context: CommandContext, arguments: ParsedArguments) -> None:
    for text in arguments.operands:
        item = context.locate(text)
        if item is not None:
            with context.attempt(item.display):
                _touch(item)


def _touch(item: DfsPath) -> None:
    existing = stat_or_none(item.client, item.path)
    if existing is not None and existing.is_directory:
        raise CommandFailure.for_path(item.display, "Is a directory")
    if existing is not None and existing.size:
        raise CommandFailure.for_path(item.display, "Not a zero-length file")
    if existing is not None and existing.is_symlink:
        # Re-creating it would replace the link by a file; hdfs would touch the link's target.
        raise CommandFailure.for_path(item.display, "Is a symlink (hopsfs dfs does not follow symlinks)")
    # Hadoop re-creates an existing empty file; a missing parent is an error, never created.
    item.client.touch(item.path, overwrite=existing is not None, create_parent=False)


# -- -setfattr ------------------------------------------------------------------------------------

SETFATTR_OPTIONS = OptionSpec(valued=frozenset("nvx"), operands_min=1, operands_max=1)


def setfattr(context: CommandContext, arguments: ParsedArguments) -> None:
    name, removed = arguments.values.get("n"), arguments.values.get("x")
    if name is None and removed is None:
        raise UsageError("Must specify '-n name' or '-x name' option")
    if name is not None and removed is not None:
        raise UsageError("Can not specify both '-n name' and '-x name' option")
    value_text = arguments.values.get("v")
    if value_text is not None and name is None:
        raise UsageError("-v value goes with -n name")
    value = decode_xattr_value(value_text) if value_text is not None else b""
    for item in context.expand(arguments.operands[0]):
        with context.attempt(item.display):
            if name is not None:
                item.client.set_xattr(item.path, name, value)
            elif removed is not None:
                item.client.remove_xattr(item.path, removed)


# -- -ln ------------------------------------------------------------------------------------------

LN_OPTIONS = OptionSpec(operands_min=2, operands_max=2)


def ln(context: CommandContext, arguments: ParsedArguments) -> None:
    """A symlink LINK -> TARGET. TARGET is stored as written (like `ln -s`): it need not exist, and a
    relative one is relative to LINK's directory when followed."""
    target_text, link_text = arguments.operands
    link = context.locate(link_text)
    if link is not None:
        with context.attempt(link.display):
            link.client.create_symlink(target_text, link.path, create_parent=False)


def _status(item: DfsPath) -> FileStatus:
    check(item.status is not None, "expanded paths carry their status")
    assert item.status is not None
    return item.status
