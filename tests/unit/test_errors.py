"""Every concrete hopsfs error has a Hadoop exception class for the IPC and WebHDFS front ends."""

from __future__ import annotations

import hopsfs.errors as errors_module
from hopsfs.errors import (
    HADOOP_EXCEPTION_CLASS,
    FileNotFound,
    HopsFSError,
    SubtreeBusy,
    hadoop_exception_class,
)


def _concrete_errors() -> list[type[HopsFSError]]:
    found = []
    for value in vars(errors_module).values():
        if isinstance(value, type) and issubclass(value, HopsFSError):
            found.append(value)
    return found


def test_every_error_class_has_a_hadoop_exception_class() -> None:
    missing = [cls.__name__ for cls in _concrete_errors() if cls not in HADOOP_EXCEPTION_CLASS]
    allowed_abstract = {"HopsFSError", "NamespaceError", "StoreError", "TransientError"}
    assert set(missing) <= allowed_abstract, missing


def test_lookup_walks_the_class_hierarchy() -> None:
    assert hadoop_exception_class(FileNotFound("x")) == "java.io.FileNotFoundException"
    assert hadoop_exception_class(SubtreeBusy("x")) == "org.apache.hadoop.ipc.RetriableException"

    class Unmapped(HopsFSError):
        pass

    assert hadoop_exception_class(Unmapped("x")) == "java.io.IOException"
