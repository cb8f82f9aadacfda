#!/usr/bin/env bash
# demo.sh — what `make demo` runs: a local fleet of real hosts, a real
# rollout of a good release, and a bad release that deployctl rolls back by
# itself. The fleet is brought down at the end, whatever happens.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export FLEET_DIR=${FLEET_DIR:-/tmp/deployctl-demo}
N=${N:-3}

say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }

say "build deployctl"
make --no-print-directory build

say "bring up a fleet of $N hosts (sshd per host, HAProxy, etcd, Prometheus), running v1"
bash testdata/fleet/fleet.sh up "$N"
trap 'say "bring the fleet down"; bash testdata/fleet/fleet.sh down' EXIT

say "start constant load through HAProxy (50 req/s) — the 5xx check needs traffic, and no request may fail"
go build -o "$FLEET_DIR/load" ./testdata/fleet/load
LB=$(sed -n 's/.*"lb_url": *"\([^"]*\)".*/\1/p' "$FLEET_DIR/fleet.json")
"$FLEET_DIR/load" -url "$LB/" -rate 50 -duration 10m > "$FLEET_DIR/load.out" 2>&1 &
LOAD_PID=$!
trap 'kill "$LOAD_PID" 2>/dev/null || true; say "bring the fleet down"; bash testdata/fleet/fleet.sh down' EXIT

STATE=$(mktemp -d)
D=(bin/deployctl --config "$FLEET_DIR/deployctl.yaml" --state-dir "$STATE")

say "deployctl validate"
"${D[@]}" validate

say "deployctl plan v2"
"${D[@]}" plan v2

say "deployctl rollout v2 — a good release"
"${D[@]}" rollout v2 --yes -m "demo: a good release"

say "deployctl status"
"${D[@]}" status

say "deployctl rollout bad-health — a release whose /healthz fails: deployctl rolls it back"
set +e
"${D[@]}" rollout bad-health --yes -m "demo: a bad release"
code=$?
set -e
echo "exit status $code (3 = a step failed and every changed host is back on last good)"
if [ "$code" -ne 3 ]; then
  echo "demo: expected exit status 3" >&2
  exit 1
fi

say "deployctl status — every host back on v2, pooled"
"${D[@]}" status

say "deployctl history"
"${D[@]}" history
rm -rf "$STATE"

say "the load that ran through both rollouts"
kill -INT "$LOAD_PID"
wait "$LOAD_PID" || true
cat "$FLEET_DIR/load.out"
