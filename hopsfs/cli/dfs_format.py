"""Text `hopsfs dfs` prints, laid out as Hadoop's FsShell lays it out.

- `-ls`: `drwxr-xr-x   - owner group          0 2026-11-25 12:00 /path`; a file shows its replication
  where a directory shows `-`. Column widths start at Hadoop's minimums (replication 3, size 10) and
  only grow during one command, as Hadoop's do. Times are local. Symlinks (Hadoop's shell has none to
  show) get type letter `l` and ` -> target` after the name, as `ls -l` shows them.
- `-stat`: Hadoop's specifiers; its dates are UTC `yyyy-MM-dd HH:mm:ss`, as in Hadoop.
- `-count`: Hadoop's fixed widths (%12s %12s %18s, quota columns %12s %15s %15s %15s).
- `-du`: left-aligned columns two spaces apart, widths from the widest cell.
- `-h` sizes: Hadoop's binary prefixes: `0`, `1023`, `1 K`, `1.5 K`, `128 M` (one decimal, half up).
- xattr values: `"text"`, `0x` hex or `0s` base64, as Hadoop's XAttrCodec reads and writes them.
"""

from __future__ import annotations

import base64
import binascii
import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hopsfs.cli.dfs_errors import UsageError
from hopsfs.cli.dfs_paths import DfsPath
from hopsfs.invariants import check
from hopsfs.types import ContentSummary, FileStatus

STICKY_BIT = 0o1000
PERMISSION_BITS = 0o777
REPLICATION_WIDTH_MIN = 3
SIZE_WIDTH_MIN = 10
# Hadoop's TraditionalBinaryPrefix: symbol and the power of two it stands for.
BINARY_PREFIXES: tuple[tuple[str, int], ...] = (
    ("K", 10),
    ("M", 20),
    ("G", 30),
    ("T", 40),
    ("P", 50),
    ("E", 60),
)
LISTING_TIME_FORMAT = "%Y-%m-%d %H:%M"
STAT_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
STAT_FORMAT_DEFAULT = "%y"
XATTR_ENCODINGS = ("text", "hex", "base64")
HEX_PREFIX = "0x"
BASE64_PREFIX = "0s"
QUOTA_NONE = "none"
QUOTA_INFINITE = "inf"
COUNT_HEADER = ("DIR_COUNT", "FILE_COUNT", "CONTENT_SIZE")
COUNT_QUOTA_HEADER = ("QUOTA", "REM_QUOTA", "SPACE_QUOTA", "REM_SPACE_QUOTA")
DU_HEADER = ("SIZE", "DISK_SPACE_CONSUMED_WITH_ALL_REPLICAS", "FULL_PATH_NAME")

check(len(BINARY_PREFIXES) == 6, "Hadoop names six binary prefixes, K to E")
check(BINARY_PREFIXES[-1][1] < 63, "every prefix fits a Java long")


# -- shared pieces --------------------------------------------------------------------------------


def permission_text(permission: int) -> str:
    """`rwxr-xr-x`; the sticky bit shows as `t` (or `T` without other-execute) in the last place."""
    letters = "".join(
        letter if permission & (1 << (8 - index)) else "-" for index, letter in enumerate("rwxrwxrwx")
    )
    if permission & STICKY_BIT:
        letters = letters[:-1] + ("t" if permission & 0o001 else "T")
    return letters


def kind_letter(status: FileStatus) -> str:
    if status.is_directory:
        return "d"
    if status.is_symlink:
        return "l"
    return "-"


def human_size(size: int) -> str:
    """Hadoop's long2String(size, "", 1): exact multiples without decimals, else one decimal."""
    if size < 0:
        return "-" + human_size(-size)
    if size < 1 << BINARY_PREFIXES[0][1]:
        return str(size)
    index = max(position for position, (_, shift) in enumerate(BINARY_PREFIXES) if size >= 1 << shift)
    symbol, shift = BINARY_PREFIXES[index]
    if size & ((1 << shift) - 1) == 0:
        return f"{size >> shift} {symbol}"
    text = _one_decimal(size, shift)
    if text.startswith("1024") and index + 1 < len(BINARY_PREFIXES):
        symbol, shift = BINARY_PREFIXES[index + 1]
        text = _one_decimal(size, shift)
    return f"{text} {symbol}"


def size_text(size: int, human: bool) -> str:
    return human_size(size) if human else str(size)


def _one_decimal(size: int, shift: int) -> str:
    # Java's %.1f rounds half up on the exact value; Python's float formatting rounds half to even.
    with decimal.localcontext() as context:
        context.prec = 60
        exact = decimal.Decimal(size) / decimal.Decimal(1 << shift)
        return str(exact.quantize(decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP))


# -- -ls ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ListingColumns:
    """Widths of the -ls columns: they only grow while one command runs, as Hadoop's do."""

    replication: int = REPLICATION_WIDTH_MIN
    owner: int = 0
    group: int = 0
    size: int = SIZE_WIDTH_MIN

    def widen(self, items: Sequence[DfsPath], human: bool) -> None:
        for item in items:
            status = _status(item)
            self.replication = max(self.replication, len(str(status.replication)))
            self.owner = max(self.owner, len(status.owner))
            self.group = max(self.group, len(status.group))
            self.size = max(self.size, len(size_text(status.size, human)))


