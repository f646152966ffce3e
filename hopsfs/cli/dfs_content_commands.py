"""The `hopsfs dfs` commands that print file contents or change how they are stored: -cat, -head,
-tail, -text, -setrep, -truncate.

Contents go to standard output as bytes, unchanged (-text alone decodes: a gzip file is printed
decompressed). `-tail -f` keeps printing what is appended, polling every `TAIL_FOLLOW_INTERVAL_S`
(Hadoop: 5 s; `-s SECONDS` sets it) until interrupted. `-setrep -w` waits until every block of each
file has exactly the new number of replicas, asking the namenode every `SETREP_POLL_INTERVAL_S`
(decreasing takes until the namenode removes the extra replicas). `-truncate -w` waits, after every
file was cut, for the block recoveries that finish cuts inside a block.
"""

from __future__ import annotations

import gzip
import time
from typing import BinaryIO, TextIO, cast

from hopsfs.cli.dfs_context import CommandContext
from hopsfs.cli.dfs_errors import CommandFailure, UsageError
from hopsfs.cli.dfs_options import OptionSpec, ParsedArguments
from hopsfs.cli.dfs_paths import DfsPath
from hopsfs.client.sync_streams import InputStream
from hopsfs.invariants import check
from hopsfs.types import FileStatus

COPY_CHUNK_BYTES = 1024 * 1024
HEAD_TAIL_BYTES = 1024
TAIL_FOLLOW_INTERVAL_S = 1.0
SETREP_POLL_INTERVAL_S = 1.0
GZIP_MAGIC = b"\x1f\x8b"


# -- -cat, -head, -text -----------------------------------------------------------------------------

CAT_OPTIONS = OptionSpec(flags=frozenset({"ignoreCrc"}), operands_min=1)


def cat(context: CommandContext, arguments: ParsedArguments) -> None:
    output = binary_output(context.stdout)
    for text in arguments.operands:
        for item in context.expand(text):
            with context.attempt(item.display):
                _require_file(item)
                with _open(item) as stream:
                    _copy(stream, output)


HEAD_OPTIONS = OptionSpec(operands_min=1, operands_max=1)


def head(context: CommandContext, arguments: ParsedArguments) -> None:
    """The first kilobyte of a file."""
    output = binary_output(context.stdout)
    for item in context.expand(arguments.operands[0]):
        with context.attempt(item.display):
            _require_file(item)
            output.write(item.client.read_bytes(item.path, 0, HEAD_TAIL_BYTES))
            output.flush()


TEXT_OPTIONS = OptionSpec(flags=frozenset({"ignoreCrc"}), operands_min=1)


def text(context: CommandContext, arguments: ParsedArguments) -> None:
    """Like -cat, but a gzip-compressed file is printed decompressed."""
    output = binary_output(context.stdout)
    for operand in arguments.operands:
        for item in context.expand(operand):
            with context.attempt(item.display):
                _require_file(item)
                with _open(item) as stream:
                    compressed = stream.read_at(0, len(GZIP_MAGIC)) == GZIP_MAGIC
                    if compressed:
                        try:
                            _copy(gzip.GzipFile(fileobj=stream, mode="rb"), output)
                        except (OSError, EOFError) as error:
                            raise CommandFailure.for_path(
                                item.display, f"not valid gzip data: {error}"
                            ) from None
                    else:
                        _copy(stream, output)


# -- -tail ------------------------------------------------------------------------------------------

TAIL_OPTIONS = OptionSpec(flags=frozenset({"f"}), valued=frozenset({"s"}), operands_min=1, operands_max=1)


def tail(context: CommandContext, arguments: ParsedArguments) -> None:
    """The last kilobyte of a file; with -f, then whatever is appended, until interrupted."""
    interval_s = _interval(arguments.values.get("s"))
    output = binary_output(context.stdout)
    for item in context.expand(arguments.operands[0]):
        with context.attempt(item.display):
            _require_file(item)
            with _open(item) as stream:
                position = max(stream.length - HEAD_TAIL_BYTES, 0)
                position = _print_from(stream, position, output)
                while arguments.has("f"):
                    time.sleep(interval_s)
                    length = stream.refresh()
                    position = min(position, length)  # a file truncated or replaced restarts at its end
                    position = _print_from(stream, position, output)


def _print_from(stream: InputStream, position: int, output: BinaryIO) -> int:
    stream.seek(position)
    _copy(stream, output)
    return stream.tell()


def _interval(value: str | None) -> float:
    if value is None:
        return TAIL_FOLLOW_INTERVAL_S
    try:
        interval_s = float(value)
    except ValueError:
        raise UsageError(f"-s needs a number of seconds, not {value!r}") from None
    if not interval_s > 0:
        raise UsageError(f"-s needs a positive number of seconds, not {value!r}")
    return interval_s


# -- -setrep ----------------------------------------------------------------------------------------

SETREP_OPTIONS = OptionSpec(flags=frozenset({"R", "w"}), operands_min=2)


