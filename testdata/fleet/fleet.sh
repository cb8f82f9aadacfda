#!/usr/bin/env bash
# fleet.sh — a real local fleet for deployctl's tests and demo.
#
#   fleet.sh up [N] [--no-app]   start N hosts (default 3) and the services around them
#   fleet.sh status              show what runs; exit 0 only when everything does
#   fleet.sh down                stop every fleet process, by PID
#   fleet.sh clean               down, then delete the state (keeps the repo and binaries)
#
# Host hostI is 127.0.1.I: its own OpenSSH sshd on port $SSH_PORT (own host
# key, key-only root login), started under `unshare --mount` with
# $FLEET_DIR/hosts/hostI/srv bind-mounted on /srv, so every host has its own
# /srv and everything started over SSH stays in that namespace. Around them:
# HAProxy (frontend 127.0.0.1:$LB_PORT, runtime API on 127.0.0.1:$LB_API_PORT
# and $FLEET_DIR/haproxy.sock), etcd (127.0.0.1:$ETCD_PORT) with one conftool
# pool key per host, poolsync (etcd -> HAProxy), and Prometheus
# (127.0.0.1:$PROM_PORT) scraping every host's app each second. `up` also
# starts v1 of the example app on every host, as a deployctl-style release,
# unless --no-app is given.
#
# HAProxy is strict by default (FLEET_LB=strict: `retries 0`, no redispatch),
# like a production LVS/PyBal balancer: a request sent to a stopped server
# fails. FLEET_LB=forgiving puts `retries 3` and `option redispatch` in, so
# such a request is retried on another server.
#
# Everything lives in $FLEET_DIR (default /tmp/deployctl-fleet); every process
# has a pid file there and `down` stops them by PID, together with the app
# processes named by the hosts' /srv/run/*.pid and any other process left in a
# host's mount namespace. `up` is idempotent: what already runs is kept.
#
# Needs root (mount namespaces, sshd). Missing Debian packages are installed
# by install-deps.sh when root. Exit status: 0 ok; 1 failure; 2 usage; 3 a
# prerequisite is missing (package, root, mount namespaces) — tests skip on
# 3 unless CI=true.
set -Eeuo pipefail
shopt -u patsub_replacement 2>/dev/null || true
trap 'printf "fleet: error: %s failed (exit %s) at line %s\n" "$BASH_COMMAND" "$?" "$LINENO" >&2' ERR

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export PATH="$PATH:/usr/sbin:/sbin:/usr/local/go/bin"

FLEET_DIR=${FLEET_DIR:-/tmp/deployctl-fleet}
SSH_PORT=${SSH_PORT:-2222}
APP_PORT=${APP_PORT:-8080}
LB_PORT=${LB_PORT:-18080}
LB_API_PORT=${LB_API_PORT:-19999}
ETCD_PORT=${ETCD_PORT:-12379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-12380}
PROM_PORT=${PROM_PORT:-19090}
BACKEND=${BACKEND:-exampleapp}
FLEET_LB=${FLEET_LB:-strict}     # HAProxy mode: strict (no retry, no redispatch) | forgiving
APP=exampleapp
DC=dc1
CLUSTER=appserver
SERVICE=exampleapp
ENV_NAME=fleet
DEPLOY_DIR=/srv/deploy
MAX_HOSTS=50
MARKER=.deployctl-fleet          # marks a directory as a fleet dir: clean only deletes those
POOL_PREFIX="/conftool/v1/pools/$DC/$CLUSTER/$SERVICE/"

# Service control on the hosts, as deployctl runs it: placeholders are filled
# per host by deployctl ({release_dir}, {address}, {host}).
START_ARGV=(start-stop-daemon --start --quiet --background --make-pidfile
  --pidfile "/srv/run/$APP.pid" --chdir "{release_dir}" --exec "{release_dir}/bin/$APP"
  -- --listen "{address}:$APP_PORT" --name "{host}" --log "/srv/log/$APP.log")
# Stop by the PID in the pid file: SIGTERM, then look every 20ms until it
# is gone, SIGKILL after 10s. A pid that is not $APP any more, or a zombie,
# counts as gone. No braces: deployctl fills {placeholders} in argv. (start-stop-daemon --retry looks far less often:
# over a second per stop of an app that exits at once.)
STOP_SCRIPT='f=$1; app=$2; pid=$(cat "$f" 2>/dev/null) || exit 0
i=0
while [ "$(cat /proc/$pid/comm 2>/dev/null)" = "$app" ] && ! grep -q "^State:.*Z" /proc/$pid/status 2>/dev/null; do
  if [ $i -eq 0 ]; then kill -TERM "$pid" 2>/dev/null; fi
  i=$((i+1))
  if [ $i -eq 500 ]; then kill -KILL "$pid" 2>/dev/null; fi
  if [ $i -gt 600 ]; then echo "$app (pid $pid) did not stop" >&2; exit 1; fi
  sleep 0.02
