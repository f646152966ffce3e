"""The path of a request, as every method of the IPC front end normalizes it."""

from __future__ import annotations

from hopsfs.errors import InvalidPath


def request_path(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidPath("path is not valid UTF-8")
    if len(value) > 1 and value.endswith("/"):
        # HDFS accepts a path that ends with "/" (DFSUtil.isValidName) and clients send one:
        # hdfs-native's glob lists "/dir/". The engine wants normalized paths.
        return value.rstrip("/") or "/"
    return value
