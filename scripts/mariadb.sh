#!/usr/bin/env bash
# Throwaway MariaDB server for the test suite.
#
#   scripts/mariadb.sh start    # fresh datadir in a temp dir, free port on 127.0.0.1
#   scripts/mariadb.sh url      # prints mysql+pymysql://root@127.0.0.1:PORT/
#   scripts/mariadb.sh status   # exit 0 iff the recorded server is alive
#   scripts/mariadb.sh stop     # clean shutdown, then deletes the datadir
#
# The binary is started directly (no systemd/service) with --no-defaults, so a
# system MariaDB, its /etc/mysql config, or its absence make no difference.
#
# Environment:
#   HOPSFS_MARIADB_STATE          state file (default: $TMPDIR/hopsfs-mariadb-<uid>.state);
#                                 give each concurrent server its own
#   HOPSFS_MARIADB_START_TIMEOUT  seconds to wait for the server to accept connections (60)
#   HOPSFS_MARIADB_STOP_TIMEOUT   seconds to wait for a clean shutdown before SIGKILL (30)
set -euo pipefail

TMP_ROOT="${TMPDIR:-/tmp}"
STATE_FILE="${HOPSFS_MARIADB_STATE:-$TMP_ROOT/hopsfs-mariadb-$(id -u).state}"
START_TIMEOUT="${HOPSFS_MARIADB_START_TIMEOUT:-60}"
STOP_TIMEOUT="${HOPSFS_MARIADB_STOP_TIMEOUT:-30}"
# A port picked as free can be taken before mariadbd binds it; retry that race.
BIND_ATTEMPTS=5

