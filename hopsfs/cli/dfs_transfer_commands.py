"""The `hopsfs dfs` commands that move file data between the local filesystem and hopsfs: -put
(-copyFromLocal), -get (-copyToLocal), -appendToFile.

As in Hadoop:
- several sources need an existing directory as the destination; a single source may name the
  target itself; a directory is copied with everything below it (into an existing target directory,
  merging); an existing target file is an error without -f;
- a file is written to `<target>._COPYING_` and renamed into place once complete (-put -d writes the
  target directly), so a failed or interrupted copy never leaves a partial file under the real name;
  the temporary file is deleted on failure; the small files of a directory go in batches, each
  created whole in one transaction, so they need no temporary name (dfs_batch_put.py);
- -p keeps modification and access times and permission bits (not owners: that needs the superuser);
- `-` as the source of -put or -appendToFile is standard input.
A transfer of 8 MiB or more shows a progress bar on stderr when stderr is a terminal.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from typing import BinaryIO

from hopsfs.cli.dfs_batch_put import put_small_files
from hopsfs.cli.dfs_context import CommandContext
from hopsfs.cli.dfs_errors import NO_SUCH_PATH, CommandFailure
from hopsfs.cli.dfs_options import STANDARD_INPUT, OptionSpec, ParsedArguments
from hopsfs.cli.dfs_paths import CURRENT_DIRECTORY, DfsPath, list_directory, stat_or_none
from hopsfs.cli.progress import ProgressReporter, progress_for
from hopsfs.client.sync_streams import OutputStream
from hopsfs.errors import FileNotFound, HopsFSError
from hopsfs.types import FileStatus

COPYING_SUFFIX = "._COPYING_"
COPY_CHUNK_BYTES = 1024 * 1024


# -- -put / -copyFromLocal --------------------------------------------------------------------------

PUT_OPTIONS = OptionSpec(flags=frozenset({"f", "p", "d", "l"}), operands_min=1)


def put(context: CommandContext, arguments: ParsedArguments) -> None:
    """Copy local files, directories or standard input to hopsfs (`-l` is accepted and ignored)."""
    *sources, destination_text = (
        arguments.operands if len(arguments.operands) > 1 else [*arguments.operands, "."]
    )
    destination = context.locate(destination_text)
    if destination is None:
        return
    with context.attempt(destination.display):
        destination.status = stat_or_none(destination.client, destination.path)
        into_directory = destination.status is not None and destination.status.is_directory
        if len(sources) > 1 and not into_directory:
            raise _destination_problem(destination)
        options = _CopyOptions(arguments.has("f"), arguments.has("p"), arguments.has("d"))
        for source in sources:
            target = destination.named_child(_local_name(source)) if into_directory else destination
            with context.attempt(target.display), _local_errors(source):
                if source == STANDARD_INPUT:
                    _put_stream(context, sys.stdin.buffer, target, options, size=None)
                else:
                    _put_local(context, source, target, options)


@contextlib.contextmanager
def _local_errors(local_path: str) -> Iterator[None]:
    """A local file that cannot be read becomes the command's one-line failure naming it."""
    try:
        yield
    except OSError as error:
        raise CommandFailure.for_path(local_path, error.strerror or str(error)) from None


class _CopyOptions:
    def __init__(self, overwrite: bool, preserve: bool, direct: bool) -> None:
        self.overwrite = overwrite
        self.preserve = preserve
        self.direct = direct


def _put_local(context: CommandContext, source: str, target: DfsPath, options: _CopyOptions) -> None:
    try:
        source_stat = os.stat(source)
    except FileNotFoundError:
        raise CommandFailure.for_path(source, NO_SUCH_PATH) from None
    except OSError as error:
        raise CommandFailure.for_path(source, error.strerror or str(error)) from None
    if stat.S_ISDIR(source_stat.st_mode):
        _put_tree(context, source, target, options)
        return
    with open(source, "rb") as stream:
        _put_stream(context, stream, target, options, size=source_stat.st_size)
    if options.preserve:
        _preserve_remote(target, source_stat)


