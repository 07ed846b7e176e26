# Helpers shared by scripts/test and scripts/bench (sourced, not run).

log() { printf '\n==> %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs the Debian packages that are not installed yet.
ensure_packages() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "Installing ${missing[*]}"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# Starts a private PostgreSQL cluster on 127.0.0.1:$1 in a new temporary directory and sets
# PG_DIR and PG_URL; with a second argument, pins it to that CPU. Stop it with stop_private_postgres.
start_private_postgres() {
    local port=$1 pin=()
    if [ -n "${2:-}" ]; then pin=(taskset -c "$2"); fi
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    PG_DIR=$(mktemp -d /tmp/confidant-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$PG_DIR"; fi
    log "Starting PostgreSQL ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$port"
    run_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U confidant --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    run_pg "${pin[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR -c max_connections=300" start >/dev/null
    PG_URL="postgres://confidant@127.0.0.1:$port/postgres?sslmode=disable"
}

stop_private_postgres() {
    if [ -n "${PG_DIR:-}" ]; then
        run_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_DIR"
        PG_DIR=
    fi
}
