"""hopsfs values survive the trip through the HDFS protobuf messages (server encodes, client decodes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopsfs.errors import InvalidArgument
from hopsfs.protocol import hdfs_values
from hopsfs.protocol.proto.hdfs_pb2 import HdfsFileStatusProto
from hopsfs.types import ContentSummary, FileStatus, InodeKind

names = st.text(
    st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40
)
millis = st.integers(min_value=0, max_value=2**62)


@st.composite
def statuses(draw: st.DrawFn) -> FileStatus:
    kind = draw(st.sampled_from(list(InodeKind)))
    name = draw(names)
    return FileStatus(
        path=f"/parent/{name}",
        inode_id=draw(st.integers(min_value=1, max_value=2**63 - 1)),
        kind=kind,
        permission=draw(st.integers(min_value=0, max_value=0o1777)),
        owner=draw(names),
        group=draw(names),
        size=draw(st.integers(min_value=0, max_value=2**62)) if kind is InodeKind.FILE else 0,
        modification_time_ms=draw(millis),
        access_time_ms=draw(millis),
        replication=draw(st.integers(min_value=1, max_value=512)) if kind is InodeKind.FILE else 0,
        block_size=draw(st.integers(min_value=1, max_value=2**40)) if kind is InodeKind.FILE else 0,
        children_count=draw(st.integers(min_value=0, max_value=2**31 - 1))
        if kind is InodeKind.DIRECTORY
        else 0,
        symlink_target=draw(names) if kind is InodeKind.SYMLINK else None,
        storage_policy=draw(st.integers(min_value=0, max_value=15)),
    )


@given(statuses())
def test_a_listing_entry_decodes_to_the_status_it_encodes(status: FileStatus) -> None:
    wire = HdfsFileStatusProto.FromString(
        hdfs_values.status_to_proto(status, local_name=True).SerializeToString()
    )
    assert hdfs_values.status_from_proto(wire, "/parent") == status


@given(statuses())
def test_a_file_info_answer_decodes_to_the_asked_path(status: FileStatus) -> None:
    wire = hdfs_values.status_to_proto(status, local_name=False)
    assert wire.path == b""
    assert hdfs_values.status_from_proto(wire, status.path) == status


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_java_longs_survive_uint64_fields(value: int) -> None:
    assert 0 <= hdfs_values.to_uint64(value) < 2**64
    assert hdfs_values.from_uint64(hdfs_values.to_uint64(value)) == value


def test_content_summary_keeps_unset_quotas_as_minus_one() -> None:
    summary = ContentSummary(length=10, file_count=2, directory_count=3, space_consumed=30)
    proto = hdfs_values.summary_to_proto(summary)
    assert proto.quota == 2**64 - 1
    assert hdfs_values.summary_from_proto(proto) == summary


@pytest.mark.parametrize("name", ["user.a", "trusted.b.c", "security.selinux", "system.x", "raw.y"])
def test_xattr_names_round_trip(name: str) -> None:
    assert hdfs_values.xattr_name(hdfs_values.xattr_to_proto(name, b"v")) == name


@pytest.mark.parametrize("name", ["", "user", "user.", "USER.a", "other.a", ".a"])
def test_malformed_xattr_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidArgument):
        hdfs_values.xattr_to_proto(name)
