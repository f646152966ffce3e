"""The hand-encoded batchCreateWithData request (hopsfs/protocol/small_file_wire.py) is byte for byte
what the generated classes serialize, and parses back to the same files; and the IPC frame reader
hands a large frame back whole however the stream is cut."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hopsfs.protocol.ipc_framing import FrameReader
from hopsfs.protocol.proto import small_files_pb2 as pb
from hopsfs.protocol.small_file_wire import PERMISSION_MAX, batch_create_request

PATHS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40).map(lambda name: "/" + name)
FILES = st.lists(st.tuples(PATHS, st.binary(max_size=300)), max_size=20)


@given(files=FILES, permission=st.integers(0, PERMISSION_MAX), overwrite=st.booleans())
def test_the_hand_encoding_is_the_generated_one(
    files: list[tuple[str, bytes]], permission: int, overwrite: bool
) -> None:
    encoded = batch_create_request(files, permission=permission, overwrite=overwrite)
    generated = pb.BatchCreateWithDataRequestProto(
        files=[pb.SmallFileProto(src=path, data=data, permission=permission) for path, data in files],
        overwrite=overwrite,
    )
    assert encoded == generated.SerializeToString()
    parsed = pb.BatchCreateWithDataRequestProto.FromString(encoded)
    assert [(entry.src, entry.data, entry.permission) for entry in parsed.files] == [
        (path, data, permission) for path, data in files
    ]
    assert parsed.overwrite is overwrite


@settings(max_examples=30)
@given(body=st.binary(min_size=1, max_size=200_000), cuts=st.lists(st.integers(1, 70_000), max_size=12))
def test_a_large_frame_comes_back_whole_however_the_stream_is_cut(body: bytes, cuts: list[int]) -> None:
    stream = len(body).to_bytes(4, "big") + body + (3).to_bytes(4, "big") + b"end"
    reader = FrameReader(expect_preamble=False, buffered_bytes_max=len(body) + 8)
    units: list[bytes] = []
    offset = 0
    for size in [*cuts, len(stream)]:
        piece = stream[offset : offset + size]
        offset += len(piece)
        if piece:
            units += [unit for kind, unit in reader.feed(piece, lambda: len(body) + 8) if kind == "frame"]
    assert units == [body, b"end"]
    assert reader.at_boundary and reader.buffered_bytes == 0
