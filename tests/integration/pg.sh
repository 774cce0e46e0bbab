# pg.sh - a private PostgreSQL cluster for one integration test (sourced after lib.sh).
#
# pg_start: initdb into $TD_WORK/pg (as the `postgres` user when running as root: initdb refuses
# root), a server on a free 127.0.0.1 port with its Unix socket in that folder, a database
# `tapedeck`, and PGHOST/PGPORT/PGDATABASE/PGUSER exported for libpq (tapedeck, psql). An EXIT trap
# stops it (pg_ctl stop -m immediate) and removes the folder. Skips (exit 77) only when the
# PostgreSQL server binaries are not installed.
# pg_restart: pg_ctl restart (fast shutdown, same port). pg_down / pg_up: stop it, start it again.
# A start that finds its port taken (by another test, between the check and the bind) tries another.
# pg_sql SQL: one psql -At query.

PG_BIN=""
for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then PG_BIN=$d; break; fi
done

PG_DIR="$TD_WORK/pg"
PG_LOG="$TD_WORK/pg.log"
PG_STARTED=0

# Runs a PostgreSQL server tool as the cluster's owner.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

# A port nobody listens on, below the kernel's ephemeral range (a client socket of another test
# can hold any port inside it, between this check and the server's bind).
pg_free_port() {
  local port lo=32768
  read -r lo _ < /proc/sys/net/ipv4/ip_local_port_range 2> /dev/null || true
  [ "$lo" -gt 21000 ] || lo=32768
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % (lo - 20000)))
    if ! (echo > "/dev/tcp/127.0.0.1/$port") 2> /dev/null && [ ! -e "$PG_DIR/.s.PGSQL.$port" ]; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

pg_stop() {
  if [ "$PG_STARTED" -eq 1 ]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop > /dev/null 2>&1 || true
    PG_STARTED=0
  fi
  rm -rf "$PG_DIR"
}

pg_start() {
  if [ -z "$PG_BIN" ]; then
    echo "SKIP: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb); install Debian's postgresql package"
    exit 77
  fi
  rm -rf "$PG_DIR"
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres > /dev/null 2>&1 || fail "running as root but there is no 'postgres' user to run initdb as"
    chown postgres: "$PG_DIR"
    # the owner must reach the folder through every parent
    local p=$PG_DIR
    while [ "$p" != "/" ]; do p=$(dirname "$p"); chmod o+x "$p" 2> /dev/null || true; done
    touch "$PG_LOG" && chown postgres: "$PG_LOG"
  fi
  pg_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale --no-sync > "$TD_WORK/initdb.log" 2>&1 ||
    { cat "$TD_WORK/initdb.log" >&2; fail "initdb failed"; }
  trap pg_stop EXIT
  # another test's server can still take the port between the check and the bind: another port then
  local attempt
  for attempt in 1 2 3 4 5; do
    PGPORT=$(pg_free_port) || fail "no free port for PostgreSQL"
    pg_try_up && break
    grep -q "Address already in use" "$PG_LOG" && [ "$attempt" -lt 5 ] || { cat "$PG_LOG" >&2; fail "PostgreSQL did not start"; }
    : > "$PG_LOG"
  done
  export PGHOST=$PG_DIR PGPORT PGUSER=postgres PGDATABASE=tapedeck
  unset PGPASSWORD PGSERVICE PGOPTIONS
  "$PG_BIN/createdb" tapedeck || fail "createdb failed"
}

# pg_up / pg_down: start the stopped server again (same port and folder) / stop it (fast shutdown:
# the clients' connections are closed), to show what a database outage does.
pg_up() {
  pg_try_up || { cat "$PG_LOG" >&2; fail "PostgreSQL did not start"; }
}

# pg_try_up: starts the server on $PGPORT; its exit status says whether it runs.
pg_try_up() {
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_LOG" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PG_DIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=20 -c shared_buffers=64MB" \
    > /dev/null 2>&1 || return 1
  PG_STARTED=1
}

pg_down() {
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop > /dev/null 2>&1 ||
    { cat "$PG_LOG" >&2; fail "PostgreSQL did not stop"; }
  PG_STARTED=0
}

pg_restart() {
  pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_LOG" -m fast -w -t 30 restart > /dev/null 2>&1 ||
    { cat "$PG_LOG" >&2; fail "PostgreSQL did not restart"; }
}

pg_sql() { "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
