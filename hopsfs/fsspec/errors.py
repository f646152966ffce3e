"""The fsspec front end's error table: each hopsfs error becomes the Python builtin users expect.

fsspec callers (pandas, pyarrow, dask) catch builtins: `FileNotFoundError`, `FileExistsError`,
`PermissionError`... so every hopsfs error that crosses the driver's edge is replaced, once, by the
builtin in `BUILTIN_ERRORS`, with its errno, the server's message and the path, chained to the
original (`raise ... from`) so nothing is lost. Lookup walks the class hierarchy; an error without an
entry of its own or of an ancestor becomes `OSError(EIO)`. Errors that are not hopsfs errors (a
ValueError for a bad argument, an OSError from a socket) pass through untouched.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from hopsfs import errors

# (builtin class, errno). The class is given explicitly: OSError(errno, ...) would pick a subclass
# from the errno on its own (EAGAIN becomes BlockingIOError), and we choose rather than inherit that.
BUILTIN_ERRORS: dict[type[errors.HopsFSError], tuple[type[OSError], int]] = {
    errors.FileNotFound: (FileNotFoundError, errno.ENOENT),
    errors.FileAlreadyExists: (FileExistsError, errno.EEXIST),
    errors.ParentNotDirectory: (NotADirectoryError, errno.ENOTDIR),
    errors.NotADirectory: (NotADirectoryError, errno.ENOTDIR),
    errors.IsADirectory: (IsADirectoryError, errno.EISDIR),
    errors.DirectoryNotEmpty: (OSError, errno.ENOTEMPTY),
    errors.PermissionDenied: (PermissionError, errno.EACCES),
    errors.InvalidPath: (OSError, errno.EINVAL),
    errors.InvalidArgument: (OSError, errno.EINVAL),
    errors.InvalidRename: (OSError, errno.EINVAL),
    # The client resolves symlinks itself; one reaching here is a link it could not follow.
    errors.UnresolvedLink: (OSError, errno.ELOOP),
    # What Linux's getxattr answers for a missing attribute.
    errors.XAttrNotFound: (OSError, errno.ENODATA),
    errors.SubtreeLockLost: (OSError, errno.EIO),
    errors.LimitExceeded: (OSError, errno.ENOSPC),
    errors.QuotaExceeded: (OSError, errno.EDQUOT),
    errors.LeaseConflict: (OSError, errno.EBUSY),
    errors.LeaseExpired: (OSError, errno.EIO),
    # Safe mode refuses every change until the datanodes have reported: a read-only filesystem.
    errors.SafeMode: (OSError, errno.EROFS),
    errors.NotFormatted: (OSError, errno.EIO),
    errors.AlreadyFormatted: (OSError, errno.EIO),
    errors.SchemaVersionMismatch: (OSError, errno.EIO),
    # The client already retried these; what reaches the user is "busy, try later".
    errors.SubtreeBusy: (OSError, errno.EBUSY),
    errors.StaleResolution: (OSError, errno.EBUSY),
    errors.RetriesExhausted: (OSError, errno.EBUSY),
    errors.NotReplicatedYet: (OSError, errno.EBUSY),
    errors.RemoteError: (OSError, errno.EIO),
    errors.NamenodeUnavailable: (ConnectionError, errno.ECONNREFUSED),
    # The call may have run: EIO rather than a retryable-looking errno, the message says to check.
    errors.OutcomeUnknown: (OSError, errno.EIO),
    errors.DataTransferError: (OSError, errno.EIO),
    errors.BlockMissing: (OSError, errno.EIO),
    errors.PipelineFailed: (OSError, errno.EIO),
    errors.NotEnoughReplicas: (OSError, errno.EIO),
    errors.InvariantViolation: (OSError, errno.EIO),
}
UNKNOWN_ERROR: tuple[type[OSError], int] = (OSError, errno.EIO)


def builtin_error(error: errors.HopsFSError, path: str | None = None) -> OSError:
    """The builtin exception for `error` (not yet raised, not yet chained)."""
    builtin, number = _entry(type(error))
    return builtin(number, str(error) or builtin.__name__, path)


@contextmanager
def translated(path: str | None = None) -> Iterator[None]:
    """Run the body with hopsfs errors replaced by their builtins (for `path`), chained."""
    try:
        yield
    except errors.HopsFSError as error:
        raise builtin_error(error, path) from error


def _entry(error_class: type[errors.HopsFSError]) -> tuple[type[OSError], int]:
    for cls in error_class.__mro__:
        entry = BUILTIN_ERRORS.get(cls)  # type: ignore[call-overload]
        if entry is not None:
            return entry
    return UNKNOWN_ERROR
