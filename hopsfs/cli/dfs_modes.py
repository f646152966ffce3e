"""The MODE of `-chmod` and the OWNER[:GROUP] of `-chown` / GROUP of `-chgrp`, as Hadoop reads them.

MODE is octal (`755`, or `1777` to set the sticky bit too; three digits leave the sticky bit as it
is, as in Hadoop) or symbolic: comma-separated clauses `[ugoa]*[-+=][rwxXt]*` applied in order.
No letter before the operator means all (Hadoop applies no umask there). `X` is execute for a
directory or a file that already has an execute bit; `t` is the sticky bit, which only clauses
that cover others (`o`, `a` or no letter) touch; `=` on such a clause clears it unless `t` is given.
Names may hold letters, digits and `-_./@`, as in Hadoop's shell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hopsfs.cli.dfs_errors import UsageError
from hopsfs.invariants import check
from hopsfs.types import FileStatus

STICKY_BIT = 0o1000
PERMISSION_BITS = 0o777
EXECUTE_BITS = 0o111
WHO_MASKS = {"u": 0o700, "g": 0o070, "o": 0o007, "a": 0o777}
LETTER_BITS = {"r": 4, "w": 2, "x": 1}
_OCTAL = re.compile(r"\s*\+?([01]?)([0-7]{3})\s*")
_CLAUSE = re.compile(r"\s*([ugoa]*)([-+=])([rwxXt]*)\s*")
_NAME = r"[-_./@a-zA-Z0-9]"
_OWNER_SPEC = re.compile(rf"\s*({_NAME}+)?(?::({_NAME}*))?\s*")
_GROUP_SPEC = re.compile(rf"\s*({_NAME}+)\s*")

check(sum(WHO_MASKS[who] for who in "ugo") == WHO_MASKS["a"], "u, g and o together are a")


@dataclass(frozen=True, slots=True)
class OctalMode:
    permission: int
    sticky: bool | None  # None: three digits were given, the sticky bit stays as it is

    def applied_to(self, status: FileStatus) -> int:
        if self.sticky is None:
            return (status.permission & STICKY_BIT) | self.permission
        return (STICKY_BIT if self.sticky else 0) | self.permission


@dataclass(frozen=True, slots=True)
class SymbolicClause:
    who: str
    operator: str
    letters: str

    def applied_to(self, mode: int, execute_allowed: bool) -> int:
        who_mask = 0
        for letter in self.who:
            who_mask |= WHO_MASKS[letter]
        who_mask = who_mask or PERMISSION_BITS
        per_class = 0
        for letter in self.letters:
            per_class |= LETTER_BITS.get(letter, 0)
        if "X" in self.letters and execute_allowed:
            per_class |= LETTER_BITS["x"]
        bits = (per_class * 0o111) & who_mask
        covers_others = not self.who or "a" in self.who or "o" in self.who
        sticky = STICKY_BIT if covers_others and "t" in self.letters else 0
        if self.operator == "+":
            return mode | bits | sticky
        if self.operator == "-":
            return mode & ~(bits | sticky)
        cleared = who_mask | (STICKY_BIT if covers_others else 0)
        return (mode & ~cleared) | bits | sticky


@dataclass(frozen=True, slots=True)
class SymbolicMode:
    clauses: tuple[SymbolicClause, ...]

    def applied_to(self, status: FileStatus) -> int:
        mode = status.permission & (PERMISSION_BITS | STICKY_BIT)
        # Hadoop decides X once, from the mode before the change.
        execute_allowed = status.is_directory or bool(mode & EXECUTE_BITS)
        for clause in self.clauses:
            mode = clause.applied_to(mode, execute_allowed)
        check(0 <= mode <= PERMISSION_BITS | STICKY_BIT, "a mode change stays within the mode bits")
        return mode


def parse_mode(text: str) -> OctalMode | SymbolicMode:
    """The change MODE asks for; UsageError when it is neither octal nor symbolic."""
    octal = _OCTAL.fullmatch(text)
    if octal is not None:
        sticky_digit, digits = octal.groups()
        return OctalMode(int(digits, 8), None if not sticky_digit else sticky_digit == "1")
    clauses: list[SymbolicClause] = []
    for piece in text.split(","):
        clause = _CLAUSE.fullmatch(piece)
        if clause is None:
            raise UsageError(
                f"mode '{text}' does not match the expected pattern: octal or [ugoa][-+=][rwxXt]"
            )
        clauses.append(SymbolicClause(*clause.groups()))
    check(bool(clauses), "split always yields at least one piece")
    return SymbolicMode(tuple(clauses))


def parse_owner(text: str) -> tuple[str | None, str | None]:
    """(owner, group) from OWNER[:GROUP]; either may be None, not both."""
    match = _OWNER_SPEC.fullmatch(text)
    if match is None:
        raise UsageError(f"'{text}' does not match expected pattern for [owner][:group].")
    owner, group = match.group(1) or None, match.group(2) or None
    if owner is None and group is None:
        raise UsageError(f"'{text}' does not have owner or group")
    return owner, group


def parse_group(text: str) -> str:
    match = _GROUP_SPEC.fullmatch(text)
    if match is None:
        raise UsageError(f"'{text}' does not match expected pattern for group")
    return match.group(1)
