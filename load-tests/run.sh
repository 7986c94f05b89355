#!/usr/bin/env bash
# Runs one load-test scenario against a local cluster and writes load-tests/results/<scenario>-<date>.json, .md, .svg.
#
#   load-tests/run.sh launch|storm|replies|soak [--short] [--clients N] [--timers N] [--rate N] [--duration S] [--warm-up S]
#                     [--nodes N] [--concurrency N] [--deadline S]
#
# The generator starts PostgreSQL and the nodes through deploy/local-cluster.sh (in a state directory of its own under
# data/load/, on free loopback ports so a developer's cluster is untouched), runs the scenario, drains and stops
# everything, and writes the results. All traffic stays on 127.0.0.1. Each run starts from an empty database.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scenario=${1:-}
case "$scenario" in launch|storm|replies|soak) shift ;; *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;; esac

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# Node ports are consecutive from the base: pick a base whose next 8 ports are free.
free_base() {
  python3 - <<'PY'
import socket, random
for _ in range(200):
    base = random.randint(20000, 40000)
    try:
        socks = []
        for p in range(base, base + 8):
            s = socket.socket(); s.bind(("127.0.0.1", p)); socks.append(s)
        for s in socks: s.close()
        print(base); break
    except OSError:
        for s in socks: s.close()
PY
}

state="$root/data/load/$scenario"
export COHORTGRAINS_CLUSTER_DIR="$state"
# A fresh database per run: figures (database size above all) must not include an earlier run's rows.
COHORTGRAINS_CLUSTER_DIR="$state" "$root/deploy/local-cluster.sh" clean >/dev/null 2>&1 || true
trap 'COHORTGRAINS_CLUSTER_DIR="$state" "$root/deploy/local-cluster.sh" stop >/dev/null 2>&1 || true' EXIT

echo "[run.sh] building (Release)" >&2
dotnet build "$root/src/CohortGrains.Host/CohortGrains.Host.csproj" -c Release -nologo -v q >/dev/null
dotnet build "$root/load-tests/CohortGrains.LoadTests/CohortGrains.LoadTests.csproj" -c Release -nologo -v q >/dev/null
echo "[run.sh] load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

dotnet "$root/load-tests/CohortGrains.LoadTests/bin/Release/net10.0/CohortGrains.LoadTests.dll" "$scenario" \
  --repo "$root" --cluster-dir "$state" --base-port "$(free_base)" --pg-port "$(free_port)" --no-build "$@"
