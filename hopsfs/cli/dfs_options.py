"""Command-line options of one `hopsfs dfs` command, parsed the way Hadoop's CommandFormat does.

Options come first and end at the first operand, at `--`, or at `-` (an operand). An option is a
flag (`-R`) or takes the next argument as its value (`-n NAME`); a multi-letter option may start
with two dashes (`--ignore-fail-on-non-empty` is the option `-ignore-fail-on-non-empty`, as in
Hadoop). Unlike Hadoop, single-letter flags may be combined (`-rf`) when every letter is a flag.
Every mistake is a `UsageError`, which the entry point turns into one line and exit code 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hopsfs.cli.dfs_errors import UsageError
from hopsfs.invariants import check

END_OF_OPTIONS = "--"
STANDARD_INPUT = "-"


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """What one command accepts: flag names, names that take a value, and the operand count range."""

    flags: frozenset[str] = frozenset()
    valued: frozenset[str] = frozenset()
    operands_min: int = 0
    operands_max: int | None = None
    # False: every argument is an operand, even one starting with a dash (-help -ls).
    takes_options: bool = True

    def __post_init__(self) -> None:
        check(not self.flags & self.valued, "an option is either a flag or takes a value")
        check(self.operands_max is None or self.operands_min <= self.operands_max, "operand range is empty")


@dataclass(slots=True)
class ParsedArguments:
    flags: set[str] = field(default_factory=set)
    values: dict[str, str] = field(default_factory=dict)
    operands: list[str] = field(default_factory=list)

    def has(self, *names: str) -> bool:
        """True when any of the flags `names` was given."""
        return any(name in self.flags for name in names)


def parse_arguments(arguments: Sequence[str], spec: OptionSpec) -> ParsedArguments:
    """Split `arguments` into flags, option values and operands; UsageError on any mistake."""
    parsed = ParsedArguments()
    position = 0
    while spec.takes_options and position < len(arguments):
        argument = arguments[position]
        if argument == END_OF_OPTIONS:
            position += 1
            break
        if not argument.startswith("-") or argument == STANDARD_INPUT:
            break
        position = _parse_option(arguments, position, spec, parsed)
    parsed.operands = list(arguments[position:])
    check_operand_count(len(parsed.operands), spec)
    return parsed


def check_operand_count(count: int, spec: OptionSpec) -> None:
    """UsageError in Hadoop's words when `count` operands is outside the command's range."""
    if count < spec.operands_min:
        raise UsageError(f"Not enough arguments: expected {spec.operands_min} but got {count}")
    if spec.operands_max is not None and count > spec.operands_max:
        raise UsageError(f"Too many arguments: expected {spec.operands_max} but got {count}")


def _parse_option(arguments: Sequence[str], position: int, spec: OptionSpec, parsed: ParsedArguments) -> int:
    """Record the option at `position`; the position of the next argument to look at."""
    name = arguments[position][1:]
    check(bool(name), "an option has a name after its dash")
    if name in spec.flags:
        parsed.flags.add(name)
        return position + 1
    if name in spec.valued:
        if position + 1 >= len(arguments):
            raise UsageError(f"option -{name} needs a value")
        parsed.values[name] = arguments[position + 1]
        return position + 2
    if len(name) > 1 and all(letter in spec.flags for letter in name):
        parsed.flags.update(name)
        return position + 1
    raise UsageError(f"Illegal option -{name}")
