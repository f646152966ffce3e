"""The hopsfs error hierarchy.

Every error a user can act on is a `HopsFSError`. Front ends (Hadoop IPC, fsspec, FUSE) each own one
table that maps these classes to their own vocabulary (a Java exception class name, a Python builtin,
an errno); `HADOOP_EXCEPTION_CLASS` below is the IPC table, kept here so a test can check that every
concrete error has an entry.

`InvariantViolation` is a bug, not an operating error: nothing catches it except the request boundary,
which logs it and fails the request.
"""

from __future__ import annotations


class HopsFSError(Exception):
    """Root of every error hopsfs raises on purpose."""


class NamespaceError(HopsFSError):
    """A namespace operation was refused; the message names the path."""


class FileNotFound(NamespaceError):
    pass


class FileAlreadyExists(NamespaceError):
    pass


class ParentNotDirectory(NamespaceError):
    pass


class NotADirectory(NamespaceError):
    """The path names a file or symlink where a directory is required."""


class IsADirectory(NamespaceError):
    """The path names a directory where a file is required."""


class DirectoryNotEmpty(NamespaceError):
    pass


class PermissionDenied(NamespaceError):
    pass


class InvalidPath(NamespaceError):
    pass


class InvalidArgument(NamespaceError):
    """A value other than a path (permission, replication, xattr name...) is out of range."""


class InvalidRename(NamespaceError):
    """A rename HDFS refuses: into its own subtree, over a non-empty directory, file over directory."""


class UnresolvedLink(NamespaceError):
    """The path passes through a symlink; the client resolves it and retries (HDFS semantics)."""

    def __init__(self, message: str, link_path: str, link_target: str, remainder: str) -> None:
        super().__init__(message)
        self.link_path = link_path
        self.link_target = link_target
        self.remainder = remainder


class XAttrNotFound(NamespaceError):
    pass


class SubtreeLockLost(NamespaceError):
    """A subtree operation stalled past its lease and another namenode took it over."""


class LimitExceeded(NamespaceError):
    """A configured bound (items per directory, xattrs per inode, xattr size) would be exceeded."""


class QuotaExceeded(NamespaceError):
    pass


class LeaseConflict(NamespaceError):
    """Another client holds the file open for writing (HDFS AlreadyBeingCreatedException)."""


class LeaseExpired(NamespaceError):
    """The caller does not hold the lease of the file it writes or closes (HDFS LeaseExpiredException)."""


class SafeMode(HopsFSError):
    pass


class StoreError(HopsFSError):
    """The metadata store is unusable as configured (unformatted, wrong schema version, bad URL)."""


class NotFormatted(StoreError):
    pass


class AlreadyFormatted(StoreError):
    pass


class SchemaVersionMismatch(StoreError):
    pass


class TransientError(HopsFSError):
    """Retrying the whole operation may succeed: deadlock, lock timeout, lost connection, busy subtree."""


class SubtreeBusy(TransientError):
    """Another namenode holds a subtree operation on an inode of the path."""


class StaleResolution(TransientError):
    """Rows read without locks changed before they were locked; the operation restarts."""


class RetriesExhausted(HopsFSError):
    """A transient error persisted through every retry; the message carries the last cause."""


class RemoteError(HopsFSError):
    """A server reported an error hopsfs has no class for; `java_class` names it as the server did."""

    def __init__(self, message: str, java_class: str) -> None:
        super().__init__(message)
        self.java_class = java_class


class NamenodeUnavailable(HopsFSError):
    """No namenode could be reached (refused, reset or timed out) within the client's retries."""


class OutcomeUnknown(HopsFSError):
    """The connection failed after a call that must not run twice was sent: it may or may not have run."""


class NotReplicatedYet(TransientError):
    """The previous block has no finalized replica yet, so no new block is allocated: retry shortly."""


class DataTransferError(HopsFSError):
    """Reading or writing block data through the datanodes failed; the message names the block and nodes."""