def _put_tree(context: CommandContext, root: str, target: DfsPath, options: _CopyOptions) -> None:
    """A local directory and everything below it, depth first: its small files in batches, every
    other file (and a small one whose batch failed) as one attempt."""
    pending: list[tuple[str, DfsPath]] = [(root, target)]
    while pending:
        local_directory, remote_directory = pending.pop()
        with context.attempt(remote_directory.display):
            _make_remote_directory(remote_directory)
            names = sorted(os.listdir(local_directory))
            files: list[tuple[str, DfsPath]] = []
            for name in names:
                local_path = os.path.join(local_directory, name)
                remote_path = remote_directory.named_child(name)
                if os.path.isdir(local_path) and not os.path.islink(local_path):
                    pending.append((local_path, remote_path))
                else:
                    files.append((local_path, remote_path))
            preserve = _preserve_remote if options.preserve else None
            # Small files go in batches, one namenode call per thousand (dfs_batch_put.py).
            for local_path, remote_path in put_small_files(
                context, files, overwrite=options.overwrite, preserve=preserve
            ):
                with context.attempt(remote_path.display), _local_errors(local_path):
                    _put_local(context, local_path, remote_path, options)
            if options.preserve:
                _preserve_remote(remote_directory, os.stat(local_directory))


def _make_remote_directory(directory: DfsPath) -> None:
    existing = stat_or_none(directory.client, directory.path)
    if existing is not None and not existing.is_directory:
        raise CommandFailure.for_path(directory.display, "File exists")
    if existing is None:
        try:
            directory.client.mkdirs(directory.path, create_parent=False)
        except FileNotFound:
            raise CommandFailure.for_path(directory.display, NO_SUCH_PATH) from None


def _put_stream(
    context: CommandContext, source: BinaryIO, target: DfsPath, options: _CopyOptions, *, size: int | None
) -> None:
    """Write `source` to `target` (through `<target>._COPYING_` unless -d)."""
    existing = stat_or_none(target.client, target.path)
    if existing is not None and existing.is_directory:
        raise CommandFailure.for_path(target.display, "Is a directory")
    if existing is not None and not options.overwrite:
        raise CommandFailure.for_path(target.display, "File exists")
    written_path = target.path if options.direct else target.path + COPYING_SUFFIX
    try:
        # A small file ends up in the metadata store, one call at close (hopsfs client streams).
        output = target.client.create_inline_first(
            written_path,
            overwrite=True,
            create_parent=False,
            replication=context.replication,
            block_size=context.block_size,
        )
    except FileNotFound:
        raise CommandFailure.for_path(_parent_display(target.display), NO_SUCH_PATH) from None
    try:
        _copy(source, output, progress_for(context.stderr, target.display, size))
    except BaseException:
        _abandon(target, output, written_path)
        raise
    if not options.direct:
        target.client.rename(written_path, target.path, overwrite=options.overwrite)


def _copy(source: BinaryIO, output: OutputStream, progress: ProgressReporter) -> None:
    while chunk := source.read(COPY_CHUNK_BYTES):
        output.write(chunk)
        progress.advance(len(chunk))
    output.close()
    progress.finish()


def _abandon(target: DfsPath, output: OutputStream, written_path: str) -> None:
    """Stop a failed copy and remove what it wrote (best effort: the first error is the one shown)."""
    with contextlib.suppress(HopsFSError, OSError, ValueError):
        output.abort()
    with contextlib.suppress(HopsFSError):
        target.client.delete(written_path)


def _preserve_remote(target: DfsPath, source_stat: os.stat_result) -> None:
    target.client.set_times(
        target.path,
        modification_time_ms=int(source_stat.st_mtime * 1000),
        access_time_ms=int(source_stat.st_atime * 1000),
    )
    target.client.set_permission(target.path, stat.S_IMODE(source_stat.st_mode))


def _destination_problem(destination: DfsPath) -> CommandFailure:
    if destination.status is None:
        return CommandFailure.for_path(destination.display, NO_SUCH_PATH)
    return CommandFailure.for_path(destination.display, "Is not a directory")


def _local_name(source: str) -> str:
    return os.path.basename(os.path.normpath(source)) if source != STANDARD_INPUT else STANDARD_INPUT


def _parent_display(display: str) -> str:
    head, separator, _ = display.rstrip("/").rpartition("/")
    return (head or "/") if separator else CURRENT_DIRECTORY


# -- -get / -copyToLocal ----------------------------------------------------------------------------

GET_OPTIONS = OptionSpec(flags=frozenset({"f", "p", "ignoreCrc", "crc"}), operands_min=1)


def get(context: CommandContext, arguments: ParsedArguments) -> None:
    """Copy files and directories from hopsfs to the local filesystem (checksums are always verified:
    -ignoreCrc and -crc are accepted and change nothing)."""
    operands = arguments.operands if len(arguments.operands) > 1 else [*arguments.operands, "."]
    *source_texts, local_destination = operands
    into_directory = os.path.isdir(local_destination)
    items = [item for text in source_texts for item in context.expand(text)]
    if len(items) > 1 and not into_directory:
        reason = "Is not a directory" if os.path.exists(local_destination) else NO_SUCH_PATH
        context.fail(f"`{local_destination}': {reason}")
        return
    overwrite, preserve = arguments.has("f"), arguments.has("p")
    for item in items:
        target = os.path.join(local_destination, item.name or "root") if into_directory else local_destination
        with context.attempt(item.display):
            for entry, local_path in _remote_tree(context, item, target):
                with context.attempt(entry.display):
                    _get_entry(context, entry, local_path, overwrite=overwrite, preserve=preserve)


