#!/usr/bin/env bash
# Runs every test of CohortGrains on this machine.
#  1. installs what the tests need when it is missing (Debian packages; apt-get update first),
#  2. starts a throwaway PostgreSQL on loopback and stops it on exit (SMTP tests start their own aiosmtpd),
#  3. builds once, runs each test project, and prints the totals over all of them as the last line:
#       N passed, N failed, N skipped
# Exits non-zero if anything failed. Idempotent; fast when everything is already installed.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
out="$root/.test-output"
rm -rf "$out"
mkdir -p "$out"

log() { printf '[test.sh] %s\n' "$*" >&2; }

# ---------- 1. system packages ----------
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
missing=()
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || missing+=(postgresql)
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || missing+=(python3-aiosmtpd)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if $sudo apt-get update -qq >"$out/apt.log" 2>&1 &&
     DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$out/apt.log" 2>&1; then
    log "installed ${missing[*]}"
  else
    # Keep going: the tests that need what is missing fail with a message saying so; the others still run.
    log "could not install ${missing[*]} (see $out/apt.log)"
  fi
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# ---------- 2. throwaway servers ----------
pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ] && [ -d "$pg_dir" ]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$pg_dir"
  fi
  return 0
}
trap cleanup EXIT

start_postgres() {
  [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || { log "PostgreSQL is not installed: PostgreSQL tests will fail"; return 1; }
  local port; port=$(free_port)
  pg_dir=$(mktemp -d /tmp/cohortgrains-pg.XXXXXX)
  local as=()
  # PostgreSQL refuses to run as root: run it as the postgres user when we are root.
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$pg_dir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >"$out/postgres-init.log" 2>&1 || { log "initdb failed (see $out/postgres-init.log)"; return 1; }
  # Throwaway and loopback only: durability off for speed (fsync), enough connections for 3-node tests, and
  # pg_stat_statements so a test can see what a store's statement read.
  local options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$pg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_preload_libraries=pg_stat_statements"
  "${as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 -o "$options" \
    start >/dev/null 2>&1 || { log "PostgreSQL did not start (see $pg_dir/server.log)"; cp "$pg_dir/server.log" "$out/" 2>/dev/null; return 1; }
  export COHORTGRAINS_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Password=unused;Database=postgres"
  export COHORTGRAINS_TEST_PG_CTL="$pg_bin/pg_ctl"
  export COHORTGRAINS_TEST_PG_DATA="$pg_dir/data"
  export COHORTGRAINS_TEST_PG_OPTIONS="$options"
  log "PostgreSQL on 127.0.0.1:$port"
}

start_postgres || true
[ -x /usr/bin/chromium ] && export COHORTGRAINS_TEST_CHROMIUM=/usr/bin/chromium
command -v promtool >/dev/null 2>&1 && export COHORTGRAINS_TEST_PROMTOOL=$(command -v promtool)
export COHORTGRAINS_TEST_OUTPUT="$out"

# ---------- 3. build once, run every test project ----------
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
log "building"
if ! dotnet build CohortGrains.sln -c Release -nologo -v q >"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log"
  echo "0 passed, 1 failed"
  exit 1
fi

status=0
for proj in tests/*/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  log "running $name"
  dotnet test "$proj" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --results-directory "$out" \
    --logger "console;verbosity=minimal" || status=1
done

# Totals over every project, from the TRX files (one per project).
totals=$(/usr/bin/python3 - "$out" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(f).getroot().find("t:ResultSummary/t:Counters", ns)
    if c is None: continue
    passed += int(c.get("passed", 0))
    failed += int(c.get("failed", 0)) + int(c.get("error", 0)) + int(c.get("timeout", 0)) + int(c.get("aborted", 0))
    skipped += int(c.get("notExecuted", 0))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
)
projects=$(ls tests/*/*.Tests.csproj | wc -l)
reports=$(ls "$out"/*.trx 2>/dev/null | wc -l)
if [ "$reports" -lt "$projects" ]; then
  # A test host that crashed writes no report: count it as a failure rather than hiding it.
  log "only $reports of $projects test projects reported results"
  status=1
  totals=$(echo "$totals" | awk -v m=$((projects - reports)) '{ $3 = $3 + m; print }')
fi
case "$totals" in *" 0 failed"*) ;; *) status=1 ;; esac
echo "$totals"
exit $status
