#!/usr/bin/env bash
# The one command that runs the whole test suite, on a fresh Debian 12 box (as
# root) or on one where everything is already installed:
#
#   bash scripts/test.sh [pytest args...]
#
# It installs what is missing (apt-get, then pip install -e '.[dev]'), starts a
# throwaway MariaDB via scripts/mariadb.sh, exports HOPSFS_TEST_MYSQL_URL, runs
# pytest, and always stops MariaDB and deletes its datadir. Exit status is
# pytest's; "no tests collected" (5) counts as failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[test.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
    if [[ "$(id -u)" == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}

dpkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

ensure_system_packages() {
    local missing=()
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    # Only ask apt for pip when the python3 on PATH lacks it (it may be a pyenv/venv python).
    if ! python3 -m pip --version >/dev/null 2>&1; then
        missing+=(python3-pip)
    fi
    local pkg
    # libmariadb-dev: headers and mariadb_config for building the MariaDB Connector/Python driver.
    for pkg in mariadb-server mariadb-client libmariadb-dev; do
        dpkg_installed "$pkg" || missing+=("$pkg")
    done
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
    log "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Cheap check so re-runs skip pip: hopsfs is installed editable from this
# checkout and every requirement in pyproject.toml (core + dev) is satisfied.
# Runs from / because the checkout's own hopsfs.egg-info would shadow the
# installed metadata when the cwd is on sys.path.
python_deps_satisfied() {
    (cd / && python3 - "$ROOT") <<'PY' >/dev/null 2>&1
import json
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from pip._vendor.packaging.requirements import Requirement

root = Path(sys.argv[1]).resolve()
project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
dist = metadata.distribution(project["name"])
direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
if not direct_url.get("dir_info", {}).get("editable"):
    sys.exit(1)
if Path(unquote(urlparse(direct_url["url"]).path)).resolve() != root:
    sys.exit(1)
if dist.version != project["version"]:
    sys.exit(1)
for spec in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
    req = Requirement(spec)
    if req.marker is not None and not req.marker.evaluate():
        continue
    if not req.specifier.contains(metadata.version(req.name), prereleases=True):
        sys.exit(1)
PY
}

ensure_python_packages() {
    if python_deps_satisfied; then
        return 0
    fi
    log "pip install -e '.[dev]'"
    # Debian's python3 is PEP 668 "externally managed"; this box exists to run
    # the tests, so installing into it is intended.
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        python3 -m pip install -q -e '.[dev]'
}

ensure_system_packages
ensure_python_packages

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/hopsfs-test.XXXXXX")"
# A private state file, so a server someone started by hand is left alone.
export HOPSFS_MARIADB_STATE="$WORK_DIR/mariadb.state"

cleanup() {
    bash "$ROOT/scripts/mariadb.sh" stop || log "WARNING: stopping MariaDB failed"
    rm -rf -- "$WORK_DIR"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap always runs.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

bash "$ROOT/scripts/mariadb.sh" start
HOPSFS_TEST_MYSQL_URL="$(bash "$ROOT/scripts/mariadb.sh" url)"
export HOPSFS_TEST_MYSQL_URL
log "HOPSFS_TEST_MYSQL_URL=$HOPSFS_TEST_MYSQL_URL"

status=0
python3 -m pytest "$@" || status=$?
case "$status" in
    0) ;;
    5) log "FAILED: pytest collected no tests (exit 5)" ;;
    *) log "FAILED: pytest exited with status $status" ;;
esac
exit "$status"
