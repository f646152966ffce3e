"""The fsspec driver's error table: every concrete hopsfs error has a builtin, each maps to the one
users expect, lookups walk the class hierarchy, and translation chains the original."""

from __future__ import annotations

import errno

import pytest

import hopsfs.errors as errors_module
from hopsfs.errors import HopsFSError
from hopsfs.fsspec.errors import BUILTIN_ERRORS, builtin_error, translated

ABSTRACT = {"HopsFSError", "NamespaceError", "StoreError", "TransientError"}

EXPECTED: dict[str, tuple[type[OSError], int]] = {
    "FileNotFound": (FileNotFoundError, errno.ENOENT),
    "FileAlreadyExists": (FileExistsError, errno.EEXIST),
    "ParentNotDirectory": (NotADirectoryError, errno.ENOTDIR),
    "NotADirectory": (NotADirectoryError, errno.ENOTDIR),
    "IsADirectory": (IsADirectoryError, errno.EISDIR),
    "DirectoryNotEmpty": (OSError, errno.ENOTEMPTY),
    "PermissionDenied": (PermissionError, errno.EACCES),
    "InvalidPath": (OSError, errno.EINVAL),
    "InvalidArgument": (OSError, errno.EINVAL),
    "InvalidRename": (OSError, errno.EINVAL),
    "UnresolvedLink": (OSError, errno.ELOOP),
    "XAttrNotFound": (OSError, errno.ENODATA),
    "SubtreeLockLost": (OSError, errno.EIO),
    "LimitExceeded": (OSError, errno.ENOSPC),
    "QuotaExceeded": (OSError, errno.EDQUOT),
    "LeaseConflict": (OSError, errno.EBUSY),
    "LeaseExpired": (OSError, errno.EIO),
    "SafeMode": (OSError, errno.EROFS),
    "NotFormatted": (OSError, errno.EIO),
    "AlreadyFormatted": (OSError, errno.EIO),
    "SchemaVersionMismatch": (OSError, errno.EIO),
    "SubtreeBusy": (OSError, errno.EBUSY),
    "StaleResolution": (OSError, errno.EBUSY),
    "RetriesExhausted": (OSError, errno.EBUSY),
    "NotReplicatedYet": (OSError, errno.EBUSY),
    "RemoteError": (OSError, errno.EIO),
    "NamenodeUnavailable": (ConnectionError, errno.ECONNREFUSED),
    "OutcomeUnknown": (OSError, errno.EIO),
    "DataTransferError": (OSError, errno.EIO),
    "BlockMissing": (OSError, errno.EIO),
    "PipelineFailed": (OSError, errno.EIO),
    "NotEnoughReplicas": (OSError, errno.EIO),
    "InvariantViolation": (OSError, errno.EIO),
}


def _error_classes() -> dict[str, type[HopsFSError]]:
    return {
        name: value
        for name, value in vars(errors_module).items()
        if isinstance(value, type) and issubclass(value, HopsFSError)
    }


def _instance(cls: type[HopsFSError]) -> HopsFSError:
    if cls is errors_module.UnresolvedLink:
        return cls("through a link", "/l", "/t", "")
    if cls is errors_module.RemoteError:
        return cls("odd failure", "java.lang.Odd")
    return cls(f"{cls.__name__} happened")


def test_every_concrete_error_has_a_builtin() -> None:
    missing = {name for name, cls in _error_classes().items() if cls not in BUILTIN_ERRORS}
    assert missing <= ABSTRACT, missing
    assert set(EXPECTED) == set(_error_classes()) - ABSTRACT, "this test names every concrete error"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_error_becomes_its_builtin(name: str) -> None:
    original = _instance(_error_classes()[name])
    builtin, number = EXPECTED[name]
    with pytest.raises(OSError) as raised, translated("/some/path"):
        raise original
    assert type(raised.value) is builtin
    assert raised.value.errno == number
    assert raised.value.filename == "/some/path"
    assert raised.value.__cause__ is original
    assert str(original) in str(raised.value)


def test_lookup_walks_the_hierarchy_and_defaults_to_eio() -> None:
    class Unlisted(errors_module.FileNotFound):
        pass

    class Unknown(HopsFSError):
        pass

    assert type(builtin_error(Unlisted("x"))) is FileNotFoundError
    unknown = builtin_error(Unknown("x"))
    assert type(unknown) is OSError and unknown.errno == errno.EIO


def test_other_errors_pass_through() -> None:
    with pytest.raises(ValueError, match="not ours"), translated("/p"):
        raise ValueError("not ours")
