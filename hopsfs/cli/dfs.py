"""`hopsfs dfs`: filesystem commands mirroring `hdfs dfs`.

    hopsfs dfs [-fs URL] [-D fs.defaultFS=URL] COMMAND [OPTIONS] [ARGUMENTS]

Commands: -ls -mkdir -stat -mv -rm -rmdir -chmod -chown -chgrp -touchz -du -count -setfattr -getfattr
-ln -test -put (-copyFromLocal) -get (-copyToLocal) -appendToFile -cat -head -tail -text -setrep
-truncate -help -usage (`hopsfs dfs -help` describes each). The namenode is the one -fs or
fs.defaultFS names, else HOPSFS_URL, else hopsfs://127.0.0.1:8020; a `hopsfs://host:port/path`
argument uses its own namenode. Other -D keys are accepted and ignored, as Hadoop ignores keys it
does not read. The user is HADOOP_USER_NAME, else the OS user; relative paths start at /user/<user>.

Exit status: 0 on success; 1 when any path failed (each failure printed as one line on stderr,
`hopsfs dfs: -ls: `/nope': No such file or directory`, the other paths still processed), when no
namenode could be reached (one line, the command stops), or when `-test` finds its test false;
2 for a usage error (unknown command or option, wrong number of arguments, bad MODE or format:
one line naming the command's usage); 130 on an interrupt. Hadoop exits 1 and -1 (255) in these
cases; 2 is the Unix convention for a command-line mistake.

Deliberate differences from hdfs: `-ln TARGET LINK` creates a symlink (Hadoop's shell has no such
command); listings show symlinks as `l...  name -> target` and paths through a symlink are not
followed; single-letter flags combine (`-rm -rf`); -rm has no trash to move to, so -skipTrash is
accepted and changes nothing; -stat refuses an unknown `%` specifier rather than printing it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from hopsfs.cli import dfs_content_commands as content
from hopsfs.cli import dfs_read_commands as read
from hopsfs.cli import dfs_transfer_commands as transfer
from hopsfs.cli import dfs_write_commands as write
from hopsfs.cli.dfs_context import EXIT_FAILURE, PROGRAM, CommandContext
from hopsfs.cli.dfs_errors import CommandFailure, UsageError, server_message
from hopsfs.cli.dfs_options import OptionSpec, ParsedArguments, parse_arguments
from hopsfs.cli.dfs_paths import Connections
from hopsfs.client import core
from hopsfs.errors import HopsFSError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
DEFAULT_FS_KEYS = ("fs.defaultFS", "fs.default.name")  # the second is Hadoop 1's name for it
CLIENT_OPTIONS: dict[str, float | int] = {
    "connect_timeout_s": core.CONNECT_TIMEOUT_S,
    "call_timeout_s": core.CALL_TIMEOUT_S,
    "attempts_max": core.ATTEMPTS_MAX,
}

Handler = Callable[[CommandContext, ParsedArguments], None]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    handler: Handler
    options: OptionSpec
    synopsis: str
    description: str


def main(argv: Sequence[str]) -> int:
    """Run one dfs command (`argv` without the leading "dfs"); the exit status."""
    stdout, stderr = sys.stdout, sys.stderr
    try:
        default_url, defines, command_arguments = split_generic_options(argv)
        block_size, replication = _write_settings(defines)
    except UsageError as error:
        print(f"{PROGRAM}: {error}", file=stderr)
        return EXIT_USAGE
    if not command_arguments:
        print(f"{PROGRAM}: no command given (`{PROGRAM} -help` lists the commands)", file=stderr)
        return EXIT_USAGE
    name, arguments = command_arguments[0], command_arguments[1:]
    spec = COMMANDS.get(name)
    if spec is None:
        print(f"{PROGRAM}: {name}: Unknown command (`{PROGRAM} -help` lists the commands)", file=stderr)
        return EXIT_USAGE
    connections = Connections(default_url, CLIENT_OPTIONS)
    try:
        context = CommandContext(
            name, connections, stdout, stderr, block_size=block_size, replication=replication
        )
        return run_command(spec, context, arguments)
    finally:
        connections.close()


def run_command(spec: CommandSpec, context: CommandContext, arguments: Sequence[str]) -> int:
    """Parse and run one command; failures the handler did not report become its one line."""
    try:
        spec.handler(context, parse_arguments(arguments, spec.options))
    except UsageError as error:
        print(f"{PROGRAM}: {spec.name}: {error} (usage: {spec.name} {spec.synopsis})", file=context.stderr)
        return EXIT_USAGE
    except CommandFailure as failure:
        context.fail(str(failure))
    except HopsFSError as error:
        context.fail(server_message(error))  # no namenode reachable, or a bad -fs URL
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout(context.stdout)  # `hopsfs dfs -ls -R / | head`: the reader left
        return EXIT_FAILURE
    return context.exit_code


def split_generic_options(argv: Sequence[str]) -> tuple[str | None, dict[str, str], list[str]]:
    """The default namenode URL from -fs / -D fs.defaultFS, every -D KEY=VALUE, and the arguments
    from the command on."""
    default_url: str | None = None
    defines: dict[str, str] = {}
    position = 0
    while position < len(argv):
        argument = argv[position]
        if argument == "-fs" or argument == "-D":
            if position + 1 >= len(argv):
                raise UsageError(f"generic option {argument} needs a value")
            value = argv[position + 1]
            position += 2
        elif argument.startswith("-D") and len(argument) > 2:
            argument, value = "-D", argument[2:]
            position += 1
        else:
            break
        default_url = _generic_url(argument, value, default_url)
        if argument == "-D":
            key, _, setting = value.partition("=")
            defines[key] = setting
    return default_url, defines, list(argv[position:])


def _write_settings(defines: dict[str, str]) -> tuple[int | None, int | None]:
    """dfs.blocksize (bytes, or with a k/m/g suffix as Hadoop allows) and dfs.replication."""
    block_size = _size(defines["dfs.blocksize"], "dfs.blocksize") if "dfs.blocksize" in defines else None
    replication = None
    if "dfs.replication" in defines:
        text = defines["dfs.replication"]
        if not text.isdigit() or not 1 <= int(text) <= 512:
            raise UsageError(f"-D dfs.replication={text}: expected a whole number from 1 to 512")
        replication = int(text)
    return block_size, replication


def _size(text: str, key: str) -> int:
    multiplier = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower(), 1)
    digits = text[:-1] if multiplier > 1 else text
    if not digits.isdigit() or int(digits) * multiplier <= 0:
        raise UsageError(f"-D {key}={text}: expected a size in bytes (k, m, g suffixes allowed)")
    return int(digits) * multiplier


def _generic_url(option: str, value: str, default_url: str | None) -> str | None:
    if option == "-fs":
        return value
    key, separator, setting = value.partition("=")
    if not separator:
        raise UsageError(f"-D {value}: expected KEY=VALUE")
    return setting if key in DEFAULT_FS_KEYS else default_url


def _silence_stdout(stdout: TextIO) -> None:
    # Python flushes stdout again at exit and would print a second BrokenPipeError there.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# -- -help and -usage -----------------------------------------------------------------------------

HELP_OPTIONS = OptionSpec(takes_options=False)


def help_command(context: CommandContext, arguments: ParsedArguments) -> None:
    specs = _named_specs(arguments.operands)
    if not arguments.operands:
        context.print(f"Usage: {PROGRAM} [generic options] COMMAND ...")
        context.print(GENERIC_HELP)
    for spec in specs:
        context.print(f"{spec.name} {spec.synopsis} :")
        for line in spec.description.splitlines():
            context.print(f"  {line}")
        context.print("")


def usage_command(context: CommandContext, arguments: ParsedArguments) -> None:
    specs = _named_specs(arguments.operands)
    if arguments.operands:
        for spec in specs:
            context.print(f"Usage: {PROGRAM} [generic options] {spec.name} {spec.synopsis}")
        return
    context.print(f"Usage: {PROGRAM} [generic options]")
    for spec in specs:
        context.print(f"\t[{spec.name} {spec.synopsis}]")


def _named_specs(names: list[str]) -> list[CommandSpec]:
    """The commands named (with or without their dash), or all of them; UsageError for an unknown one."""
    if not names:
        return list(COMMANDS.values())
    specs: list[CommandSpec] = []
    for name in names:
        spec = COMMANDS.get(name if name.startswith("-") else f"-{name}")
        if spec is None:
            raise UsageError(f"{name}: Unknown command")
        specs.append(spec)
    return specs


GENERIC_HELP = """\
Generic options (before COMMAND):
  -fs URL                  the default namenode, hopsfs://host:port[,host:port...]
  -D fs.defaultFS=URL      the same, Hadoop style
  -D dfs.blocksize=SIZE    block size of files written (bytes; k/m/g suffixes)
  -D dfs.replication=N     replication of files written (other -D keys are ignored)