def setrep(context: CommandContext, arguments: ParsedArguments) -> None:
    """Set the replication of files (of every file below a directory; -R is accepted for that);
    with -w wait until each file's blocks have that many replicas."""
    replication_text, *texts = arguments.operands
    replication = _replication(replication_text)
    changed: list[DfsPath] = []
    for operand in texts:
        for item in context.expand(operand):
            for entry in context.subtree(item, recursive=True):
                status = _status(entry)
                if not status.is_file:
                    continue
                with context.attempt(entry.display):
                    if entry.client.set_replication(entry.path, replication):
                        context.print(f"Replication {replication} set: {entry.display}")
                        changed.append(entry)
    if arguments.has("w"):
        for entry in changed:
            with context.attempt(entry.display):
                _wait_for_replication(context, entry, replication)


def _replication(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"Illegal replication, a positive integer expected: {value}")
    return int(value)


def _wait_for_replication(context: CommandContext, entry: DfsPath, replication: int) -> None:
    context.stdout.write(f"Waiting for {entry.display} ...")
    context.stdout.flush()
    if entry.client.inline_bytes(entry.path) is not None:
        context.print(" done")  # a small file in the metadata store: no replicas to wait for
        return
    while True:
        located = entry.client.get_block_locations(entry.path)
        if all(len(block.locations) == replication for block in located.all_blocks()):
            break
        context.stdout.write(".")
        context.stdout.flush()
        time.sleep(SETREP_POLL_INTERVAL_S)
    context.print(" done")


# -- -truncate --------------------------------------------------------------------------------------

TRUNCATE_OPTIONS = OptionSpec(flags=frozenset({"w"}), operands_min=2)


def truncate(context: CommandContext, arguments: ParsedArguments) -> None:
    """Cut files to a length, printing Hadoop's lines; with -w wait for the block recoveries that
    finish cuts inside a block, after every file was asked."""
    length_text, *texts = arguments.operands
    length = _length(length_text)
    recovering: list[DfsPath] = []
    for operand in texts:
        for item in context.expand(operand):
            with context.attempt(item.display):
                if _truncate_one(context, item, length, wait_later=arguments.has("w")):
                    recovering.append(item)
    for item in recovering:
        context.print(f"Waiting for {item.display} ...")
        with context.attempt(item.display):
            try:
                # Truncate is idempotent: asked again, the namenode answers for the running recovery.
                item.client.truncate(item.path, length, wait=True)
            except TimeoutError as error:
                raise CommandFailure.for_path(item.display, str(error)) from error
            context.print(f"Truncated {item.display} to length: {length}")


def _truncate_one(context: CommandContext, item: DfsPath, length: int, *, wait_later: bool) -> bool:
    """True when the file's cut waits for block recovery and the caller waits for it."""
    _require_file(item)
    size = _status(item).size
    if length > size:
        raise CommandFailure.for_path(
            item.display,
            f"Cannot truncate to a larger file size. Current size: {size}, truncate size: {length}.",
        )
    if item.client.truncate(item.path, length, wait=False):
        context.print(f"Truncated {item.display} to length: {length}")
        return False
    if not wait_later:
        context.print(
            f"Truncating {item.display} to length: {length}. "
            "Wait for block recovery to complete before further updating this file."
        )
    return wait_later


def _length(value: str) -> int:
    if not value.isdigit():
        raise UsageError(f"Illegal length, a non-negative integer expected: {value}")
    return int(value)


# -- shared -----------------------------------------------------------------------------------------


def binary_output(stream: TextIO) -> BinaryIO:
    """The byte stream under a text stream (flushed first, so text and bytes keep their order)."""
    stream.flush()
    buffer = getattr(stream, "buffer", None)
    if buffer is None:
        return _TextSink(stream)  # type: ignore[return-value]
    return buffer  # type: ignore[no-any-return]


class _TextSink:
    """Bytes written to a text-only stream (a StringIO in tests), decoded without losing any."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        self._stream.write(data.decode("utf-8", errors="surrogateescape"))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


def _copy(source: BinaryIO | InputStream | gzip.GzipFile, output: BinaryIO) -> None:
    while chunk := source.read(COPY_CHUNK_BYTES):
        output.write(chunk)
    output.flush()


def _open(item: DfsPath) -> InputStream:
    stream = item.client.open(item.path, "rb")
    check(isinstance(stream, InputStream), "binary read mode opens an InputStream")
    return cast(InputStream, stream)


def _require_file(item: DfsPath) -> None:
    status = _status(item)
    if status.is_directory:
        raise CommandFailure.for_path(item.display, "Is a directory")
    if status.is_symlink:
        raise CommandFailure.for_path(item.display, "Is a symlink (hopsfs dfs does not follow symlinks)")


def _status(item: DfsPath) -> FileStatus:
    if item.status is None:
        raise CommandFailure.for_path(item.display, "No such file or directory")
    return item.status