def listing_line(item: DfsPath, columns: ListingColumns, *, human: bool, access_time: bool) -> str:
    status = _status(item)
    replication = str(status.replication) if status.is_file else "-"
    time_ms = status.access_time_ms if access_time else status.modification_time_ms
    name = item.display if status.symlink_target is None else f"{item.display} -> {status.symlink_target}"
    return (
        f"{kind_letter(status)}{permission_text(status.permission)} "
        f"{replication:>{columns.replication}} "
        f"{status.owner:<{columns.owner}} "
        f"{status.group:<{columns.group}} "
        f"{size_text(status.size, human):>{columns.size}} "
        f"{local_time_text(time_ms)} {name}"
    )


def local_time_text(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000).strftime(LISTING_TIME_FORMAT)


def _status(item: DfsPath) -> FileStatus:
    check(item.status is not None, "only paths read from the namenode are printed")
    assert item.status is not None
    return item.status


# -- -stat ----------------------------------------------------------------------------------------


def _kind_name(status: FileStatus) -> str:
    if status.is_directory:
        return "directory"
    return "symlink" if status.is_symlink else "regular file"


def _utc_text(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime(STAT_TIME_FORMAT)


_STAT_FIELDS: dict[str, Callable[[DfsPath, FileStatus], str]] = {
    "a": lambda item, status: f"{status.permission & (PERMISSION_BITS | STICKY_BIT):o}",
    "A": lambda item, status: permission_text(status.permission),
    "b": lambda item, status: str(status.size),
    "F": lambda item, status: _kind_name(status),
    "g": lambda item, status: status.group,
    "n": lambda item, status: item.name,
    "o": lambda item, status: str(status.block_size),
    "r": lambda item, status: str(status.replication),
    "u": lambda item, status: status.owner,
    "x": lambda item, status: _utc_text(status.access_time_ms),
    "X": lambda item, status: str(status.access_time_ms),
    "y": lambda item, status: _utc_text(status.modification_time_ms),
    "Y": lambda item, status: str(status.modification_time_ms),
    "%": lambda item, status: "%",
}


def check_stat_format(format_text: str) -> None:
    """UsageError for a specifier -stat does not know (Hadoop would print it literally)."""
    index = 0
    while index < len(format_text):
        if format_text[index] == "%":
            specifier = format_text[index + 1 : index + 2]
            if specifier not in _STAT_FIELDS:
                shown = f"%{specifier}" if specifier else "a trailing %"
                raise UsageError(
                    f"unknown format specifier {shown} (known: %a %A %b %F %g %n %o %r %u %x %X %y %Y %%)"
                )
            index += 1
        index += 1


def stat_text(format_text: str, item: DfsPath) -> str:
    status = _status(item)
    parts: list[str] = []
    index = 0
    while index < len(format_text):
        character = format_text[index]
        if character == "%":
            parts.append(_STAT_FIELDS[format_text[index + 1]](item, status))
            index += 2
        else:
            parts.append(character)
            index += 1
    return "".join(parts)


# -- -count and -du -------------------------------------------------------------------------------


def count_header(quotas: bool) -> str:
    prefix = _quota_columns(*COUNT_QUOTA_HEADER) if quotas else ""
    return prefix + _count_columns(*COUNT_HEADER) + "PATHNAME"


def count_line(summary: ContentSummary, display: str, *, quotas: bool, human: bool) -> str:
    prefix = _quota_columns(*_quota_cells(summary, human)) if quotas else ""
    counts = _count_columns(
        size_text(summary.directory_count, human),
        size_text(summary.file_count, human),
        size_text(summary.length, human),
    )
    return prefix + counts + display


def _count_columns(directories: str, files: str, length: str) -> str:
    return f"{directories:>12} {files:>12} {length:>18} "


def _quota_columns(quota: str, remaining: str, space_quota: str, space_remaining: str) -> str:
    return f"{quota:>12} {remaining:>15} {space_quota:>15} {space_remaining:>15} "


def _quota_cells(summary: ContentSummary, human: bool) -> tuple[str, str, str, str]:
    quota, remaining = QUOTA_NONE, QUOTA_INFINITE
    space_quota, space_remaining = QUOTA_NONE, QUOTA_INFINITE
    if summary.quota > 0:
        used = summary.directory_count + summary.file_count
        quota, remaining = size_text(summary.quota, human), size_text(summary.quota - used, human)
    if summary.space_quota >= 0:
        space_quota = size_text(summary.space_quota, human)
        space_remaining = size_text(summary.space_quota - summary.space_consumed, human)
    return quota, remaining, space_quota, space_remaining


def table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as left-aligned columns two spaces apart; the last column is never padded."""
    if not rows:
        return []
    column_count = len(rows[0])
    check(all(len(row) == column_count for row in rows), "every row of a table has every column")
    widths = [max(len(row[column]) for row in rows) for column in range(column_count - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in rows
    ]


# -- xattr values ---------------------------------------------------------------------------------


def decode_xattr_value(text: str) -> bytes:
    """A -setfattr value: `"text"`, `0x` hex, `0s` base64, anything else its UTF-8 bytes."""
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].encode("utf-8")
    prefix, body = text[:2].lower(), text[2:]
    try:
        if prefix == HEX_PREFIX:
            return binascii.unhexlify(body)
        if prefix == BASE64_PREFIX:
            return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as error:
        raise UsageError(f"cannot decode the value {text!r}: {error}") from None
    return text.encode("utf-8")


def encode_xattr_value(value: bytes, encoding: str) -> str:
    """A -getfattr value in `encoding` (one of XATTR_ENCODINGS)."""
    check(encoding in XATTR_ENCODINGS, "the encoding was validated when the options were read")
    if encoding == "hex":
        return HEX_PREFIX + value.hex()
    if encoding == "base64":
        return BASE64_PREFIX + base64.b64encode(value).decode("ascii")
    return '"' + value.decode("utf-8", errors="replace") + '"'
