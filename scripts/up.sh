#!/usr/bin/env bash
# Start hopsfs on this machine on the embedded default (SQLite metadata in ~/.hopsfs):
#
#   bash scripts/up.sh [hopsfs up options...]
#
# On a fresh Debian machine it first installs what hopsfs itself needs (python3 + pip from apt when
# missing, then this checkout with pip). Nothing else: no database server, no Java.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[up.sh] %s\n' "$*" >&2; }

if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
    log "installing python3 and pip with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends python3 python3-pip >/dev/null
fi

# Import from / so the checkout itself on sys.path does not pass for an installed hopsfs; the
# server modules pull in every runtime dependency (grpcio, tantivy, mysql-replication, ...), so an
# install from an older checkout is refreshed too.
if ! (cd / && python3 -c "import hopsfs.cli.main, namenode.process, datanode.process, cdc.service.process") \
    >/dev/null 2>&1; then
    log "pip install -e ."
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        python3 -m pip install -q -e .
fi

exec python3 -m hopsfs.cli.main up "$@"
