"""`hopsfs dfs` against a real namenode process: output in hdfs's layout, effects in the namespace,
and one stderr line with a non-zero exit for every failure.

Most cases call `hopsfs.cli.dfs.main` in this process (a subprocess costs ~0.3 s); a few run
`python -m hopsfs.cli.main dfs ...` to prove the real entry point behaves the same. Every effect is
checked through a separate client, never through the CLI alone.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from support.cluster import NamenodeProcess
from support.worker_launcher import worker_environment

import hopsfs
from hopsfs.cli.dfs import main as dfs_main
from hopsfs.cli.dfs_format import decode_xattr_value, encode_xattr_value, human_size
from hopsfs.cli.dfs_modes import parse_mode
from hopsfs.cli.dfs_paths import component_regex
from hopsfs.client import Client
from hopsfs.errors import FileNotFound
from hopsfs.types import FileStatus, InodeKind

SUPERUSER = "hdfs"
OTHER_USER = "bob"
FIXED_TIME_MS = 1_700_000_000_000
# -ls prints local time to the minute, -stat UTC to the second (as hdfs does).
FIXED_MINUTE = datetime.fromtimestamp(FIXED_TIME_MS / 1000).strftime("%Y-%m-%d %H:%M")
FIXED_UTC = "2023-11-14 22:13:20"


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


Dfs = Callable[..., Outcome]


@pytest.fixture(name="dfs")
def dfs_fixture(
    namenode: NamenodeProcess, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Dfs:
    """Run `hopsfs dfs -fs <namenode> ARGS...` in this process as `user`."""

    def run(*arguments: str, user: str = SUPERUSER) -> Outcome:
        capsys.readouterr()
        monkeypatch.setenv("HADOOP_USER_NAME", user)
        code = dfs_main(["-fs", namenode.url, *arguments])
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture(name="client")
def client_fixture(namenode: NamenodeProcess) -> Iterator[Client]:
    client = hopsfs.connect(namenode.url, user=SUPERUSER)
    try:
        yield client
    finally:
        client.close()


def assert_failed(outcome: Outcome, *messages: str, code: int = 1) -> None:
    """The command exited `code` and printed exactly these lines (after `hopsfs dfs: `) on stderr."""
    assert outcome.code == code, outcome
    assert outcome.stderr.splitlines() == [f"hopsfs dfs: {message}" for message in messages], outcome
    assert "Traceback" not in outcome.stderr


def assert_succeeded(outcome: Outcome) -> None:
    assert (outcome.code, outcome.stderr) == (0, ""), outcome


def freeze_times(client: Client, *paths: str) -> None:
    for path in paths:
        client.set_times(path, FIXED_TIME_MS, FIXED_TIME_MS)


def make_tree(client: Client) -> None:
    """/data/a_dir/inner, /data/b_file, /data/link -> /data/a_dir; every time FIXED_TIME_MS."""
    client.mkdirs("/data/a_dir")
    client.touch("/data/a_dir/inner")
    client.touch("/data/b_file")
    client.create_symlink("/data/a_dir", "/data/link")
    freeze_times(client, "/data", "/data/a_dir", "/data/a_dir/inner", "/data/b_file", "/data/link")


# -- -ls ------------------------------------------------------------------------------------------


def test_ls_prints_hdfs_lines_for_directories_files_and_symlinks(dfs: Dfs, client: Client) -> None:
    make_tree(client)
    listed = dfs("-ls", "/data")
    assert_succeeded(listed)
    assert listed.lines == [
        "Found 3 items",
        f"drwxr-xr-x   - hdfs supergroup          0 {FIXED_MINUTE} /data/a_dir",
        f"-rw-r--r--   3 hdfs supergroup          0 {FIXED_MINUTE} /data/b_file",
        f"lrwxrwxrwx   - hdfs supergroup          0 {FIXED_MINUTE} /data/link -> /data/a_dir",
    ]
    recursive = dfs("-ls", "-R", "/data")
    assert_succeeded(recursive)
    assert [line.split()[-1] for line in recursive.lines] == [
        "/data/a_dir",
        "/data/a_dir/inner",
        "/data/b_file",
        "/data/a_dir",  # the symlink's target, after "->"
    ]
    assert dfs("-ls", "-d", "/data", "/data/b_file").lines == [
        f"drwxr-xr-x   - hdfs supergroup          0 {FIXED_MINUTE} /data",
        f"-rw-r--r--   3 hdfs supergroup          0 {FIXED_MINUTE} /data/b_file",
    ]
    assert dfs("-ls", "-C", "-r", "/data").lines == ["/data/link", "/data/b_file", "/data/a_dir"]


def test_ls_goes_on_after_failures_and_reads_as_the_calling_user(dfs: Dfs, client: Client) -> None:
    client.mkdirs("/w/owned")
    client.set_owner("/w/owned", "a-rather-long-owner", "staff")
    freeze_times(client, "/w/owned")
    listed = dfs("-ls", "/nope", "/w")
    assert_failed(listed, "-ls: `/nope': No such file or directory")
    assert listed.lines == [
        "Found 1 items",
        f"drwxr-xr-x   - a-rather-long-owner staff          0 {FIXED_MINUTE} /w/owned",
    ]
    assert_failed(
        dfs("-ls", "-x", "/"),
        "-ls: Illegal option -x (usage: -ls [-C] [-d] [-h] [-R] [-r] [-S] [-t] [-u] [<path> ...])",
        code=2,
    )
    client.mkdirs("/private")
    client.set_permission("/private", 0o700)
    assert_failed(
        dfs("-ls", "/private", "/w/owned", user=OTHER_USER),
        '-ls: Permission denied: user=bob, access=READ_EXECUTE, inode="/private":hdfs:supergroup:drwx------',
    )


def test_ls_names_paths_as_written_relative_per_user_globbed_or_as_urls(
    dfs: Dfs, client: Client, namenode: NamenodeProcess
) -> None:
    client.mkdirs("/user/hdfs/docs")
    for name in ("apple", "apricot", "banana", "cherry"):
        client.touch(f"/user/hdfs/docs/{name}")
    assert dfs("-ls", "-C").lines == ["docs"]
    assert dfs("-ls", "-C", "docs").lines == ["docs/apple", "docs/apricot", "docs/banana", "docs/cherry"]
    assert dfs("-ls", "-C", "docs/a*").lines == ["docs/apple", "docs/apricot"]
    assert dfs("-ls", "-C", "/user/*/docs/{banana,c*}").lines == [
        "/user/hdfs/docs/banana",
        "/user/hdfs/docs/cherry",
    ]
    assert dfs("-ls", "-C", "docs/[^ab]?erry", "./docs/../docs/ap?le").lines == [
        "docs/cherry",
        "docs/apple",
    ]
    assert dfs("-ls", "-C", f"{namenode.url}/user/hdfs/docs/b*").lines == [
        f"{namenode.url}/user/hdfs/docs/banana"
    ]
    assert_failed(dfs("-ls", "docs/z*"), "-ls: `docs/z*': No such file or directory")
    assert_failed(dfs("-ls", ""), "-ls: Can not create a Path from an empty string")
    client.mkdirs("/user/bob", permission=0o777)
    client.set_owner("/user/bob", OTHER_USER)
    assert_succeeded(dfs("-touchz", "notes", user=OTHER_USER))
    assert client.stat("/user/bob/notes").owner == OTHER_USER
    assert_failed(dfs("-ls", "notes"), "-ls: `notes': No such file or directory")  # /user/hdfs/notes
    with pytest.raises(FileNotFound):
        client.stat("/user/hdfs/notes")
    assert dfs("-stat", "%u %n", "../bob/notes").lines == ["bob notes"]


# -- -mkdir, -touchz, -ln -------------------------------------------------------------------------


def test_mkdir_creates_directories_and_refuses_like_hdfs(dfs: Dfs, client: Client) -> None:
    assert_succeeded(dfs("-mkdir", "/m"))
    created = client.stat("/m")
    assert (created.kind, created.permission, created.owner) == (InodeKind.DIRECTORY, 0o755, SUPERUSER)
    assert_failed(
        dfs("-mkdir", "/m", "", "/n"),
        "-mkdir: `/m': File exists",
        "-mkdir: Can not create a Path from an empty string",
    )
    assert client.stat("/n").is_directory  # the failure did not stop the next path
    assert_failed(dfs("-mkdir", "/x/y"), "-mkdir: `/x': No such file or directory")
    assert not client.exists("/x")
    assert_succeeded(dfs("-mkdir", "-p", "/x/y/z", "/m"))
    assert client.stat("/x/y/z").is_directory
    client.touch("/file")
    assert_failed(dfs("-mkdir", "-p", "/file"), "-mkdir: `/file': Is not a directory")
    assert_failed(
        dfs("-mkdir", "/bobs", user=OTHER_USER),
        '-mkdir: Permission denied: user=bob, access=WRITE, inode="/":hdfs:supergroup:drwxr-xr-x',
    )
    assert_failed(
        dfs("-mkdir"),
        "-mkdir: Not enough arguments: expected 1 but got 0 (usage: -mkdir [-p] <path> ...)",
        code=2,
    )


def test_touchz_creates_empty_files_only_where_hdfs_would(dfs: Dfs, client: Client) -> None:
    client.mkdirs("/t")
    assert_succeeded(dfs("-touchz", "/t/one", "/t/two"))
    one = client.stat("/t/one")
    assert (one.kind, one.size, one.replication, one.permission) == (InodeKind.FILE, 0, 3, 0o644)
    assert client.stat("/t/two").is_file
    assert_succeeded(dfs("-touchz", "/t/one"))  # an existing empty file is created anew
    assert_failed(
        dfs("-touchz", "/t", "/missing/f", "/t/three"),
        "-touchz: `/t': Is a directory",
        "-touchz: `/missing/f': No such file or directory",
    )
    assert client.exists("/t/three")
    assert not client.exists("/missing")
    client.create_symlink("/t/one", "/t/link")
    assert_failed(
        dfs("-touchz", "/t/link"),
        "-touchz: `/t/link': Is a symlink (hopsfs dfs does not follow symlinks)",
    )
    assert client.stat("/t/link").is_symlink


def test_ln_creates_a_symlink_that_ls_and_stat_show(dfs: Dfs, client: Client) -> None:
    client.mkdirs("/target/dir")
    assert_succeeded(dfs("-ln", "/target/dir", "/target/link"))
    link = client.stat("/target/link")
    assert (link.kind, link.symlink_target) == (InodeKind.SYMLINK, "/target/dir")
    assert dfs("-stat", "%F %n", "/target/link").lines == ["symlink link"]
    assert_succeeded(dfs("-ln", "not/there", "/target/dangling"))
    assert client.stat("/target/dangling").symlink_target == "not/there"
    assert_failed(dfs("-ln", "/target/dir", "/target/link"), "-ln: `/target/link': File exists")
    assert_failed(dfs("-ln", "/target/dir", "/absent/link"), "-ln: `/absent/link': No such file or directory")
    assert_failed(
        dfs("-ln", "/only-one"),
        "-ln: Not enough arguments: expected 2 but got 1 (usage: -ln <target> <link>)",
        code=2,
    )


# -- -stat ----------------------------------------------------------------------------------------


def test_stat_formats_every_specifier(dfs: Dfs, client: Client) -> None:
    make_tree(client)
    client.set_permission("/data/a_dir", 0o1750)
    client.set_owner("/data/b_file", "alice", "staff")
    client.set_times("/data/b_file", FIXED_TIME_MS + 1234, FIXED_TIME_MS)
    every = "%n|%F|%a|%A|%u|%g|%b|%r|%o|%y|%Y|%x|%X|%%"
    shown = dfs("-stat", every, "/data/a_dir", "/data/b_file", "/data/link")
    assert_succeeded(shown)
    assert shown.lines == [
        f"a_dir|directory|1750|rwxr-x--T|hdfs|supergroup|0|0|0|{FIXED_UTC}|{FIXED_TIME_MS}|{FIXED_UTC}|"
        f"{FIXED_TIME_MS}|%",
        "b_file|regular file|644|rw-r--r--|alice|staff|0|3|134217728|2023-11-14 22:13:21|"
        f"{FIXED_TIME_MS + 1234}|"
        f"{FIXED_UTC}|{FIXED_TIME_MS}|%",
        f"link|symlink|777|rwxrwxrwx|hdfs|supergroup|0|0|0|{FIXED_UTC}|{FIXED_TIME_MS}|{FIXED_UTC}|"
        f"{FIXED_TIME_MS}|%",
    ]
    assert dfs("-stat", "/data").lines == [FIXED_UTC]  # the default format is %y
    assert dfs("-stat", "-R", "%n", "/data/a_dir").lines == ["a_dir", "inner"]
    assert_failed(dfs("-stat", "%n", "/nope", "/data"), "-stat: `/nope': No such file or directory")
    assert_failed(
        dfs("-stat", "%n"),
        "-stat: Not enough arguments: expected 1 but got 0 (usage: -stat [-R] [format] <path> ...)",
        code=2,
    )
    refused = dfs("-stat", "%q", "/data")
    assert refused.code == 2 and refused.stdout == ""
    assert refused.stderr.startswith("hopsfs dfs: -stat: unknown format specifier %q")
    assert refused.stderr.count("\n") == 1


# -- -mv ------------------------------------------------------------------------------------------


def test_mv_renames_moves_into_directories_and_never_overwrites(dfs: Dfs, client: Client) -> None:
    client.mkdirs("/mv/into")
    for name in ("a", "b", "c", "d"):
        client.touch(f"/mv/{name}")
    assert_succeeded(dfs("-mv", "/mv/a", "/mv/renamed"))
    assert client.exists("/mv/renamed") and not client.exists("/mv/a")
    assert_succeeded(dfs("-mv", "/mv/b", "/mv/c", "/mv/into"))
    assert [entry.name for entry in client.list("/mv/into")] == ["b", "c"]
    assert_failed(
        dfs("-mv", "/mv/d", "/mv/renamed", "/mv/nowhere"), "-mv: `/mv/nowhere': No such file or directory"
    )
    assert_failed(dfs("-mv", "/mv/d", "/mv/into", "/mv/renamed"), "-mv: `/mv/renamed': Is not a directory")
    client.touch("/mv/d2")
    assert_failed(dfs("-mv", "/mv/d", "/mv/d2"), "-mv: `/mv/d2': File exists")
    assert client.exists("/mv/d")  # nothing was replaced
    client.touch("/mv/into/d")
    assert_failed(
        dfs("-mv", "/mv/ghost", "/mv/d", "/mv/d2", "/mv/into"),
        "-mv: `/mv/ghost': No such file or directory",
        "-mv: `/mv/into/d': File exists",
    )
    assert [entry.name for entry in client.list("/mv/into")] == ["b", "c", "d", "d2"]
    into_itself = dfs("-mv", "/mv", "/mv/into")
    assert into_itself.code == 1 and into_itself.stderr.count("\n") == 1
    assert into_itself.stderr.startswith("hopsfs dfs: -mv: ") and client.exists("/mv/into")


# -- -rm and -rmdir -------------------------------------------------------------------------------


def test_rm_deletes_files_and_with_r_directories(dfs: Dfs, client: Client) -> None:
    client.mkdirs("/rm/dir/sub")
    for name in ("f1", "f2", "log1", "log2"):
        client.touch(f"/rm/{name}")
    removed = dfs("-rm", "/rm/f1", "-skipTrash")
    assert_failed(removed, "-rm: `-skipTrash': No such file or directory")  # options come first
    assert removed.lines == ["Deleted /rm/f1"]
    assert_succeeded(dfs("-rm", "-skipTrash", "/rm/f2"))
    assert not client.exists("/rm/f1") and not client.exists("/rm/f2")
    assert dfs("-rm", "/rm/log?").lines == ["Deleted /rm/log1", "Deleted /rm/log2"]
    client.touch("/rm/log3")
    assert_failed(dfs("-rm", "/rm/dir"), "-rm: `/rm/dir': Is a directory")
    assert_failed(
        dfs("-rm", "/rm/none", "/"), "-rm: `/rm/none': No such file or directory", "-rm: `/': Is a directory"
    )
    assert_failed(dfs("-rm", "-r", "/"), "-rm: `/': Cannot delete the root directory")
    assert client.exists("/rm/dir/sub")
    quiet = dfs("-rm", "-rf", "/rm/none", "/rm/dir")
    assert_succeeded(quiet)
    assert quiet.lines == ["Deleted /rm/dir"]
    assert not client.exists("/rm/dir")
    assert_failed(
        dfs("-rm", "/rm/log*", user=OTHER_USER),
        '-rm: Permission denied: user=bob, access=WRITE, inode="/rm":hdfs:supergroup:drwxr-xr-x',
    )
    assert client.exists("/rm/log3")


def test_rmdir_deletes_only_empty_directories(dfs: Dfs, client: Client) -> None:
    client.mkdirs("/rd/empty")
    client.mkdirs("/rd/full/sub")
    client.touch("/rd/file")
    assert_succeeded(dfs("-rmdir", "/rd/empty"))
    assert not client.exists("/rd/empty")
    assert_failed(
        dfs("-rmdir", "/rd/full", "/rd/file"),
        "-rmdir: `/rd/full': Directory is not empty",
        "-rmdir: `/rd/file': Is not a directory",
    )
    assert_succeeded(dfs("-rmdir", "--ignore-fail-on-non-empty", "/rd/full"))
    assert client.exists("/rd/full/sub")


# -- -chmod, -chown, -chgrp -----------------------------------------------------------------------


def test_chmod_applies_octal_and_symbolic_modes(dfs: Dfs, client: Client) -> None:
    make_tree(client)
    assert_succeeded(dfs("-chmod", "1777", "/data"))
    assert client.stat("/data").permission == 0o1777
    assert_succeeded(dfs("-chmod", "u+x,go-w", "/data/b_file"))
    assert client.stat("/data/b_file").permission == 0o744
    assert_succeeded(dfs("-chmod", "a=r,+t", "/data/a_dir"))
    assert client.stat("/data/a_dir").permission == 0o1444
    assert_succeeded(dfs("-chmod", "-R", "go=rX", "/data"))
    statuses = {entry.path: entry.permission for entry in client.walk("/data")}
    assert statuses == {
        "/data/a_dir": 0o455,  # X always means x on a directory; `o=` clears the sticky bit
        "/data/a_dir/inner": 0o644,
        "/data/b_file": 0o755,  # X: the owner could execute it
        "/data/link": 0o777,  # symlinks inside the tree are skipped
    }
    assert client.stat("/data").permission == 0o755
    assert_failed(
        dfs("-chmod", "u+q", "/data"),
        "-chmod: mode 'u+q' does not match the expected pattern: octal or [ugoa][-+=][rwxXt] "
        "(usage: -chmod [-R] <MODE[,MODE]... | OCTALMODE> <path> ...)",
        code=2,
    )
    assert_failed(
        dfs("-chmod", "777", "/data", "/nope", user=OTHER_USER),
        "-chmod: Permission denied. user=bob is not the owner of inode=/data",
        "-chmod: `/nope': No such file or directory",
    )


@pytest.mark.parametrize(
    ("mode", "kind", "before", "after"),
    [
        ("644", InodeKind.FILE, 0o1755, 0o1644),  # three digits keep the sticky bit
        ("0644", InodeKind.FILE, 0o1755, 0o644),
        ("+x", InodeKind.FILE, 0o644, 0o755),
        ("u-w,g+w", InodeKind.FILE, 0o644, 0o464),
        ("o=", InodeKind.DIRECTORY, 0o1757, 0o750),
        ("a+X", InodeKind.FILE, 0o644, 0o644),
        ("a+X", InodeKind.DIRECTORY, 0o644, 0o755),
        ("u+t", InodeKind.DIRECTORY, 0o755, 0o755),  # the sticky bit belongs to "others"
        ("o-t,ug=rwx", InodeKind.DIRECTORY, 0o1705, 0o775),
    ],
)
def test_mode_parser_follows_hadoop(mode: str, kind: InodeKind, before: int, after: int) -> None:
    status = FileStatus("/p", 1, kind, before, "o", "g", 0, 0, 0, 0, 0, 0)
    assert parse_mode(mode).applied_to(status) == after


def test_chown_and_chgrp_change_owner_and_group(dfs: Dfs, client: Client) -> None:
    make_tree(client)
    assert_succeeded(dfs("-chown", "alice:staff", "/data/b_file"))
    assert (client.stat("/data/b_file").owner, client.stat("/data/b_file").group) == ("alice", "staff")
    assert_succeeded(dfs("-chown", "carol", "/data/b_file"))
    assert (client.stat("/data/b_file").owner, client.stat("/data/b_file").group) == ("carol", "staff")
    assert_succeeded(dfs("-chown", "-R", ":crew", "/data/a_dir"))
    assert {entry.group for entry in client.walk("/data/a_dir")} | {client.stat("/data/a_dir").group} == {
        "crew"
    }
    assert_succeeded(dfs("-chgrp", "-R", "ops", "/data"))
    assert {entry.path: entry.group for entry in client.walk("/data")} == {
        "/data/a_dir": "ops",
        "/data/a_dir/inner": "ops",
        "/data/b_file": "ops",
        "/data/link": "supergroup",
    }
    assert_failed(
        dfs("-chown", ":", "/data"),
        "-chown: ':' does not have owner or group (usage: -chown [-R] [OWNER][:[GROUP]] <path> ...)",
        code=2,
    )
    assert_failed(
        dfs("-chgrp", "bad:group", "/data"),
        "-chgrp: 'bad:group' does not match expected pattern for group (usage: -chgrp [-R] GROUP <path> ...)",
        code=2,
    )
    refused = dfs("-chown", "bob", "/data", user=OTHER_USER)
    assert refused.code == 1 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("hopsfs dfs: -chown: Permission denied")
    assert client.stat("/data").owner == SUPERUSER


# -- -du and -count -------------------------------------------------------------------------------


def test_du_and_count_print_hdfs_columns(dfs: Dfs, client: Client) -> None:
    make_tree(client)
    assert dfs("-du", "/data").stdout == "0  0  /data/a_dir\n0  0  /data/b_file\n0  0  /data/link\n"
    assert dfs("-du", "-s", "-h", "/data", "/data/b_file").lines == ["0  0  /data", "0  0  /data/b_file"]
    assert dfs("-du", "-s", "-v", "/data").lines == [
        "SIZE  DISK_SPACE_CONSUMED_WITH_ALL_REPLICAS  FULL_PATH_NAME",
        "0     0                                      /data",
    ]
    missing = dfs("-du", "-s", "/nope", "/data")
    assert_failed(missing, "-du: `/nope': No such file or directory")
    assert missing.lines == ["0  0  /data"]
    counted = dfs("-count", "/data", "/data/a_dir")
    assert_succeeded(counted)
    assert counted.lines == [
        "           2            3                  0 /data",  # the symlink counts as a file
        "           1            1                  0 /data/a_dir",
    ]
    assert dfs("-count", "-q", "-h", "-v", "/data").lines == [
        "       QUOTA       REM_QUOTA     SPACE_QUOTA REM_SPACE_QUOTA"
        "    DIR_COUNT   FILE_COUNT       CONTENT_SIZE PATHNAME",
        "        none             inf            none             inf"
        "            2            3                  0 /data",
    ]
    assert_failed(dfs("-count", "/data/nope*"), "-count: `/data/nope*': No such file or directory")
    assert_failed(
        dfs("-count"),
        "-count: Not enough arguments: expected 1 but got 0 (usage: -count [-q] [-h] [-v] <path> ...)",
        code=2,
    )


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0"),
        (1023, "1023"),
        (1024, "1 K"),
        (1536, "1.5 K"),
        (1280, "1.3 K"),
        (1048575, "1.0 M"),
        (128 * 1024**2, "128 M"),
        (3 * 1024**5 + 1, "3.0 P"),
    ],
)
def test_human_sizes_follow_hadoop(size: int, shown: str) -> None:
    assert human_size(size) == shown


# -- -setfattr and -getfattr ----------------------------------------------------------------------


def test_setfattr_and_getfattr_round_trip_every_encoding(dfs: Dfs, client: Client) -> None:
    make_tree(client)
    assert_succeeded(dfs("-setfattr", "-n", "user.color", "-v", '"red"', "/data"))
    assert_succeeded(dfs("-setfattr", "-n", "user.raw", "-v", "0x00ff", "/data"))
    assert_succeeded(dfs("-setfattr", "-n", "user.b64", "-v", "0sAQI=", "/data"))
    assert_succeeded(dfs("-setfattr", "-n", "user.flag", "/data"))
    assert_succeeded(dfs("-setfattr", "-n", "user.plain", "-v", "text", "/data/a_dir"))
    assert client.get_xattrs("/data") == {
        "user.color": b"red",
        "user.raw": b"\x00\xff",
        "user.b64": b"\x01\x02",
        "user.flag": b"",
    }
    assert dfs("-getfattr", "-d", "-e", "hex", "/data").lines == [
        "# file: /data",
        "user.b64=0x0102",
        "user.color=0x726564",
        "user.flag",
        "user.raw=0x00ff",
    ]
    assert dfs("-getfattr", "-n", "user.raw", "-e", "base64", "/data").lines == [
        "# file: /data",
        "user.raw=0sAP8=",
    ]
    assert dfs("-getfattr", "-R", "-n", "user.plain", "/data/a_dir").lines[:2] == [
        "# file: /data/a_dir",
        'user.plain="text"',
    ]
    assert_succeeded(dfs("-setfattr", "-x", "user.color", "/data"))
    assert "user.color" not in client.get_xattrs("/data")


def test_xattr_commands_fail_with_one_line(dfs: Dfs, client: Client) -> None:
    client.mkdirs("/x")
    assert_failed(
        dfs("-setfattr", "-x", "user.none", "/x"),
        "-setfattr: No matching attributes found for remove operation: user.none",
    )
    assert_failed(
        dfs("-getfattr", "-n", "user.none", "/x"),
        "-getfattr: At least one of the attributes provided was not found: user.none",
    )
    assert_failed(
        dfs("-setfattr", "-n", "nonamespace", "-v", "1", "/x"),
        "-setfattr: An XAttr name must be prefixed with user/trusted/security/system/raw, followed by a '.': "
        "'nonamespace'",
    )
    usage = "(usage: -setfattr {-n name [-v value] | -x name} <path>)"
    assert_failed(
        dfs("-setfattr", "-n", "user.a", "-x", "user.b", "/x"),
        f"-setfattr: Can not specify both '-n name' and '-x name' option {usage}",
        code=2,
    )
    assert_failed(
        dfs("-setfattr", "/x"), f"-setfattr: Must specify '-n name' or '-x name' option {usage}", code=2
    )
    bad_hex = dfs("-setfattr", "-n", "user.a", "-v", "0xZZ", "/x")
    assert bad_hex.code == 2 and bad_hex.stderr.startswith(
        "hopsfs dfs: -setfattr: cannot decode the value '0xZZ'"
    )
    assert_failed(
        dfs("-getfattr", "-d", "-e", "rot13", "/x"),
        "-getfattr: Invalid/unsupported encoding option "
        "specified: rot13 (usage: -getfattr [-R] {-n name | -d} [-e en] <path>)",
        code=2,
    )
    assert_failed(dfs("-getfattr", "-d", "/nope"), "-getfattr: `/nope': No such file or directory")
    assert client.get_xattrs("/x") == {}


def test_xattr_value_codec_matches_hadoop() -> None:
    assert decode_xattr_value('"quoted"') == b"quoted"
    assert decode_xattr_value("0XAbCd") == b"\xab\xcd"
    assert decode_xattr_value("0sAAE=") == b"\x00\x01"
    assert decode_xattr_value('"') == b'"'
    assert decode_xattr_value("plain") == b"plain"
    assert encode_xattr_value(b"\x00\x01", "hex") == "0x0001"
    assert encode_xattr_value(b"\x00\x01", "base64") == "0sAAE="
    assert encode_xattr_value("é".encode(), "text") == '"é"'


# -- -test ----------------------------------------------------------------------------------------


def test_test_answers_with_its_exit_status(dfs: Dfs, client: Client) -> None:
    make_tree(client)
    answers = {
        flag: [dfs("-test", f"-{flag}", path).code for path in ("/data", "/data/b_file", "/data/link", "/no")]
        for flag in "defsz"
    }
    assert answers == {
        "d": [0, 1, 1, 1],
        "e": [0, 0, 0, 1],
        "f": [1, 0, 1, 1],
        "s": [1, 1, 1, 1],
        "z": [0, 0, 0, 1],
    }
    assert_succeeded(dfs("-test", "-e", "/data/*"))
    assert_failed(dfs("-test", "/data"), "-test: No test flag given (usage: -test -[defsz] <path>)", code=2)
    assert_failed(
        dfs("-test", "-d", "-e", "/data"),
        "-test: Only one test flag is allowed (usage: -test -[defsz] <path>)",
        code=2,
    )
    client.set_permission("/data", 0o700)
    assert_failed(
        dfs("-test", "-e", "/data/b_file", user=OTHER_USER),
        '-test: Permission denied: user=bob, access=EXECUTE, inode="/data":hdfs:supergroup:drwx------',
    )


# -- data commands (empty files need no datanode) -------------------------------------------------


def test_data_commands_move_empty_files_through_the_real_namenode(
    dfs: Dfs, client: Client, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    client.mkdirs("/in")
    assert_succeeded(dfs("-put", str(empty), "/in"))
    status = client.stat("/in/empty")
    assert (status.size, status.under_construction) == (0, False)
    assert [entry.name for entry in client.list("/in")] == ["empty"]  # the ._COPYING_ file is gone
    located = client.get_block_locations("/in/empty")
    assert (located.file_length, located.blocks, located.under_construction) == (0, (), False)
    assert dfs("-cat", "/in/empty").stdout == ""
    assert_succeeded(dfs("-get", "/in/empty", str(tmp_path / "back")))
    assert (tmp_path / "back").read_bytes() == b""
    assert_succeeded(dfs("-appendToFile", str(empty), "/in/empty"))
    assert_succeeded(dfs("-appendToFile", str(empty), "/in/created"))
    assert client.stat("/in/created").size == 0
    assert client.read_bytes("/in/empty") == b""


def test_data_commands_fail_with_one_line(dfs: Dfs, client: Client, tmp_path: Path) -> None:
    client.mkdirs("/d")
    client.touch("/f")
    assert_failed(dfs("-cat", "/d"), "-cat: `/d': Is a directory")
    assert_failed(dfs("-tail", "/d"), "-tail: `/d': Is a directory")
    assert_failed(dfs("-get", "/nope", str(tmp_path)), "-get: `/nope': No such file or directory")
    assert_failed(
        dfs("-put", str(tmp_path / "nope"), "/x"), f"-put: `{tmp_path / 'nope'}': No such file or directory"
    )
    local = tmp_path / "exists"
    local.write_bytes(b"")
    assert_failed(dfs("-put", str(local), "/f"), "-put: `/f': File exists")
    assert_failed(dfs("-put", str(local), "/no/parent/x"), "-put: `/no/parent': No such file or directory")
    assert dfs("-setrep", "0", "/f").code == 2
    assert dfs("-head").code == 2


# -- globs, generic options, help ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matching", "other"),
    [
        ("*", ["", "a", ".hidden"], []),
        ("a?c", ["abc", "a.c"], ["ac", "abbc"]),
        ("[a-c]x", ["ax", "cx"], ["dx", "x"]),
        ("[^a]x", ["bx"], ["ax"]),
        ("[!a]x", ["bx"], ["ax"]),
        ("{log,out}.*", ["log.1", "out.txt"], ["err.1", "{log,out}.1"]),
        ("{a,b", ["{a,b"], ["a"]),
        ("a\\*", ["a*"], ["ab"]),
        ("[", ["["], ["a"]),
    ],
)
def test_glob_components_match_like_hadoop(pattern: str, matching: list[str], other: list[str]) -> None:
    regex = component_regex(pattern)
    assert [name for name in matching if regex.fullmatch(name)] == matching
    assert [name for name in other if regex.fullmatch(name)] == []


def test_argument_urls_pick_their_namenode_and_generic_options_set_the_default(
    namenode: NamenodeProcess,
    client: Client,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HADOOP_USER_NAME", SUPERUSER)
    client.mkdirs("/u")
    unreachable = f"hopsfs://127.0.0.1:{free_port()}"
    # The default namenode is never contacted when every path names its own.
    assert dfs_main(["-fs", unreachable, "-ls", "-C", f"{namenode.url}/"]) == 0
    assert capsys.readouterr().out == f"{namenode.url}/u\n"
    assert dfs_main(["-D", "dfs.replication=2", f"-Dfs.defaultFS={namenode.url}", "-ls", "-C", "/"]) == 0
    assert capsys.readouterr().out == "/u\n"
    assert dfs_main(["-fs", "ftp://elsewhere", "-ls", "/"]) == 1
    assert capsys.readouterr().err == (
        "hopsfs dfs: -ls: not a hopsfs URL: 'ftp://elsewhere' (expected hopsfs://host:port)\n"
    )
    assert dfs_main(["-D", "novalue", "-ls", "/"]) == 2
    assert capsys.readouterr().err == "hopsfs dfs: -D novalue: expected KEY=VALUE\n"


def test_help_usage_and_unknown_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert dfs_main(["-help"]) == 0
    help_text = capsys.readouterr().out
    for command in (
        "-ls",
        "-mkdir",
        "-stat",
        "-mv",
        "-rm",
        "-rmdir",
        "-chmod",
        "-chown",
        "-chgrp",
        "-touchz",
        "-du",
        "-count",
        "-setfattr",
        "-getfattr",
        "-ln",
        "-test",
        "-help",
        "-usage",
    ):
        assert f"\n{command} " in help_text
    assert dfs_main(["-help", "ln"]) == 0
    assert capsys.readouterr().out.startswith("-ln <target> <link> :\n  Create the symlink")
    assert dfs_main(["-usage", "-rm"]) == 0
    assert (
        capsys.readouterr().out == "Usage: hopsfs dfs [generic options] -rm [-f] [-r|-R] [-skipTrash] "
        "[-safely] <path> ...\n"
    )
    assert dfs_main(["-frobnicate"]) == 2
    assert (
        capsys.readouterr().err == "hopsfs dfs: -frobnicate: Unknown command (`hopsfs dfs -help` lists the "
        "commands)\n"
    )
    assert dfs_main([]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# -- the real entry point -------------------------------------------------------------------------


def run_hopsfs_dfs(*arguments: str, user: str = SUPERUSER) -> subprocess.CompletedProcess[str]:
    environment = {**worker_environment(), "HADOOP_USER_NAME": user}
    return subprocess.run(
        [sys.executable, "-m", "hopsfs.cli.main", "dfs", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_hopsfs_command_runs_dfs_in_a_real_process(namenode: NamenodeProcess, client: Client) -> None:
    made = run_hopsfs_dfs("-fs", namenode.url, "-mkdir", "-p", "/proc/a")
    assert (made.returncode, made.stdout, made.stderr) == (0, "", "")
    assert client.stat("/proc/a").is_directory
    listed = run_hopsfs_dfs("-fs", namenode.url, "-ls", "-C", "/proc")
    assert (listed.returncode, listed.stdout) == (0, "/proc/a\n")
    refused = run_hopsfs_dfs("-fs", namenode.url, "-rm", "-r", "/proc", user=OTHER_USER)
    assert refused.returncode == 1
    assert refused.stderr == (
        'hopsfs dfs: -rm: Permission denied: user=bob, access=WRITE, inode="/":hdfs:supergroup:drwxr-xr-x\n'
    )
    assert client.exists("/proc/a")


def test_an_unreachable_namenode_is_one_line_and_exit_1() -> None:
    url = f"hopsfs://127.0.0.1:{free_port()}"
    result = run_hopsfs_dfs("-fs", url, "-ls", "/a", "/b")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hopsfs dfs: -ls: getFileInfo failed on every namenode")
    assert "Traceback" not in result.stderr


def test_bad_generic_write_settings_are_usage_errors(dfs: Dfs) -> None:
    """-D dfs.blocksize / dfs.replication must be numbers a namenode can take: refused before any call."""
    assert_failed(
        dfs("-D", "dfs.blocksize=12x", "-touchz", "/f"),
        "-D dfs.blocksize=12x: expected a size in bytes (k, m, g suffixes allowed)",
        code=2,
    )
    assert_failed(
        dfs("-Ddfs.replication=0", "-touchz", "/f"),
        "-D dfs.replication=0: expected a whole number from 1 to 512",
        code=2,
    )
    assert_succeeded(dfs("-D", "dfs.blocksize=2m", "-D", "some.other.key=1", "-touchz", "/f"))
