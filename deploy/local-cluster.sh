#!/usr/bin/env bash
# A local CohortGrains cluster on loopback: one PostgreSQL and N identical nodes sharing it.
#
#   deploy/local-cluster.sh N        start PostgreSQL (unless COHORTGRAINS_POSTGRES names one) and N nodes on
#                                    127.0.0.1:5081.., in the background; returns once every node answers /health/ready
#   deploy/local-cluster.sh status   the nodes, their readiness, and GET /api/v1/cluster
#   deploy/local-cluster.sh stop     drain every node (SIGTERM: stop claiming, finish turns, release leases,
#                                    deregister), then stop the PostgreSQL this script started
#   deploy/local-cluster.sh stop-nodes  drain every node and leave PostgreSQL running (to start nodes with new settings)
#   deploy/local-cluster.sh clean    stop, then delete the cluster's data directory
#
# Environment (all optional):
#   COHORTGRAINS_CLUSTER_DIR   state: PostgreSQL data, node logs, pids, operator key (default: <repo>/data/cluster)
#   COHORTGRAINS_POSTGRES      an Npgsql connection string to use instead of starting a PostgreSQL here
#   COHORTGRAINS_PG_PORT       port of the PostgreSQL started here (default 55480)
#   COHORTGRAINS_BASE_PORT     port of node 1 (default 5081); node i listens on BASE_PORT + i - 1
#   COHORTGRAINS_NO_BUILD=1    use the existing Release build of the host
#   COHORTGRAINS_NODE_ARGS     extra command-line settings for every node (e.g. "--Clock:Speed=60")
#   COHORTGRAINS_PG_OPTIONS    extra settings for the PostgreSQL started here (e.g. "-c shared_preload_libraries=pg_stat_statements")
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${COHORTGRAINS_CLUSTER_DIR:-$root/data/cluster}
pg_port=${COHORTGRAINS_PG_PORT:-55480}
base_port=${COHORTGRAINS_BASE_PORT:-5081}
host_dir="$root/src/CohortGrains.Host/bin/Release/net10.0"

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# PostgreSQL refuses to run as root: run its tools as the postgres user when we are root (as test.sh does).
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

node_pids() { ls "$state"/node*.pid 2>/dev/null || true; }

start_postgres() {
  if [ -n "${COHORTGRAINS_POSTGRES:-}" ]; then
    connection="$COHORTGRAINS_POSTGRES"
    log "using the PostgreSQL of COHORTGRAINS_POSTGRES"
    return
  fi
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || die "PostgreSQL is not installed (Debian: apt-get install postgresql), or set COHORTGRAINS_POSTGRES"
  local data="$state/pg/data"
  if [ ! -d "$data" ]; then
    mkdir -p "$state/pg"
    [ "$(id -u)" -eq 0 ] && chown postgres "$state/pg"
    as_pg test -w "$state/pg" || die "the postgres user cannot write $state/pg; set COHORTGRAINS_CLUSTER_DIR to a directory it can reach (e.g. under /tmp)"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$state/pg/initdb.log" 2>&1 || die "initdb failed (see $state/pg/initdb.log)"
  fi
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$pg_port"
  else
    # Loopback only, trust auth: a developer's cluster, not a deployment. Enough connections for several nodes.
    as_pg "$bin/pg_ctl" -D "$data" -l "$state/pg/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$state/pg -c max_connections=300 ${COHORTGRAINS_PG_OPTIONS:-}" \
      start >/dev/null || die "PostgreSQL did not start (see $state/pg/server.log)"
    touch "$state/pg/started-here"
    log "PostgreSQL on 127.0.0.1:$pg_port"
  fi
  if [ "$(as_pg "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'cohortgrains'")" != "1" ]; then
    as_pg "$bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE cohortgrains" >/dev/null
  fi
  # Each node keeps its pool well under max_connections / N.
  connection="Host=127.0.0.1;Port=$pg_port;Username=postgres;Password=unused;Database=cohortgrains;Maximum Pool Size=40"
}

stop_postgres() {
  local bin; bin=$(pg_bin)
  if [ -f "$state/pg/started-here" ] && [ -n "$bin" ]; then
    as_pg "$bin/pg_ctl" -D "$state/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -f "$state/pg/started-here"
    log "PostgreSQL stopped"
  fi
}

# One link secret for every node (each would otherwise generate its own into its data directory and refuse the
# others' links).
link_secret() {
  if [ ! -s "$state/link-secret" ]; then
    head -c 32 /dev/urandom | base64 | tr -d '\n=' >"$state/link-secret"
    chmod 600 "$state/link-secret"
  fi
  cat "$state/link-secret"
}

operator_key() {
  if [ ! -s "$state/operator-key" ]; then
    printf 'cg_local_%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$state/operator-key"
    chmod 600 "$state/operator-key"
  fi
  cat "$state/operator-key"
}