def _remote_tree(context: CommandContext, root: DfsPath, local_root: str) -> Iterator[tuple[DfsPath, str]]:
    """`root` and (for a directory) everything below it, with the local path each one goes to."""
    for entry in context.subtree(root, recursive=True, list_children=list_directory):
        relative = entry.path[len(root.path) :].lstrip("/") if entry is not root else ""
        yield entry, os.path.join(local_root, relative) if relative else local_root


def _get_entry(
    context: CommandContext, entry: DfsPath, local_path: str, *, overwrite: bool, preserve: bool
) -> None:
    status = _status(entry)
    if status.is_symlink:
        raise CommandFailure.for_path(entry.display, "Is a symlink (hopsfs dfs does not follow symlinks)")
    if status.is_directory:
        if os.path.exists(local_path) and not os.path.isdir(local_path):
            raise CommandFailure.for_path(local_path, "File exists")
        os.makedirs(local_path, exist_ok=True)
    else:
        _get_file(context, entry, local_path, overwrite=overwrite)
    if preserve:
        os.utime(local_path, ns=(status.access_time_ms * 1_000_000, status.modification_time_ms * 1_000_000))
        os.chmod(local_path, status.permission & 0o7777)


def _get_file(context: CommandContext, entry: DfsPath, local_path: str, *, overwrite: bool) -> None:
    if os.path.exists(local_path) and not overwrite:
        raise CommandFailure.for_path(local_path, "File exists")
    temporary = local_path + COPYING_SUFFIX
    try:
        with entry.client.open(entry.path, "rb") as stream, open(temporary, "wb") as local_file:
            progress = progress_for(context.stderr, entry.display, _status(entry).size)
            while chunk := stream.read(COPY_CHUNK_BYTES):
                local_file.write(chunk)
                progress.advance(len(chunk))
            progress.finish()
        os.replace(temporary, local_path)
    except OSError as error:
        _remove_quietly(temporary)
        raise CommandFailure.for_path(local_path, error.strerror or str(error)) from None
    except BaseException:
        _remove_quietly(temporary)
        raise


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


def _status(item: DfsPath) -> FileStatus:
    if item.status is None:
        raise CommandFailure.for_path(item.display, NO_SUCH_PATH)
    return item.status


# -- -appendToFile ----------------------------------------------------------------------------------

APPEND_OPTIONS = OptionSpec(operands_min=2)


def append_to_file(context: CommandContext, arguments: ParsedArguments) -> None:
    """Append local files (or standard input, `-`) to a hopsfs file, creating it if missing."""
    *sources, destination_text = arguments.operands
    for source in sources:
        if source != STANDARD_INPUT and not os.path.isfile(source):
            reason = "Is a directory" if os.path.isdir(source) else NO_SUCH_PATH
            context.fail(f"`{source}': {reason}")
            return
    destination = context.locate(destination_text)
    if destination is None:
        return
    with context.attempt(destination.display):
        existing = stat_or_none(destination.client, destination.path)
        if existing is not None and existing.is_directory:
            raise CommandFailure.for_path(destination.display, "Is a directory")
        client = destination.client
        output = (
            client.append(destination.path)
            if existing is not None
            else client.create(
                destination.path, replication=context.replication, block_size=context.block_size
            )
        )
        try:
            for source in sources:
                with _local_errors(source):
                    _append_source(context, source, output, destination.display)
        except BaseException:
            with contextlib.suppress(HopsFSError, OSError, ValueError):
                output.abort()
            raise
        output.close()


def _append_source(context: CommandContext, source: str, output: OutputStream, display: str) -> None:
    if source == STANDARD_INPUT:
        _copy_into(sys.stdin.buffer, output, progress_for(context.stderr, display, None))
        return
    with open(source, "rb") as stream:
        _copy_into(stream, output, progress_for(context.stderr, display, os.fstat(stream.fileno()).st_size))


def _copy_into(source: BinaryIO, output: OutputStream, progress: ProgressReporter) -> None:
    while chunk := source.read(COPY_CHUNK_BYTES):
        output.write(chunk)
        progress.advance(len(chunk))
    progress.finish()