A PATH is absolute (/a/b), relative to /user/<user> (a/b), or a URL (hopsfs://host:port/a/b) that
names its own namenode. Globs *, ?, [abc], [^a], {x,y} and \\ escapes expand as in Hadoop.
Exit status: 0 success, 1 a path failed or no namenode answered (or -test is false), 2 usage error.
"""

COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "-ls",
            read.ls,
            read.LS_OPTIONS,
            "[-C] [-d] [-h] [-R] [-r] [-S] [-t] [-u] [<path> ...]",
            'List the entries of each directory ("Found N items" first), or a file itself.\n'
            "-C paths only; -d directories as plain entries; -h human-readable sizes; -R recursive;\n"
            "-t newest first; -S largest first; -r reverse order; -u access times instead.\n"
            "Symlinks show as `lrwxrwxrwx ... name -> target`. Default path: the home directory.",
        ),
        CommandSpec(
            "-mkdir",
            write.mkdir,
            write.MKDIR_OPTIONS,
            "[-p] <path> ...",
            "Create directories. -p: create missing parents and accept existing directories.",
        ),
        CommandSpec(
            "-stat",
            read.stat,
            read.STAT_OPTIONS,
            "[-R] [format] <path> ...",
            "Print each path's status in `format` (default %y): %a octal permission, %A symbolic,\n"
            "%b length, %F type, %g group, %n name, %o block size, %r replication, %u owner,\n"
            "%x/%X access time (UTC date / ms), %y/%Y modification time (UTC date / ms), %% a %.",
        ),
        CommandSpec(
            "-mv",
            write.mv,
            write.MV_OPTIONS,
            "<src> ... <dst>",
            "Move (rename) src to dst, or into dst when it is a directory; several sources need\n"
            "an existing directory. An existing target is never replaced.",
        ),
        CommandSpec(
            "-rm",
            write.rm,
            write.RM_OPTIONS,
            "[-f] [-r|-R] [-skipTrash] [-safely] <path> ...",
            "Delete files (and with -r directories with everything below). -f: no message and\n"
            "no failure for missing paths. There is no trash yet: -skipTrash and -safely change nothing.",
        ),
        CommandSpec(
            "-rmdir",
            write.rmdir,
            write.RMDIR_OPTIONS,
            "[--ignore-fail-on-non-empty] <dir> ...",
            "Delete empty directories.",
        ),
        CommandSpec(
            "-chmod",
            write.chmod,
            write.CHANGE_OPTIONS,
            "[-R] <MODE[,MODE]... | OCTALMODE> <path> ...",
            "Change permissions: octal (755, 1777) or symbolic ([ugoa][-+=][rwxXt], comma separated;\n"
            "write `a-w` or put `--` first for a mode that starts with a dash). -R: recursive, skipping\n"
            "symlinks inside the tree.",
        ),
        CommandSpec(
            "-chown",
            write.chown,
            write.CHANGE_OPTIONS,
            "[-R] [OWNER][:[GROUP]] <path> ...",
            "Change owner and/or group (the superuser only, for the owner). -R: recursive.",
        ),
        CommandSpec(
            "-chgrp",
            write.chgrp,
            write.CHANGE_OPTIONS,
            "[-R] GROUP <path> ...",
            "Change the group (the owner, to one of their groups, or the superuser). -R: recursive.",
        ),
        CommandSpec(
            "-touchz",
            write.touchz,
            write.TOUCHZ_OPTIONS,
            "<path> ...",
            "Create empty files; an existing empty file is created anew, a non-empty one is an error.",
        ),
        CommandSpec(
            "-du",
            read.du,
            read.DU_OPTIONS,
            "[-s] [-h] [-v] [-x] <path> ...",
            "Size and disk space used (all replicas) of each entry of a directory, or of the path itself\n"
            "with -s. -h human-readable; -v a header line; -x accepted (there are no snapshots).",
        ),
        CommandSpec(
            "-count",
            read.count,
            read.COUNT_OPTIONS,
            "[-q] [-h] [-v] <path> ...",
            "DIR_COUNT FILE_COUNT CONTENT_SIZE PATHNAME for each path (symlinks count as files).\n"
            "-q: QUOTA REM_QUOTA SPACE_QUOTA REM_SPACE_QUOTA first; -h human-readable; -v a header.",
        ),
        CommandSpec(
            "-setfattr",
            write.setfattr,
            write.SETFATTR_OPTIONS,
            "{-n name [-v value] | -x name} <path>",
            'Set or remove (-x) an extended attribute. A value in double quotes is text ("abc"),\n'
            "0x... is hex, 0s... is base64, anything else is its UTF-8 text; no value is empty.",
        ),
        CommandSpec(
            "-getfattr",
            read.getfattr,
            read.GETFATTR_OPTIONS,
            "[-R] {-n name | -d} [-e en] <path>",
            "Print one (-n) or all (-d) extended attributes after `# file: <path>`; -e text, hex or\n"
            "base64 chooses how values are written. -R: recursive.",
        ),
        CommandSpec(
            "-ln",
            write.ln,
            write.LN_OPTIONS,
            "<target> <link>",
            "Create the symlink <link> pointing to <target> (hopsfs only; hdfs dfs has no -ln).\n"
            "The target is stored as written and need not exist; the link's parent must.",
        ),
        CommandSpec(
            "-test",
            read.test,
            read.TEST_OPTIONS,
            "-[defsz] <path>",
            "Exit 0 if the path is a directory (-d), exists (-e), is a file (-f), is not empty (-s)\n"
            "or has zero length (-z); exit 1 otherwise. Prints nothing.",
        ),
        CommandSpec(
            "-put",
            transfer.put,
            transfer.PUT_OPTIONS,
            "[-f] [-p] [-d] [-l] <localsrc> ... <dst>",
            "Copy local files and directories (recursively) to dst; `-` copies standard input. Several\n"
            "sources need an existing directory. -f overwrites an existing file; -p keeps times and\n"
            "permissions; -d writes the target directly instead of through <dst>._COPYING_; -l is ignored.",
        ),
        CommandSpec(
            "-copyFromLocal",
            transfer.put,
            transfer.PUT_OPTIONS,
            "[-f] [-p] [-d] [-l] <localsrc> ... <dst>",
            "Identical to -put.",
        ),
        CommandSpec(
            "-get",
            transfer.get,
            transfer.GET_OPTIONS,
            "[-f] [-p] [-ignoreCrc] [-crc] <src> ... <localdst>",
            "Copy files and directories (recursively) to the local filesystem. Several sources need an\n"
            "existing local directory. -f overwrites; -p keeps times and permissions. Checksums are\n"
            "always verified (-ignoreCrc and -crc change nothing).",
        ),
        CommandSpec(
            "-copyToLocal",
            transfer.get,
            transfer.GET_OPTIONS,
            "[-f] [-p] [-ignoreCrc] [-crc] <src> ... <localdst>",
            "Identical to -get.",
        ),
        CommandSpec(
            "-appendToFile",
            transfer.append_to_file,
            transfer.APPEND_OPTIONS,
            "<localsrc> ... <dst>",
            "Append local files (or standard input, `-`) to dst, creating it if it does not exist.",
        ),
        CommandSpec(
            "-cat",
            content.cat,
            content.CAT_OPTIONS,
            "[-ignoreCrc] <src> ...",
            "Print the contents of files to standard output.",
        ),
        CommandSpec(
            "-head", content.head, content.HEAD_OPTIONS, "<file>", "Print the first kilobyte of a file."
        ),
        CommandSpec(
            "-tail",
            content.tail,
            content.TAIL_OPTIONS,
            "[-f] [-s <sleep interval>] <file>",
            "Print the last kilobyte of a file. -f: then print data as it is appended, checking every\n"
            "-s seconds (default 1), until interrupted.",
        ),
        CommandSpec(
            "-text",
            content.text,
            content.TEXT_OPTIONS,
            "[-ignoreCrc] <src> ...",
            "Print files as text: like -cat, but gzip-compressed files are decompressed.",
        ),
        CommandSpec(
            "-setrep",
            content.setrep,
            content.SETREP_OPTIONS,
            "[-R] [-w] <rep> <path> ...",
            "Set the replication of files (of every file below a directory). -w waits until each\n"
            "block has exactly <rep> replicas (lowering it waits for extra replicas to be removed).",
        ),
        CommandSpec(
            "-truncate",
            content.truncate,
            content.TRUNCATE_OPTIONS,
            "[-w] <length> <path> ...",
            "Truncate all files that match the specified file pattern to the specified length.\n"
            "-w: Requests that the command wait for block recovery to complete, if necessary.",
        ),
        CommandSpec(
            "-help", help_command, HELP_OPTIONS, "[cmd ...]", "Describe the commands (all, or those named)."
        ),
        CommandSpec(
            "-usage", usage_command, HELP_OPTIONS, "[cmd ...]", "Print the usage line of the commands named."
        ),
    )
}
