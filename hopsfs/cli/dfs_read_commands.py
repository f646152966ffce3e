"""The `hopsfs dfs` commands that only read: -ls, -stat, -du, -count, -getfattr, -test.

Each takes the command's context and its parsed arguments, prints what Hadoop's shell prints, and
reports failures through the context path by path. Output layouts live in `dfs_format`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hopsfs.cli.dfs_context import CommandContext
from hopsfs.cli.dfs_errors import UsageError
from hopsfs.cli.dfs_format import (
    DU_HEADER,
    STAT_FORMAT_DEFAULT,
    XATTR_ENCODINGS,
    ListingColumns,
    check_stat_format,
    count_header,
    count_line,
    encode_xattr_value,
    listing_line,
    size_text,
    stat_text,
    table_lines,
)
from hopsfs.cli.dfs_options import OptionSpec, ParsedArguments, check_operand_count
from hopsfs.cli.dfs_paths import CURRENT_DIRECTORY, DfsPath, list_directory, walk_below
from hopsfs.invariants import check
from hopsfs.types import FileStatus

# -- -ls ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingOptions:
    recursive: bool
    directory_itself: bool
    human: bool
    paths_only: bool
    by_time: bool
    by_size: bool
    reverse: bool
    access_time: bool

    @classmethod
    def from_arguments(cls, arguments: ParsedArguments) -> ListingOptions:
        return cls(
            recursive=arguments.has("R"),
            directory_itself=arguments.has("d"),
            human=arguments.has("h"),
            paths_only=arguments.has("C"),
            by_time=arguments.has("t"),
            by_size=arguments.has("S"),
            reverse=arguments.has("r"),
            access_time=arguments.has("u"),
        )

    def arranged(self, items: list[DfsPath]) -> list[DfsPath]:
        """Entries in the order asked for: by name (as listed), newest or largest first, reversed."""
        if self.by_time:
            items = sorted(items, key=self._time_ms, reverse=True)
        elif self.by_size:
            items = sorted(items, key=lambda item: _status(item).size, reverse=True)
        return items[::-1] if self.reverse else items

    def _time_ms(self, item: DfsPath) -> int:
        status = _status(item)
        return status.access_time_ms if self.access_time else status.modification_time_ms


LS_OPTIONS = OptionSpec(flags=frozenset("CdhRrStu"))


def ls(context: CommandContext, arguments: ParsedArguments) -> None:
    options = ListingOptions.from_arguments(arguments)
    columns = ListingColumns()
    for text in arguments.operands or [CURRENT_DIRECTORY]:
        for item in context.expand(text):
            with context.attempt(item.display):
                if _status(item).is_directory and not options.directory_itself:
                    _ls_directory(context, item, options, columns)
                else:
                    columns.widen([item], options.human)
                    context.print(_ls_text(item, options, columns))


def _ls_directory(
    context: CommandContext, directory: DfsPath, options: ListingOptions, columns: ListingColumns
) -> None:
    def list_children(parent: DfsPath) -> list[DfsPath]:
        children = options.arranged(list_directory(parent))
        # Hadoop announces each plain listing; a recursive one runs on without headers.
        if children and not options.recursive and not options.paths_only:
            context.print(f"Found {len(children)} items")
        columns.widen(children, options.human)
        return children

    entries: Iterable[DfsPath]
    if options.recursive:
        entries = walk_below(directory, list_children, context.report)
    else:
        entries = list_children(directory)
    for entry in entries:
        context.print(_ls_text(entry, options, columns))


def _ls_text(item: DfsPath, options: ListingOptions, columns: ListingColumns) -> str:
    if options.paths_only:
        return item.display
    return listing_line(item, columns, human=options.human, access_time=options.access_time)


# -- -stat ----------------------------------------------------------------------------------------

STAT_OPTIONS = OptionSpec(flags=frozenset("R"), operands_min=1)


def stat(context: CommandContext, arguments: ParsedArguments) -> None:
    operands = list(arguments.operands)
    format_text = STAT_FORMAT_DEFAULT
    # Hadoop's rule: a first operand holding `%` is the format, and a path must still follow.
    if "%" in operands[0]:
        format_text = operands.pop(0)
        check_operand_count(len(operands), STAT_OPTIONS)
    check_stat_format(format_text)
    for text in operands:
        for item in context.expand(text):
            for entry in context.subtree(item, recursive=arguments.has("R")):
                context.print(stat_text(format_text, entry))


# -- -du and -count -------------------------------------------------------------------------------

DU_OPTIONS = OptionSpec(flags=frozenset("shvx"))


def du(context: CommandContext, arguments: ParsedArguments) -> None:
    """Size and disk space (all replicas) of each argument, or of each entry of a directory argument;
    the table is printed at the end, as Hadoop does, so its columns line up."""
    summary_only, human = arguments.has("s"), arguments.has("h")
    rows: list[tuple[str, str, str]] = []
    for text in arguments.operands or [CURRENT_DIRECTORY]:
        for item in context.expand(text):
            with context.attempt(item.display):
                shown = [item] if summary_only or not _status(item).is_directory else list_directory(item)
                rows.extend(_du_rows(context, shown, human))
    if rows and arguments.has("v"):
        rows.insert(0, DU_HEADER)
    for line in table_lines(rows):
        context.print(line)


def _du_rows(context: CommandContext, items: list[DfsPath], human: bool) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for item in items:
        with context.attempt(item.display):
            summary = item.client.content_summary(item.path)
            length, consumed = size_text(summary.length, human), size_text(summary.space_consumed, human)
            rows.append((length, consumed, item.display))
    return rows


COUNT_OPTIONS = OptionSpec(flags=frozenset("qhv"), operands_min=1)


def count(context: CommandContext, arguments: ParsedArguments) -> None:
    quotas, human = arguments.has("q"), arguments.has("h")
    if arguments.has("v"):
        context.print(count_header(quotas))
    for text in arguments.operands:
        for item in context.expand(text):
            with context.attempt(item.display):
                summary = item.client.content_summary(item.path)
                context.print(count_line(summary, item.display, quotas=quotas, human=human))


# -- -getfattr ------------------------------------------------------------------------------------

GETFATTR_OPTIONS = OptionSpec(
    flags=frozenset({"R", "d"}), valued=frozenset({"n", "e"}), operands_min=1, operands_max=1
)


def getfattr(context: CommandContext, arguments: ParsedArguments) -> None:
    name, dump = arguments.values.get("n"), arguments.has("d")
    if name is None and not dump:
        raise UsageError("Must specify '-n name' or '-d' option")
    if name is not None and dump:
        raise UsageError("Can not specify both '-n name' and '-d' option")
    encoding = arguments.values.get("e", "text").lower()
    if encoding not in XATTR_ENCODINGS:
        raise UsageError(f"Invalid/unsupported encoding option specified: {encoding}")
    for item in context.expand(arguments.operands[0]):
        for entry in context.subtree(item, recursive=arguments.has("R")):
            with context.attempt(entry.display):
                values = entry.client.get_xattrs(entry.path, None if name is None else [name])
                context.print(f"# file: {entry.display}")
                for key in sorted(values):
                    context.print(_xattr_text(key, values[key], encoding))


def _xattr_text(name: str, value: bytes, encoding: str) -> str:
    # Hadoop prints a name alone when its value is empty.
    return f"{name}={encode_xattr_value(value, encoding)}" if value else name


# -- -test ----------------------------------------------------------------------------------------

_TESTS = {
    "d": lambda status: status.is_directory,
    "e": lambda status: True,
    "f": lambda status: status.is_file,
    "s": lambda status: status.size > 0,
    "z": lambda status: status.size == 0,
}
TEST_OPTIONS = OptionSpec(flags=frozenset(_TESTS), operands_min=1, operands_max=1)


def test(context: CommandContext, arguments: ParsedArguments) -> None:
    """Exit 0 when the test holds for every path the argument names, 1 otherwise; prints nothing
    unless reading the path fails."""
    chosen = [flag for flag in _TESTS if arguments.has(flag)]
    if not chosen:
        raise UsageError("No test flag given")
    if len(chosen) > 1:
        raise UsageError("Only one test flag is allowed")
    failures_before = context.failures
    items = context.expand(arguments.operands[0], missing_ok=True)
    if context.failures > failures_before:
        return
    if not items or not all(_TESTS[chosen[0]](_status(item)) for item in items):
        context.fail_quietly()


def _status(item: DfsPath) -> FileStatus:
    check(item.status is not None, "expanded paths carry their status")
    assert item.status is not None
    return item.status