done
rm -f "$f"'
STOP_ARGV=(sh -c "$STOP_SCRIPT" stop "/srv/run/$APP.pid" "$APP")
TAGS=(v1 v2 bad-start bad-health bad-log bad-5xx bad-slowbind)

E_PREREQ=3

log() { printf 'fleet: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
need() { log "missing prerequisite: $*"; exit "$E_PREREQ"; }

usage() { sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

host_dir() { printf '%s/hosts/host%d' "$FLEET_DIR" "$1"; }
address() { printf '127.0.1.%d' "$1"; }

# ---------------------------------------------------------------- processes

# pid_of PIDFILE NAME prints the pid when the file names a live process whose
# command name is NAME; a stale file or a reused pid prints nothing.
pid_of() {
  local file=$1 name=$2 pid comm
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = "$name" ] || return 1
  printf '%s' "$pid"
}

alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# stop_pids PID... sends TERM, waits up to 10 s, then KILL and up to 5 s more.
stop_pids() {
  local pid left i
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for i in $(seq 100); do
    left=()
    for pid in "$@"; do alive "$pid" && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  log "still running after TERM, killing: ${left[*]}"
  kill -KILL "${left[@]}" 2>/dev/null || true
  for i in $(seq 50); do
    left=()
    for pid in "$@"; do alive "$pid" && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  die "could not stop: ${left[*]}"
}

# start_bg PIDFILE LOG CMD... runs CMD detached (own session, no terminal,
# output to LOG) and records its pid. setsid execs in place, so $! is CMD's pid.
start_bg() {
  local pidfile=$1 logfile=$2
  shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 &
  printf '%s\n' "$!" > "$pidfile"
}

# port_open HOST PORT says whether something accepts connections there.
port_open() { timeout 1 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }

# wait_for SECONDS WHAT CMD... polls CMD every 0.1 s until it succeeds.
wait_for() {
  local secs=$1 what=$2 i
  shift 2
  for i in $(seq $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "timed out after ${secs}s waiting for $what"
}

# wait_proc SECONDS NAME CMD... is wait_for for a fleet process: it fails
# at once, with the end of the process's log, when the process has exited.
wait_proc() {
  local secs=$1 name=$2 pid i
  shift 2
  pid=$(cat "$FLEET_DIR/$name.pid")
  for i in $(seq $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! alive "$pid"; then
      tail -n 20 "$FLEET_DIR/$name.log" >&2 || true
      die "$name exited at start; see $FLEET_DIR/$name.log"
    fi
    sleep 0.1
  done
  die "timed out after ${secs}s waiting for $name"
}

# check_free HOST PORT WHAT fails when the port is taken by someone else.
check_free() {
  if port_open "$1" "$2"; then
    die "$1:$2 ($3) is already in use — another fleet (fleet.sh down with its FLEET_DIR) or another service?"
  fi
}

# mount_ns PID prints the process's mount namespace.
mount_ns() { readlink "/proc/$1/ns/mnt" 2>/dev/null || true; }

# ns_members NS prints the pids of every process in mount namespace NS.
ns_members() {
  local ns=$1 p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && printf '%s\n' "${p#/proc/}"
  done
  return 0
}

# ---------------------------------------------------------------- rendering

# render TEMPLATE OUT NAME... fills @NAME@ with the shell variable NAME.
render() {
  local tmpl=$HERE/templates/$1 out=$2 s name
  shift 2
  s=$(<"$tmpl")
  for name in "$@"; do s=${s//@$name@/${!name}}; done
  if [[ $s =~ @[A-Z_]+@ ]]; then die "unfilled ${BASH_REMATCH[0]} in $tmpl"; fi
  printf '%s\n' "$s" > "$out.tmp"
  mv "$out.tmp" "$out"
}

# quote_str ITEM prints ITEM escaped for a double-quoted YAML or JSON
# string: backslashes, double quotes and newlines.
quote_str() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  printf '%s' "$s"
}

# yaml_list INDENT ITEM... prints a block list of double-quoted items.
yaml_list() {
  local pad=$1 item
  shift
  for item in "$@"; do printf '%s- "%s"\n' "$pad" "$(quote_str "$item")"; done
}

# json_list ITEM... prints a JSON array of strings.
json_list() {
  local out="" item
  for item in "$@"; do out+="${out:+, }\"$(quote_str "$item")\""; done
  printf '[%s]' "$out"
}

# fill_argv HOST_INDEX RELEASE_DIR prints START_ARGV for one host, one per line.
fill_argv() {
  local i=$1 rel=$2 a
  for a in "${START_ARGV[@]}"; do
    a=${a//\{release_dir\}/$rel}
    a=${a//\{address\}/$(address "$i")}
    a=${a//\{host\}/host$i}
    printf '%s\n' "$a"
  done
}

# ---------------------------------------------------------------- checks

check_prereqs() {
  if [ "$(id -u)" -ne 0 ]; then
    bash "$HERE/install-deps.sh" --check || true
    need "fleet.sh up must run as root (it creates mount namespaces and runs sshd with root logins); run it with sudo, or as root"
  fi
  if ! bash "$HERE/install-deps.sh" --check 2>/dev/null; then
    if [ "${FLEET_NO_INSTALL:-}" = 1 ]; then
      bash "$HERE/install-deps.sh" --check || true
      need "Debian packages are missing and FLEET_NO_INSTALL=1"
    fi
    bash "$HERE/install-deps.sh" || need "could not install the Debian packages (see above)"
  fi
  command -v go >/dev/null || need "go (1.26) is not on PATH nor in /usr/local/go/bin"
  if ! unshare --mount --propagation private true 2>/dev/null; then
    need "this machine does not allow mount namespaces (unshare --mount failed); the fleet needs them for each host's own /srv"
  fi
  [ -d /srv ] || mkdir -p /srv
  [ -d /run/sshd ] || install -d -m 755 /run/sshd   # sshd's privilege separation dir
}

# check_n N refuses sizes outside 1..MAX_HOSTS and a resize of a running fleet.
check_n() {
  local n=$1 old
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le "$MAX_HOSTS" ] || {
    log "N must be 1..$MAX_HOSTS, got $n"
    exit 2
  }
  if [ -f "$FLEET_DIR/N" ]; then
    old=$(cat "$FLEET_DIR/N")
    if [ "$old" != "$n" ] && running_any; then
      die "the fleet in $FLEET_DIR runs $old hosts; run 'fleet.sh down' before starting $n"
    fi
  fi
}

running_any() {
  local f
  for f in "$FLEET_DIR"/*.pid "$FLEET_DIR"/hosts/*/sshd.pid "$FLEET_DIR"/hosts/*/srv/run/*.pid; do
    [ -f "$f" ] || continue
    local pid
    pid=$(cat "$f" 2>/dev/null) || continue
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && return 0
  done
  return 1
}

# ---------------------------------------------------------------- keys, ssh

make_keys() {
  local n=$1 i hd kh=$FLEET_DIR/known_hosts sc=$FLEET_DIR/ssh_config
  if [ ! -f "$FLEET_DIR/id_ed25519" ]; then
    ssh-keygen -q -t ed25519 -N '' -C "deployctl-fleet" -f "$FLEET_DIR/id_ed25519"
  fi
  cp "$FLEET_DIR/id_ed25519.pub" "$FLEET_DIR/authorized_keys"
  : > "$kh.tmp"
  : > "$sc.tmp"
  for i in $(seq "$n"); do
    hd=$(host_dir "$i")
    mkdir -p "$hd/srv/run" "$hd/srv/log" "$hd/srv/deploy"
    if [ ! -f "$hd/ssh_host_ed25519_key" ]; then
      ssh-keygen -q -t ed25519 -N '' -C "host$i" -f "$hd/ssh_host_ed25519_key"
    fi
    local names="[$(address "$i")]:$SSH_PORT,[host$i]:$SSH_PORT"
    if [ "$SSH_PORT" = 22 ]; then names="$(address "$i"),host$i"; fi
    printf '%s %s\n' "$names" "$(cut -d' ' -f1,2 "$hd/ssh_host_ed25519_key.pub")" >> "$kh.tmp"
    cat >> "$sc.tmp" <<EOF
Host host$i $(address "$i")
  HostName $(address "$i")
  Port $SSH_PORT
  User root
  IdentityFile $FLEET_DIR/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $FLEET_DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  BatchMode yes
  ConnectTimeout 5
  LogLevel ERROR

EOF
  done
  mv "$kh.tmp" "$kh"
  mv "$sc.tmp" "$sc"
}

fleet_ssh() { ssh -F "$FLEET_DIR/ssh_config" "$@"; }

# ---------------------------------------------------------------- builds

# build_poolsync builds the etcd -> HAProxy sync into $FLEET_DIR/bin, unless
# the binary there was built from the same source.
build_poolsync() {
  local hash stamp=$FLEET_DIR/bin/poolsync.source
  hash=$({ go version; cat "$HERE"/poolsync/*.go "$ROOT"/pkg/pool/*.go "$ROOT/go.sum"; } | sha256sum | cut -d' ' -f1)
  if [ -x "$FLEET_DIR/bin/poolsync" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$hash" ]; then
    return 0
  fi
  log "building poolsync"
  mkdir -p "$FLEET_DIR/bin"
  (cd "$ROOT" && CGO_ENABLED=0 go build -buildvcs=false -o "$FLEET_DIR/bin/poolsync.tmp" ./testdata/fleet/poolsync)
  mv "$FLEET_DIR/bin/poolsync.tmp" "$FLEET_DIR/bin/poolsync"
  printf '%s\n' "$hash" > "$stamp"
}

build_all() {
  local a b
  build_poolsync & a=$!
  bash "$HERE/mkrepo.sh" "$FLEET_DIR/repo" & b=$!
  wait "$a" || die "poolsync build failed"
  wait "$b" || die "example repository failed"
}

# ---------------------------------------------------------------- components

start_sshd() {
  local i=$1 hd addr HOST ADDRESS HOST_DIR SRV_DIR
  hd=$(host_dir "$i")
  addr=$(address "$i")
  HOST=host$i ADDRESS=$addr HOST_DIR=$hd SRV_DIR=$hd/srv
  render sshd_config.in "$hd/sshd_config" HOST ADDRESS HOST_DIR SRV_DIR SSH_PORT FLEET_DIR
  if pid_of "$hd/sshd.pid" sshd >/dev/null; then return 0; fi
  check_free "$addr" "$SSH_PORT" "sshd of host$i"
  /usr/sbin/sshd -t -f "$hd/sshd_config" || die "bad sshd config $hd/sshd_config"
  # sh mounts the host's /srv inside the new namespace, then becomes sshd.
  start_bg "$hd/sshd.pid" "$hd/sshd.log" \
    unshare --mount --propagation private -- \
    /bin/sh -c 'mount --bind "$1" /srv && exec /usr/sbin/sshd -D -e -f "$2"' sh "$hd/srv" "$hd/sshd_config"
}

start_etcd() {
  if pid_of "$FLEET_DIR/etcd.pid" etcd >/dev/null; then return 0; fi
  check_free 127.0.0.1 "$ETCD_PORT" etcd
  check_free 127.0.0.1 "$ETCD_PEER_PORT" "etcd peer"
  start_bg "$FLEET_DIR/etcd.pid" "$FLEET_DIR/etcd.log" \
    etcd --name fleet --data-dir "$FLEET_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "fleet=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
    --auto-compaction-retention 1h --logger zap --log-outputs stderr --log-level warn
}

etcdctl_() { ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$ETCD_PORT" --dial-timeout 2s --command-timeout 5s "$@"; }

etcd_healthy() { curl -fsS --max-time 1 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }

# pool_keys writes each host's pool key, unless it exists (a depool survives `up`).
pool_keys() {
  local n=$1 i key
  for i in $(seq "$n"); do
    key="${POOL_PREFIX}host$i"
    if [ -z "$(etcdctl_ get --print-value-only "$key")" ]; then
      etcdctl_ put "$key" '{"pooled":"yes","weight":10}' >/dev/null
    fi
  done
}

# lb_retry prints the retry lines of haproxy.cfg for FLEET_LB (checked by
# check_lb) as @LB_RETRY@. They live here, not in the template: the template
# is kept free of retries and redispatch, so nothing forgiving slips in by
# default.
lb_retry() {
  case "$FLEET_LB" in
    strict) printf '    retries 0' ;;
    forgiving) printf '    retries 3\n    option redispatch' ;;
  esac
}

# check_lb refuses an unknown FLEET_LB.
check_lb() {
  case "$FLEET_LB" in
    strict|forgiving) ;;
    *) log "FLEET_LB must be strict or forgiving, got '$FLEET_LB'"; exit 2 ;;
  esac
}

start_haproxy() {
  local n=$1 i SERVERS="" LB_RETRY cfg=$FLEET_DIR/haproxy.cfg
  for i in $(seq "$n"); do
    SERVERS+="    server host$i $(address "$i"):$APP_PORT check weight 10"$'\n'
  done
  SERVERS=${SERVERS%$'\n'}
  LB_RETRY=$(lb_retry)
  render haproxy.cfg.in "$cfg.next" FLEET_DIR LB_PORT LB_API_PORT BACKEND SERVERS LB_RETRY
  if pid_of "$FLEET_DIR/haproxy.pid" haproxy >/dev/null; then
    # A running HAProxy keeps its config: refuse to describe another one.
    if ! cmp -s "$cfg.next" "$cfg"; then
      rm -f "$cfg.next"
      die "HAProxy runs with another config than this up asks for (FLEET_LB=$FLEET_LB?); run 'fleet.sh down' first"
    fi
    rm -f "$cfg.next"
    return 0
  fi
  mv "$cfg.next" "$cfg"
  check_free 127.0.0.1 "$LB_PORT" "HAProxy frontend"
  check_free 127.0.0.1 "$LB_API_PORT" "HAProxy runtime API"
  haproxy -c -q -f "$FLEET_DIR/haproxy.cfg" || die "bad HAProxy config $FLEET_DIR/haproxy.cfg"
  rm -f "$FLEET_DIR/haproxy.sock"
  # -D daemonizes and writes the daemon's pid to the pid file.
  haproxy -D -p "$FLEET_DIR/haproxy.pid" -f "$FLEET_DIR/haproxy.cfg" </dev/null >>"$FLEET_DIR/haproxy.log" 2>&1
}

# haproxy_cmd CMD sends one runtime API command and prints the answer.
haproxy_cmd() {
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; printf "%s\n" "$2" >&3; cat <&3' sh "$LB_API_PORT" "$1"
}

start_poolsync() {
  if pid_of "$FLEET_DIR/poolsync.pid" poolsync >/dev/null; then return 0; fi
  start_bg "$FLEET_DIR/poolsync.pid" "$FLEET_DIR/poolsync.log" \
    "$FLEET_DIR/bin/poolsync" --etcd "http://127.0.0.1:$ETCD_PORT" --prefix "$POOL_PREFIX" \
    --backend "$BACKEND" --haproxy "tcp://127.0.0.1:$LB_API_PORT" --resync 5s --timeout 2s
}

start_prometheus() {
  local n=$1 i TARGETS=""
  for i in $(seq "$n"); do
    TARGETS+="      - targets: ['$(address "$i"):$APP_PORT']"$'\n'"        labels: {host: host$i}"$'\n'
  done
  TARGETS=${TARGETS%$'\n'}
  render prometheus.yml.in "$FLEET_DIR/prometheus.yml" FLEET_DIR APP TARGETS
  if pid_of "$FLEET_DIR/prometheus.pid" prometheus >/dev/null; then return 0; fi
  check_free 127.0.0.1 "$PROM_PORT" Prometheus
  mkdir -p "$FLEET_DIR/prometheus"
  start_bg "$FLEET_DIR/prometheus.pid" "$FLEET_DIR/prometheus.log" \
    prometheus --config.file="$FLEET_DIR/prometheus.yml" --storage.tsdb.path="$FLEET_DIR/prometheus" \
    --storage.tsdb.retention.time=2h \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn
}

prom_ready() { curl -fsS --max-time 1 "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null; }

# prom_targets_up N says whether Prometheus scraped N targets successfully.
prom_targets_up() {
  local got
  got=$(curl -fsS --max-time 1 "http://127.0.0.1:$PROM_PORT/api/v1/targets?state=active" | grep -o '"health":"up"' | wc -l)
  [ "$got" -eq "$1" ]
}

# stage_release I REV extracts REV into host I's revs/REV, like deployctl:
# a .partial dir renamed into place, a marker with the rev, and `current`
# switched atomically. It writes through the host's /srv from outside.
stage_release() {
  local i=$1 rev=$2 base dir
  base=$(host_dir "$i")/srv${DEPLOY_DIR#/srv}/$APP
  dir=$base/revs/$rev
  if [ "$(cat "$dir/.deployctl-rev" 2>/dev/null)" != "$rev" ]; then
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    git -C "$FLEET_DIR/repo" archive --format=tar "$rev" | tar -x -C "$dir.partial"
    printf '%s\n' "$rev" > "$dir.partial/.deployctl-rev"
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  fi
  ln -sfn "revs/$rev" "$base/current.tmp"
  mv -T "$base/current.tmp" "$base/current"
}

# start_app I starts the app on host I over SSH, unless it already runs there:
# the release `current` points at when there is one (what was last deployed),
# else v1.
start_app() {
  local i=$1 rev argv base
  if pid_of "$(host_dir "$i")/srv/run/$APP.pid" "$APP" >/dev/null; then return 0; fi
  base=$(host_dir "$i")/srv${DEPLOY_DIR#/srv}/$APP
  rev=$(cat "$base/current/.deployctl-rev" 2>/dev/null || true)
  if ! git -C "$FLEET_DIR/repo" cat-file -e "$rev^{commit}" 2>/dev/null; then
    rev=$(git -C "$FLEET_DIR/repo" rev-parse "v1^{commit}")
  fi
  stage_release "$i" "$rev"
  mapfile -t argv < <(fill_argv "$i" "$DEPLOY_DIR/$APP/revs/$rev")
  fleet_ssh "host$i" "${argv[@]}"
}

# backend_all_up N says whether HAProxy sees N servers of the backend UP.
backend_all_up() {
  local got
  got=$(haproxy_cmd "show stat" | awk -F, -v b="$BACKEND" '$1 == b && $2 ~ /^host[0-9]+$/ && $18 == "UP"' | wc -l)
  [ "$got" -eq "$1" ]
}

# ---------------------------------------------------------------- outputs

write_configs() {
  local n=$1 i START STOP HOSTS="" INV_GROUPS GROUP_NAMES main="" revs="" t hostsjson=""
  START=$(yaml_list "    " "${START_ARGV[@]}")
  STOP=$(yaml_list "    " "${STOP_ARGV[@]}")
  for i in $(seq "$n"); do
    HOSTS+="  - {name: host$i, address: $(address "$i")}"$'\n'
    if [ "$i" -gt 1 ]; then main+="${main:+, }host$i"; fi
  done
  HOSTS=${HOSTS%$'\n'}
  if [ "$n" -gt 1 ]; then
    INV_GROUPS="  canary: [host1]"$'\n'"  main: [$main]"
    GROUP_NAMES="canary, main"
  else
    INV_GROUPS="  canary: [host1]"
    GROUP_NAMES="canary"
  fi
  mkdir -p "$FLEET_DIR/environments/$ENV_NAME"
  render deployctl.yaml.in "$FLEET_DIR/deployctl.yaml" FLEET_DIR APP SSH_PORT APP_PORT START STOP \
    ETCD_PORT LB_API_PORT BACKEND GROUP_NAMES
  render inventory.yaml.in "$FLEET_DIR/environments/$ENV_NAME/inventory.yaml" FLEET_DIR DC CLUSTER SERVICE HOSTS INV_GROUPS

  for t in "${TAGS[@]}" main; do
    revs+="${revs:+, }\"$t\": \"$(git -C "$FLEET_DIR/repo" rev-parse "$t^{commit}")\""
  done
  for i in $(seq "$n"); do
    hostsjson+="${hostsjson:+,
    }{\"name\": \"host$i\", \"address\": \"$(address "$i")\", \"ssh_port\": $SSH_PORT, \"app_port\": $APP_PORT, \"srv_dir\": \"$(host_dir "$i")/srv\"}"
  done
  cat > "$FLEET_DIR/fleet.json.tmp" <<EOF
{
  "dir": "$FLEET_DIR",
  "hosts": [
    $hostsjson
  ],
  "lb_url": "http://127.0.0.1:$LB_PORT",
  "haproxy_api": "127.0.0.1:$LB_API_PORT",
  "haproxy_socket": "$FLEET_DIR/haproxy.sock",
  "backend": "$BACKEND",
  "lb_mode": "$FLEET_LB",
  "etcd_endpoints": ["http://127.0.0.1:$ETCD_PORT"],
  "pool_prefix": "$POOL_PREFIX",
  "prometheus_url": "http://127.0.0.1:$PROM_PORT",
  "repo_dir": "$FLEET_DIR/repo",
  "key_file": "$FLEET_DIR/id_ed25519",
  "known_hosts": "$FLEET_DIR/known_hosts",
  "ssh_config": "$FLEET_DIR/ssh_config",
  "config_file": "$FLEET_DIR/deployctl.yaml",
  "env_name": "$ENV_NAME",
  "app": "$APP",
  "deploy_dir": "$DEPLOY_DIR",
  "start": $(json_list "${START_ARGV[@]}"),
  "stop": $(json_list "${STOP_ARGV[@]}"),
  "revs": {$revs}
}
EOF
  mv "$FLEET_DIR/fleet.json.tmp" "$FLEET_DIR/fleet.json"
}

print_summary() {
  local n=$1
  cat <<EOF
fleet is up: $n hosts (127.0.1.1 .. 127.0.1.$n) in $FLEET_DIR
  deployctl config  $FLEET_DIR/deployctl.yaml
  inventory         $FLEET_DIR/environments/$ENV_NAME/inventory.yaml  (environment "$ENV_NAME")
  ssh_config        $FLEET_DIR/ssh_config   (ssh -F $FLEET_DIR/ssh_config host1)
  known_hosts       $FLEET_DIR/known_hosts
  ssh key           $FLEET_DIR/id_ed25519
  app repo          $FLEET_DIR/repo   (tags: ${TAGS[*]})
  load balancer     http://127.0.0.1:$LB_PORT/   (FLEET_LB=$FLEET_LB)
  HAProxy API       tcp://127.0.0.1:$LB_API_PORT  unix://$FLEET_DIR/haproxy.sock  (backend $BACKEND)
  etcd              http://127.0.0.1:$ETCD_PORT  (pool keys under $POOL_PREFIX)
  Prometheus        http://127.0.0.1:$PROM_PORT/
  machine-readable  $FLEET_DIR/fleet.json
EOF
}

# ---------------------------------------------------------------- commands

cmd_up() {
  local n=3 with_app=true arg i pids=() p failed=false
  for arg in "$@"; do
    case "$arg" in
      --no-app) with_app=false ;;
      -*) log "unknown option: $arg"; exit 2 ;;
      *) n=$arg ;;
    esac
  done
  check_n "$n"
  check_lb
  check_prereqs
  local t0=$SECONDS
  # On any failure from here on, say how to look and how to clean up.
  trap 'log "up failed: logs are in $FLEET_DIR/*.log and $FLEET_DIR/hosts/*/; stop what started with: fleet.sh down"' EXIT
  mkdir -p "$FLEET_DIR"
  touch "$FLEET_DIR/$MARKER"
  printf '%s\n' "$n" > "$FLEET_DIR/N"

  build_all
  make_keys "$n"
  for i in $(seq "$n"); do start_sshd "$i"; done
  start_etcd
  start_haproxy "$n"
  start_prometheus "$n"

  wait_proc 15 etcd etcd_healthy
  pool_keys "$n"
  start_poolsync
  wait_proc 10 haproxy haproxy_cmd "show info"
  # Per host, in parallel: log in over SSH (which proves sshd and the keys),
  # then start the app.
  for i in $(seq "$n"); do
    (
      wait_for 10 "sshd of host$i" fleet_ssh "host$i" true
      if $with_app; then start_app "$i"; fi
    ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=true; done
  if $failed; then die "a host did not come up (see above)"; fi
  if $with_app; then
    wait_for 15 "HAProxy to see all $n servers UP" backend_all_up "$n"
  fi
  wait_proc 15 prometheus prom_ready
  if $with_app; then
    wait_for 15 "Prometheus to scrape all $n hosts" prom_targets_up "$n"
  fi
  for p in etcd haproxy poolsync prometheus; do
    pid_of "$FLEET_DIR/$p.pid" "$p" >/dev/null || die "$p exited; see $FLEET_DIR/$p.log"
  done

  write_configs "$n"
  trap - EXIT
  log "ready in $((SECONDS - t0))s"
  print_summary "$n"
}

cmd_down() {
  local hd pid ns selfns initns f pids=() p
  [ -d "$FLEET_DIR" ] || { log "nothing to stop: no $FLEET_DIR"; return 0; }
  selfns=$(mount_ns self)
  initns=$(mount_ns 1)
  # poolsync first, so that it does not touch HAProxy while the rest goes.
  if pid=$(pid_of "$FLEET_DIR/poolsync.pid" poolsync); then stop_pids "$pid"; fi
  rm -f "$FLEET_DIR/poolsync.pid"

  for hd in "$FLEET_DIR"/hosts/host*; do
    [ -d "$hd" ] || continue
    # Everything in the host's mount namespace: sshd, the apps, whatever a
    # session left behind. Never the machine's own namespace.
    if pid=$(pid_of "$hd/sshd.pid" sshd); then
      ns=$(mount_ns "$pid")
      if [ -n "$ns" ] && [ "$ns" != "$selfns" ] && [ "$ns" != "$initns" ]; then
        while read -r p; do pids+=("$p"); done < <(ns_members "$ns")
      fi
      pids+=("$pid")
    fi
    # App processes named by the host's pid files (also when sshd is gone).
    for f in "$hd"/srv/run/*.pid; do
      [ -f "$f" ] || continue
      p=$(cat "$f" 2>/dev/null) || continue
      [[ $p =~ ^[0-9]+$ ]] && alive "$p" || continue
      ns=$(mount_ns "$p")
      if [ -n "$ns" ] && [ "$ns" != "$selfns" ] && [ "$ns" != "$initns" ]; then pids+=("$p"); fi
    done
  done
  for p in haproxy prometheus etcd; do
    if pid=$(pid_of "$FLEET_DIR/$p.pid" "$p"); then pids+=("$pid"); fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
    log "stopping ${#pids[@]} processes"
    stop_pids "${pids[@]}"
  fi
  rm -f "$FLEET_DIR"/*.pid "$FLEET_DIR"/hosts/*/sshd.pid "$FLEET_DIR"/hosts/*/srv/run/*.pid "$FLEET_DIR/haproxy.sock"
  log "fleet in $FLEET_DIR is down"
}

cmd_clean() {
  case "$FLEET_DIR" in
    /?*/?*) ;;
    *) die "refusing to clean $FLEET_DIR: not a path of at least two levels" ;;
  esac
  if [ ! -d "$FLEET_DIR" ]; then return 0; fi
  [ -f "$FLEET_DIR/$MARKER" ] || die "refusing to clean $FLEET_DIR: it has no $MARKER marker"
  cmd_down
  rm -rf "$FLEET_DIR/hosts" "$FLEET_DIR/etcd" "$FLEET_DIR/prometheus" "$FLEET_DIR/environments" \
    "$FLEET_DIR"/*.log "$FLEET_DIR"/*.cfg "$FLEET_DIR"/*.yml "$FLEET_DIR"/*.yaml "$FLEET_DIR/fleet.json" \
    "$FLEET_DIR/N" "$FLEET_DIR/known_hosts" "$FLEET_DIR/ssh_config" "$FLEET_DIR/authorized_keys" \
    "$FLEET_DIR"/id_ed25519 "$FLEET_DIR"/id_ed25519.pub
  log "cleaned $FLEET_DIR (kept repo/ and bin/)"
}

cmd_status() {
  local n i hd pid ok=true stat state ver pooled
  if [ ! -f "$FLEET_DIR/N" ]; then
    echo "no fleet in $FLEET_DIR"
    return 1
  fi
  n=$(cat "$FLEET_DIR/N")
  echo "fleet in $FLEET_DIR: $n hosts"
  for p in etcd haproxy poolsync prometheus; do
    if pid=$(pid_of "$FLEET_DIR/$p.pid" "$p"); then
      printf '  %-11s running  pid %s\n' "$p" "$pid"
    else
      printf '  %-11s STOPPED\n' "$p"
      ok=false
    fi
  done
  stat=$(haproxy_cmd "show stat" 2>/dev/null || true)
  printf '  %-6s %-10s %-10s %-10s %-12s %-8s %s\n' host address sshd app version haproxy pooled
  for i in $(seq "$n"); do
    hd=$(host_dir "$i")
    local sshd_s=down app_s=down
    if pid=$(pid_of "$hd/sshd.pid" sshd); then sshd_s=$pid; else ok=false; fi
    if pid=$(pid_of "$hd/srv/run/$APP.pid" "$APP"); then app_s=$pid; else ok=false; fi
    ver=$(curl -fsS --max-time 1 "http://$(address "$i"):$APP_PORT/version" 2>/dev/null || echo -)
    state=$(printf '%s\n' "$stat" | awk -F, -v b="$BACKEND" -v s="host$i" '$1 == b && $2 == s {print $18}')
    pooled=$(etcdctl_ get --print-value-only "${POOL_PREFIX}host$i" 2>/dev/null | sed -n 's/.*"pooled": *"\([a-z]*\)".*/\1/p')
    printf '  %-6s %-10s %-10s %-10s %-12s %-8s %s\n' "host$i" "$(address "$i")" "$sshd_s" "$app_s" "${ver:--}" "${state:--}" "${pooled:--}"
  done
  $ok
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case "$cmd" in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) if cmd_status; then exit 0; else exit 1; fi ;;
    clean) cmd_clean ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