log() { printf '[mariadb.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_bin() {
    local candidate
    for candidate in "$@"; do
        if [[ "$candidate" == /* ]]; then
            [[ -x "$candidate" ]] && { printf '%s\n' "$candidate"; return 0; }
        elif command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

mariadbd_bin() {
    find_bin /usr/sbin/mariadbd mariadbd /usr/sbin/mysqld mysqld \
        || die "mariadbd not found; install it with: apt-get install mariadb-server"
}
install_db_bin() {
    find_bin mariadb-install-db mysql_install_db \
        || die "mariadb-install-db not found; install it with: apt-get install mariadb-server"
}
client_bin() {
    find_bin mariadb mysql || die "mariadb client not found; install it with: apt-get install mariadb-client"
}

pick_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
        return
    fi
    # Fallback below the Linux ephemeral range so client sockets never hold it.
    local port
    while :; do
        port=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return
        fi
    done
}

# Loads PID, PORT, BASE, DATADIR, SOCKET, URL from the state file without
# sourcing it, so a corrupted file cannot run code.
read_state() {
    [[ -f "$STATE_FILE" ]] || return 1
    PID="" PORT="" BASE="" DATADIR="" SOCKET="" URL=""
    local key value
    while IFS='=' read -r key value; do
        case "$key" in
            PID) PID="$value" ;;
            PORT) PORT="$value" ;;
            BASE) BASE="$value" ;;
            DATADIR) DATADIR="$value" ;;
            SOCKET) SOCKET="$value" ;;
            URL) URL="$value" ;;
        esac
    done <"$STATE_FILE"
    [[ "$PID" =~ ^[0-9]+$ && "$PORT" =~ ^[0-9]+$ && -n "$BASE" ]] || die "corrupt state file $STATE_FILE"
}

# True only if PID is still *our* mariadbd: pids get reused, and we must never
# signal an unrelated process.
is_our_server() {
    local pid="$1" datadir="$2" cmdline
    kill -0 "$pid" 2>/dev/null || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 0
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *"--datadir=$datadir"* ]]
}

# Prints the tails of the given log files (those that exist) to stderr.
show_logs() {
    local f
    for f in "$@"; do
        if [[ -s "$f" ]]; then
            log "---- last lines of $f ----"
            tail -n 40 "$f" >&2
        fi
    done
}

remove_base() {
    local base="$1"
    # Guard the rm -rf: only ever delete directories this script created.
    case "$(basename "$base")" in
        hopsfs-mariadb.*) rm -rf -- "$base" ;;
        *) log "not deleting unexpected directory $base" ;;
    esac
}

can_query() {
    local client="$1" port="$2"
    "$client" --no-defaults --protocol=TCP --host=127.0.0.1 --port="$port" --user=root \
        --connect-timeout=2 --batch --skip-column-names -e 'SELECT 1' 2>&1
}

cmd_start() {
    if read_state 2>/dev/null; then
        if is_our_server "$PID" "$DATADIR"; then
            log "already running (pid $PID, port $PORT, state $STATE_FILE)"
            return 0
        fi
        log "removing stale state from a server that is gone (pid $PID)"
        remove_base "$BASE"
        rm -f -- "$STATE_FILE"
    fi

    local mariadbd install_db client
    mariadbd="$(mariadbd_bin)"
    install_db="$(install_db_bin)"
    client="$(client_bin)"

    local base
    base="$(mktemp -d "$TMP_ROOT/hopsfs-mariadb.XXXXXX")"
    # The unix socket path must fit in sun_path (108 bytes).
    if (( ${#base} > 80 )); then
        rmdir -- "$base"
        base="$(mktemp -d /tmp/hopsfs-mariadb.XXXXXX)"
    fi
    local datadir="$base/data" socket="$base/mariadb.sock" pidfile="$base/mariadbd.pid"
    local errlog="$base/error.log" tmpdir="$base/tmp"
    mkdir -p -- "$tmpdir"

    # mariadbd refuses to run as root unless told to; as root, files stay root-owned.
    local user_opt=()
    if [[ "$(id -u)" == 0 ]]; then
        user_opt=(--user=root)
    fi

    # Options that shape on-disk files go to both install-db and mariadbd.
    local storage_opts=(
        --innodb-buffer-pool-size=256M
        --innodb-log-file-size=48M
    )

    if ! "$install_db" --no-defaults "${user_opt[@]}" --datadir="$datadir" \
        --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
        "${storage_opts[@]}" >"$base/install.log" 2>&1; then
        show_logs "$base/install.log"
        remove_base "$base"
        die "mariadb-install-db failed"
    fi

    local server_opts=(
        --no-defaults
        "${user_opt[@]}"
        --datadir="$datadir"
        --socket="$socket"
        --pid-file="$pidfile"
        --log-error="$errlog"
        --tmpdir="$tmpdir"
        --bind-address=127.0.0.1
        --skip-name-resolve
        "${storage_opts[@]}"
        --innodb-flush-log-at-trx-commit=2
        --loose-innodb-doublewrite=0
        --innodb-buffer-pool-dump-at-shutdown=0
        --innodb-buffer-pool-load-at-startup=0
        --performance-schema=OFF
        --max-connections=500
        --max-allowed-packet=64M
        # Semantics the engine relies on; keep in sync with the production config.
        --transaction-isolation=READ-COMMITTED
        --character-set-server=utf8mb4
        --collation-server=utf8mb4_bin
        # The change-data-capture reader consumes full row images from the binlog.
        --server-id=1
        --log-bin="$datadir/mariadb-bin"
        --binlog-format=ROW
        --binlog-row-image=FULL
        # Column names inside each table-map event: the reader needs no information_schema look-up,
        # which would fail for a table dropped before its events are read.
        --binlog-row-metadata=FULL
        --sync-binlog=0
    )

    local attempt port pid="" deadline out
    for ((attempt = 1; attempt <= BIND_ATTEMPTS; attempt++)); do
        port="$(pick_port)"
        : >"$errlog"
        rm -f -- "$pidfile"
        # setsid: the server must outlive this script and ignore the caller's
        # terminal signals; stop/trap handle its lifetime explicitly.
        setsid "$mariadbd" "${server_opts[@]}" --port="$port" \
            </dev/null >>"$base/mariadbd.out" 2>&1 &
        pid=$!

        deadline=$((SECONDS + START_TIMEOUT))
        while :; do
            if ! kill -0 "$pid" 2>/dev/null; then
                wait "$pid" 2>/dev/null || true
                if grep -qE 'Address already in use|Do you already have another .* server running' \
                    "$errlog" 2>/dev/null && ((attempt < BIND_ATTEMPTS)); then
                    log "port $port was taken; retrying with another port"
                    continue 2
                fi
                show_logs "$errlog" "$base/mariadbd.out"
                remove_base "$base"
                die "mariadbd exited during startup"
            fi
            if out="$(can_query "$client" "$port")"; then
                break 2
            fi
            if [[ "$out" == *"Access denied"* ]]; then
                kill -KILL "$pid" 2>/dev/null || true
                show_logs "$errlog" "$base/mariadbd.out"
                remove_base "$base"
                die "server is up but root@127.0.0.1 cannot log in without a password: $out"
            fi
            if ((SECONDS >= deadline)); then
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                show_logs "$errlog" "$base/mariadbd.out"
                remove_base "$base"
                die "mariadbd did not accept connections on 127.0.0.1:$port within ${START_TIMEOUT}s (last: $out)"
            fi
            sleep 0.2
        done
    done

    # Prefer the server's own pid file over $! in case setsid had to fork.
    if [[ -s "$pidfile" ]]; then
        pid="$(<"$pidfile")"
    fi

    mkdir -p -- "$(dirname "$STATE_FILE")"
    local tmp_state="$STATE_FILE.tmp.$$"
    {
        printf 'PID=%s\n' "$pid"
        printf 'PORT=%s\n' "$port"
        printf 'BASE=%s\n' "$base"
        printf 'DATADIR=%s\n' "$datadir"
        printf 'SOCKET=%s\n' "$socket"
        printf 'URL=mysql+pymysql://root@127.0.0.1:%s/\n' "$port"
    } >"$tmp_state"
    mv -f -- "$tmp_state" "$STATE_FILE"
    log "MariaDB ready on 127.0.0.1:$port (pid $pid, datadir $datadir)"
}

cmd_url() {
    read_state || die "no server recorded in $STATE_FILE; run: $0 start"
    is_our_server "$PID" "$DATADIR" || die "recorded server (pid $PID) is not running; run: $0 start"
    printf '%s\n' "$URL"
}

cmd_status() {
    if read_state 2>/dev/null && is_our_server "$PID" "$DATADIR"; then
        log "running: pid $PID, port $PORT, datadir $DATADIR"
        return 0
    fi
    log "not running"
    return 1
}

cmd_stop() {
    if ! read_state; then
        log "nothing to stop (no state file $STATE_FILE)"
        return 0
    fi
    if is_our_server "$PID" "$DATADIR"; then
        # SIGTERM is mariadbd's clean shutdown and needs no credentials.
        kill -TERM "$PID" 2>/dev/null || true
        local deadline=$((SECONDS + STOP_TIMEOUT))
        while kill -0 "$PID" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if kill -0 "$PID" 2>/dev/null; then
            log "no clean shutdown within ${STOP_TIMEOUT}s; sending SIGKILL to $PID"
            kill -KILL "$PID" 2>/dev/null || true
            deadline=$((SECONDS + 10))
            while kill -0 "$PID" 2>/dev/null && ((SECONDS < deadline)); do
                sleep 0.2
            done
        fi
    fi
    remove_base "$BASE"
    rm -f -- "$STATE_FILE"
    log "stopped (port $PORT)"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|url|status" >&2
        exit 2
        ;;
esac