class BlockMissing(DataTransferError):
    """Every replica of a block failed to read (unreachable, timed out or corrupt)."""

    def __init__(self, message: str, block_name: str = "", nodes_tried: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.block_name = block_name
        self.nodes_tried = nodes_tried


class PipelineFailed(DataTransferError):
    """A write pipeline could not be set up or recovered: no datanode is left to write to. The file is
    not complete; nothing written after the last successful hflush is guaranteed to survive."""


class NotEnoughReplicas(DataTransferError):
    """complete() kept answering that the last block lacks finalized replicas: the file stays open."""


class InvariantViolation(HopsFSError):
    """A bug: an internal invariant does not hold. Never caught below the request boundary."""


# The Java exception class each error becomes on the Hadoop IPC wire (and in WebHDFS RemoteException).
HADOOP_EXCEPTION_CLASS: dict[type[HopsFSError], str] = {
    FileNotFound: "java.io.FileNotFoundException",
    FileAlreadyExists: "org.apache.hadoop.fs.FileAlreadyExistsException",
    ParentNotDirectory: "org.apache.hadoop.fs.ParentNotDirectoryException",
    NotADirectory: "org.apache.hadoop.fs.PathIsNotDirectoryException",
    IsADirectory: "org.apache.hadoop.fs.PathIsDirectoryException",
    DirectoryNotEmpty: "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
    PermissionDenied: "org.apache.hadoop.security.AccessControlException",
    InvalidPath: "org.apache.hadoop.fs.InvalidPathException",
    InvalidArgument: "org.apache.hadoop.HadoopIllegalArgumentException",
    InvalidRename: "java.io.IOException",
    UnresolvedLink: "org.apache.hadoop.fs.UnresolvedLinkException",
    XAttrNotFound: "java.io.IOException",
    SubtreeLockLost: "java.io.IOException",
    LimitExceeded: "org.apache.hadoop.hdfs.protocol.FSLimitException",
    QuotaExceeded: "org.apache.hadoop.hdfs.protocol.QuotaExceededException",
    LeaseConflict: "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException",
    LeaseExpired: "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException",
    SafeMode: "org.apache.hadoop.hdfs.server.namenode.SafeModeException",
    NotFormatted: "java.io.IOException",
    AlreadyFormatted: "java.io.IOException",
    SchemaVersionMismatch: "java.io.IOException",
    SubtreeBusy: "org.apache.hadoop.ipc.RetriableException",
    StaleResolution: "org.apache.hadoop.ipc.RetriableException",
    RetriesExhausted: "org.apache.hadoop.ipc.RetriableException",
    InvariantViolation: "java.io.IOException",
    # Client-side errors: they only reach a wire when a gateway built on the client reports them.
    RemoteError: "java.io.IOException",
    NamenodeUnavailable: "java.net.ConnectException",
    OutcomeUnknown: "java.io.IOException",
    NotReplicatedYet: "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException",
    DataTransferError: "java.io.IOException",
    BlockMissing: "org.apache.hadoop.hdfs.BlockMissingException",
    PipelineFailed: "java.io.IOException",
    NotEnoughReplicas: "java.io.IOException",
}

# Java classes that other servers use for errors hopsfs names differently.
_HADOOP_ALIASES: dict[str, type[HopsFSError]] = {
    "org.apache.hadoop.hdfs.protocol.UnresolvedPathException": UnresolvedLink,
    "org.apache.hadoop.fs.PathNotFoundException": FileNotFound,
    "org.apache.hadoop.fs.PathExistsException": FileAlreadyExists,
    "org.apache.hadoop.hdfs.protocol.NSQuotaExceededException": QuotaExceeded,
    "org.apache.hadoop.hdfs.protocol.DSQuotaExceededException": QuotaExceeded,
    "org.apache.hadoop.hdfs.protocol.FSLimitException$PathComponentTooLongException": LimitExceeded,
    "org.apache.hadoop.hdfs.protocol.FSLimitException$MaxDirectoryItemsExceededException": LimitExceeded,
    "org.apache.hadoop.ipc.StandbyException": TransientError,
    "java.lang.IllegalArgumentException": InvalidArgument,
}


def _error_classes_by_java_name() -> dict[str, type[HopsFSError]]:
    by_name: dict[str, type[HopsFSError]] = dict(_HADOOP_ALIASES)
    for cls, java_class in HADOOP_EXCEPTION_CLASS.items():
        if java_class in by_name:
            continue
        # A Java name shared by several hopsfs classes maps back to their common meaning.
        sharing = [other for other, name in HADOOP_EXCEPTION_CLASS.items() if name == java_class]
        if len(sharing) == 1:
            by_name[java_class] = cls
        elif all(issubclass(other, TransientError) or other is RetriesExhausted for other in sharing):
            by_name[java_class] = TransientError
    return by_name


_ERROR_CLASS_BY_JAVA_NAME = _error_classes_by_java_name()


def error_from_hadoop(java_class: str, message: str) -> HopsFSError:
    """The hopsfs error for an exception a Hadoop-protocol server reported by class name."""
    cls = _ERROR_CLASS_BY_JAVA_NAME.get(java_class)
    if cls is None:
        return RemoteError(f"{java_class}: {message}" if message else java_class, java_class)
    if cls is UnresolvedLink:
        return UnresolvedLink(message, "", "", "")
    return cls(message)


def hadoop_exception_class(error: HopsFSError) -> str:
    """The Java class name for `error`: its own entry, else its nearest ancestor's, else IOException."""
    if isinstance(error, RemoteError):
        return error.java_class  # pass on what the server said
    for cls in type(error).__mro__:
        name = HADOOP_EXCEPTION_CLASS.get(cls)  # type: ignore[arg-type]
        if name is not None:
            return name
    return "java.io.IOException"
