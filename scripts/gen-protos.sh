#!/usr/bin/env bash
# Regenerate the Python protobuf modules (*_pb2.py and *_pb2.pyi stubs) in
# hopsfs/protocol/proto/ from the .proto files beside them.
#
#   scripts/gen-protos.sh           regenerate in place
#   scripts/gen-protos.sh --check   exit 1 if the committed modules are stale
#
# Why a pinned grpcio-tools in its own virtualenv: grpcio-tools 1.64.x bundles
# protoc 26.1, whose output runs on every protobuf runtime from pyproject's floor
# (protobuf>=5.26) upwards; newer protoc releases emit a runtime version gate that
# would raise that floor. That grpcio-tools also pins protobuf<6, so installing it
# into the project's environment would downgrade protobuf there.
set -euo pipefail

grpcio_tools_version="1.64.3"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
proto_dir="hopsfs/protocol/proto"
tools_venv="${HOPSFS_PROTOC_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/hopsfs/protoc-venv-${grpcio_tools_version}}"

mode="write"
if [[ $# -gt 1 || ( $# -eq 1 && "$1" != "--check" ) ]]; then
  echo "usage: $0 [--check]" >&2
  exit 2
fi
if [[ $# -eq 1 ]]; then
  mode="check"
fi

installed_version="$("$tools_venv/bin/python" -c \
  'import importlib.metadata as m; print(m.version("grpcio-tools"))' 2>/dev/null || true)"
if [[ "$installed_version" != "$grpcio_tools_version" ]]; then
  echo "installing grpcio-tools==${grpcio_tools_version} into ${tools_venv}" >&2
  python3 -m venv "$tools_venv"
  "$tools_venv/bin/pip" install --quiet --disable-pip-version-check \
    "grpcio-tools==${grpcio_tools_version}"
fi

grpc_protos=("$proto_dir/datanode_namenode.proto" "$proto_dir/cdc.proto")

out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT

cd "$repo_root"
# The repository root is the import root, so protoc already writes
# "from hopsfs.protocol.proto import x_pb2"; the sed below only guards against
# someone switching --proto_path to the proto folder (bare "import x_pb2").
"$tools_venv/bin/python" -m grpc_tools.protoc \
  --proto_path=. \
  --python_out="$out_dir" \
  --pyi_out="$out_dir" \
  "$proto_dir"/*.proto
# gRPC stubs only for the protocols served over gRPC (the Hadoop ones run on our own IPC).
"$tools_venv/bin/python" -m grpc_tools.protoc \
  --proto_path=. \
  --grpc_python_out="$out_dir" \
  "${grpc_protos[@]}"

generated=("$out_dir/$proto_dir"/*_pb2.py "$out_dir/$proto_dir"/*_pb2.pyi "$out_dir/$proto_dir"/*_pb2_grpc.py)
sed -i -E 's/^import ([A-Za-z0-9_]+_pb2) as /from hopsfs.protocol.proto import \1 as /' "${generated[@]}"
if grep -En '^import [A-Za-z0-9_]+_pb2' "${generated[@]}"; then
  echo "bare _pb2 imports left in generated code" >&2
  exit 1
fi

if [[ "$mode" == "check" ]]; then
  stale=0
  for file in "${generated[@]}"; do
    target="$proto_dir/$(basename "$file")"
    if ! cmp -s "$file" "$target"; then
      echo "stale: $target" >&2
      stale=1
    fi
  done
  for target in "$proto_dir"/*_pb2.py "$proto_dir"/*_pb2.pyi "$proto_dir"/*_pb2_grpc.py; do
    if [[ -e "$target" && ! -e "$out_dir/$target" ]]; then
      echo "orphan (no .proto): $target" >&2
      stale=1
    fi
  done
  exit "$stale"
fi

rm -f "$proto_dir"/*_pb2.py "$proto_dir"/*_pb2.pyi "$proto_dir"/*_pb2_grpc.py
cp "${generated[@]}" "$proto_dir/"
echo "generated ${#generated[@]} files in $proto_dir" >&2