# The environment every node (and the migrate verb) runs with.
node_env() {
  export Storage__Provider=Postgres
  export ConnectionStrings__Postgres="$connection"
  export Storage__MigrateOnStart=true
  export Operator__ApiKey="$key"
  Links__Secret=$(link_secret)
  export Links__Secret
  # deploy/prometheus/prometheus.yml scrapes these nodes with this key (see README "Operating").
  if [ -z "${Metrics__ScrapeKey:-}" ] && [ -s "$root/deploy/prometheus/scrape-key" ]; then
    Metrics__ScrapeKey=$(cat "$root/deploy/prometheus/scrape-key")
    export Metrics__ScrapeKey
  fi
  export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
}

wait_ready() {
  local i=$1 port=$2 pid_file="$state/node$1.pid"
  for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; then return 0; fi
    if ! alive "$pid_file"; then
      log "node $i exited during start-up; the end of $state/node$i.log:"
      tail -n 30 "$state/node$i.log" >&2
      return 1
    fi
    sleep 0.5
  done
  log "node $i did not become ready within 60 s (see $state/node$i.log)"
  return 1
}

start() {
  local n=$1
  [ "$n" -ge 1 ] || die "give the number of nodes (1 or more)"
  mkdir -p "$state"
  for f in $(node_pids); do
    alive "$f" && die "a cluster is already running (see: $0 status); stop it first"
    rm -f "$f"
  done
  command -v curl >/dev/null || die "curl is needed to wait for readiness"

  start_postgres
  key=$(operator_key)

  if [ "${COHORTGRAINS_NO_BUILD:-0}" != "1" ]; then
    log "building the host (Release)"
    dotnet build "$root/src/CohortGrains.Host/CohortGrains.Host.csproj" -c Release -nologo -v q >"$state/build.log" 2>&1 \
      || { tail -n 30 "$state/build.log" >&2; die "build failed (see $state/build.log)"; }
  fi
  [ -f "$host_dir/CohortGrains.Host.dll" ] || die "no build of the host in $host_dir"

  node_env
  # Migrate once up front, so N nodes do not all wait on the migration lock (they would be safe anyway).
  (cd "$host_dir" && dotnet CohortGrains.Host.dll migrate >"$state/migrate.log" 2>&1) || { cat "$state/migrate.log" >&2; die "migration failed"; }

  for i in $(seq 1 "$n"); do
    local port=$((base_port + i - 1))
    mkdir -p "$state/node$i"
    # exec: the pid recorded is the node's own (SIGTERM must reach it), and no shell keeps our stdout open.
    # shellcheck disable=SC2086 # COHORTGRAINS_NODE_ARGS is a list of settings
    (cd "$host_dir" && exec env Urls="http://127.0.0.1:$port" Storage__DataDirectory="$state/node$i" \
      Cluster__Address="http://127.0.0.1:$port" nohup dotnet CohortGrains.Host.dll ${COHORTGRAINS_NODE_ARGS:-}) \
      </dev/null >"$state/node$i.log" 2>&1 &
    echo $! >"$state/node$i.pid"
    log "node $i starting on http://127.0.0.1:$port (pid $(cat "$state/node$i.pid"), log $state/node$i.log)"
  done
  for i in $(seq 1 "$n"); do
    wait_ready "$i" $((base_port + i - 1)) || { stop_nodes; exit 1; }
  done
  log "$n node(s) ready. Operator key: $state/operator-key"
  log "  curl -s http://127.0.0.1:$base_port/api/v1/cluster -H \"Authorization: Bearer \$(cat $state/operator-key)\""
}

stop_nodes() {
  local pids=()
  for f in $(node_pids); do
    if alive "$f"; then
      pids+=("$(cat "$f")")
      # SIGTERM is the drain: readiness turns 503, claiming stops, running turns finish, leases are released,
      # then the node deregisters and exits (bounded by the host's 30 s shutdown timeout).
      kill -TERM "$(cat "$f")"
    fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    log "draining ${#pids[@]} node(s)"
    for _ in $(seq 1 90); do
      local left=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
      [ "$left" -eq 0 ] && break
      sleep 0.5
    done
    for p in "${pids[@]}"; do
      if kill -0 "$p" 2>/dev/null; then
        log "node pid $p did not stop within 45 s: killing it (its leases expire on their own)"
        kill -KILL "$p" 2>/dev/null || true
      fi
    done
    log "nodes stopped"
  fi
  rm -f "$state"/node*.pid
}

status() {
  local any=0
  for f in $(node_pids); do
    any=1
    local i; i=$(basename "$f" .pid); i=${i#node}
    local port=$((base_port + i - 1)) ready="not ready"
    curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null && ready="ready"
    if alive "$f"; then echo "node $i  pid $(cat "$f")  http://127.0.0.1:$port  $ready"; else echo "node $i  not running"; fi
  done
  [ "$any" -eq 1 ] || { echo "no nodes"; return 0; }
  if [ -s "$state/operator-key" ]; then
    curl -fsS "http://127.0.0.1:$base_port/api/v1/cluster" -H "Authorization: Bearer $(cat "$state/operator-key")" 2>/dev/null \
      | python3 -m json.tool 2>/dev/null || true
  fi
}

case "${1:-}" in
  stop) stop_nodes; stop_postgres ;;
  stop-nodes) stop_nodes ;;
  clean) stop_nodes; stop_postgres; rm -rf "$state"; log "removed $state" ;;
  status) status ;;
  '' | *[!0-9]*) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  *) start "$1" ;;
esac
