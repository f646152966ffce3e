"""Targets: what a workload runs on, named by one string on the command line.

- `hopsfs://[user@]host:port[,host:port...][/base]`: the hopsfs native client (`hopsfs_target`);
- a directory (`/mnt/x`, `./dir`, `~/dir`): plain `os` calls (`local`): local disk or a FUSE mount;
- any other `scheme://...` URL: fsspec (`fsspec_target`): `memory://`, `file:///tmp/x`,
  `hdfs://host:port` (hdfs-native), ...

A `TargetSpec` is the parsed, picklable form handed to client processes; `open_target` makes the live
`Target` inside one. The harness works below `spec.base_path` only, in a directory of its own per run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.harness.errors import BadTarget
from bench.harness.targets.base import CAPABILITIES, DATA, PathInfo, Target

HOPSFS = "hopsfs"
FSSPEC = "fsspec"
LOCAL = "os"
KINDS = (HOPSFS, FSSPEC, LOCAL)

__all__ = [
    "CAPABILITIES",
    "DATA",
    "FSSPEC",
    "HOPSFS",
    "KINDS",
    "LOCAL",
    "PathInfo",
    "Target",
    "TargetSpec",
    "join_path",
    "open_target",
    "parse_target",
]


@dataclass(frozen=True, slots=True)
class TargetSpec:
    kind: str
    url: str  # what the client opens: a hopsfs URL without user or path, an fsspec URL, a directory
    base_path: str  # absolute path on the target under which the harness works
    label: str  # how reports name it
    user: str | None = None  # hopsfs only: the user the client acts as

    @property
    def shared_between_processes(self) -> bool:
        """Whether client processes see one another's files (memory:// lives in each process)."""
        return not (self.kind == FSSPEC and self.url.startswith("memory://"))


def parse_target(text: str, label: str | None = None) -> TargetSpec:
    """The spec a command-line target names; BadTarget says what is wrong with it."""
    if not text:
        raise BadTarget("an empty target")
    scheme, separator, rest = text.partition("://")
    if not separator:
        return _local_spec(text, label)
    if scheme == HOPSFS:
        return _hopsfs_spec(text, rest, label)
    return _fsspec_spec(text, scheme, label)


def local_spec(directory: Path, label: str) -> TargetSpec:
    return _local_spec(str(directory), label)


def open_target(spec: TargetSpec) -> Target:
    """The live target for `spec`, in this process (each client process opens its own)."""
    if spec.kind == LOCAL:
        from bench.harness.targets.local import LocalTarget

        return LocalTarget()
    if spec.kind == FSSPEC:
        from bench.harness.targets.fsspec_target import FsspecTarget

        return FsspecTarget(spec.url)
    if spec.kind == HOPSFS:
        from bench.harness.targets.hopsfs_target import HopsfsTarget

        return HopsfsTarget(spec.url, spec.user)
    raise BadTarget(f"unknown target kind {spec.kind!r} (one of {', '.join(KINDS)})")


def join_path(base: str, *names: str) -> str:
    """`base`/`names`... as one absolute path (base may be the root)."""
    joined = base.rstrip("/")
    for name in names:
        if not name or "/" in name:
            raise BadTarget(f"not a single path component: {name!r}")
        joined = f"{joined}/{name}"
    return joined or "/"


def _local_spec(text: str, label: str | None) -> TargetSpec:
    directory = Path(text).expanduser().resolve()
    if not directory.is_dir():
        raise BadTarget(f"{text}: not a directory (a local target is an existing directory)")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadTarget(f"{directory}: not writable")
    return TargetSpec(LOCAL, str(directory), str(directory), label or f"os {directory}")


def _hopsfs_spec(text: str, rest: str, label: str | None) -> TargetSpec:
    authority, _, path = rest.partition("/")
    user, at, hosts = authority.rpartition("@")
    if not hosts:
        raise BadTarget(f"{text}: no namenode host (hopsfs://[user@]host:port[/base])")
    if at and not user:
        raise BadTarget(f"{text}: an empty user before '@'")
    return TargetSpec(
        HOPSFS, f"{HOPSFS}://{hosts}", _absolute(path), label or f"hopsfs {hosts}", user or None
    )


def _fsspec_spec(text: str, scheme: str, label: str | None) -> TargetSpec:
    import fsspec
    import fsspec.core

    if scheme not in fsspec.available_protocols():
        raise BadTarget(f"{text}: fsspec knows no protocol {scheme!r}")

    try:
        # Out of fsspec's instance cache: see fsspec_target's docstring.
        filesystem, path = fsspec.core.url_to_fs(text, skip_instance_cache=True)
    except (ImportError, ValueError, OSError) as error:
        raise BadTarget(f"{text}: fsspec cannot open it ({error})") from error
    if filesystem.root_marker == "/":
        base = _absolute(path)
    elif path.strip("/"):
        base = path.rstrip("/")  # a store without a root, such as an object store: "bucket/prefix"
    else:
        raise BadTarget(f"{text}: name a base path for the harness (e.g. {scheme}://bucket/prefix)")
    return TargetSpec(FSSPEC, text, base, label or f"fsspec {scheme}")


def _absolute(path: str) -> str:
    return "/" + path.strip("/")
