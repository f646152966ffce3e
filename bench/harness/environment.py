"""What every report records about where it ran: machine (cores, RAM, kernel, the disks under the
baseline and local targets), versions (Python, hopsfs and its git commit, the packages that shape
the numbers), and load.

The git commit is read from the checkout's `.git` files, not by running git: a benchmark must not
touch a repository others may be committing to. Linux facts come from /proc and /sys; elsewhere a
field is None rather than a guess.
"""

from __future__ import annotations

import os
import platform
import shutil
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.engine.report import machine_info
from bench.engine.run import RunSettings
from bench.rpc.cluster import REPOSITORY_ROOT

PACKAGES = ("hopsfs", "fsspec", "hdfs-native", "sqlalchemy", "protobuf", "uvloop", "matplotlib")
ENGINE_ONLY_FIELDS = ("sqlite", "pymysql", "mariadb", "duration_s", "ops_max", "processes", "seed")


def environment_record(disk_paths: list[str]) -> dict[str, Any]:
    """The machine record of a harness report; `disk_paths` are local directories measured."""
    record = machine_info(None, RunSettings(duration_s=0.0, ops_max=0, processes=1, seed=0))
    for name in ENGINE_ONLY_FIELDS:
        record.pop(name, None)
    record.update(
        {
            "kind": "machine",
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "memory_bytes": memory_bytes(),
            "kernel": platform.release(),
            "disks": {path: disk_info(path) for path in dict.fromkeys(disk_paths)},
            "packages": {name: package_version(name) for name in PACKAGES},
            "git_commit": git_commit(REPOSITORY_ROOT),
        }
    )
    return record


def memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def disk_info(path: str) -> dict[str, Any]:
    """The filesystem and block device holding `path`: mount point, type, source, size, rotational."""
    device = os.stat(path).st_dev
    major, minor = os.major(device), os.minor(device)
    usage = shutil.disk_usage(path)
    info: dict[str, Any] = {
        "device": f"{major}:{minor}",
        "size_bytes": usage.total,
        "free_bytes": usage.free,
        **_mount_of(f"{major}:{minor}"),
    }
    block = Path(f"/sys/dev/block/{major}:{minor}")
    for queue in (block / "queue", block / ".." / "queue"):  # a partition's queue is its disk's
        rotational = _read_text(queue / "rotational")
        if rotational is not None:
            info["rotational"] = rotational == "1"
            break
    return info


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(repository: Path) -> str | None:
    """The commit HEAD names, read from .git (a loose ref or packed-refs), or None."""
    git = repository / ".git"
    head = _read_text(git / "HEAD")
    if head is None:
        return None
    if not head.startswith("ref: "):
        return head  # a detached HEAD holds the commit itself
    reference = head.removeprefix("ref: ")
    loose = _read_text(git / reference)
    if loose is not None:
        return loose
    for line in (_read_text(git / "packed-refs") or "").splitlines():
        commit, _, name = line.partition(" ")
        if name == reference:
            return commit
    return None


def _mount_of(device: str) -> dict[str, Any]:
    text = _read_text(Path("/proc/self/mountinfo")) or ""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[2] == device and " - " in line:
            filesystem_type, source = line.split(" - ", 1)[1].split()[:2]
            return {"mount_point": fields[4], "filesystem": filesystem_type, "source": source}
    return {"mount_point": None, "filesystem": None, "source": None}


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None
