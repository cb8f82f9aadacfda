#!/usr/bin/env bash
# install-deps.sh — install the Debian packages the local test fleet needs.
#
#   install-deps.sh          install what is missing (needs root; runs apt-get update first)
#   install-deps.sh --check  only report what is missing; exit 1 if anything is
#
# Packages are installed without recommends and with a temporary policy-rc.d
# that keeps their services from starting: fleet.sh starts its own instances.
# Go (1.26, for the fleet's own binaries) is not a Debian package here; it
# must already be on PATH or in /usr/local/go/bin.
#
# Exit status: 0 everything present; 1 something is missing (with --check, or
# still missing after the install); 3 missing and not root (the message says
# what to run). Under CI=true the same: anything missing is a failure.
set -euo pipefail

# binary -> Debian package that provides it
declare -A PKG=(
  [sshd]=openssh-server
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [haproxy]=haproxy
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [prometheus]=prometheus
  [prometheus-pushgateway]=prometheus-pushgateway
  [git]=git
  [curl]=curl
  [unshare]=util-linux
  [setsid]=util-linux
  [flock]=util-linux
  [start-stop-daemon]=dpkg
  [tar]=tar
  [timeout]=coreutils
  [sha256sum]=coreutils
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

# missing_packages prints the packages whose binaries are absent, one a line.
missing_packages() {
  local bin
  for bin in "${!PKG[@]}"; do
    if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null 2>&1; then
      printf '%s\n' "${PKG[$bin]}"
    fi
  done | sort -u
}

have_go() {
  command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ]
}

check_only=false
case "${1:-}" in
  --check) check_only=true ;;
  "") ;;
  -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
  *) log "unknown argument: $1 (want --check)"; exit 2 ;;
esac

go_note=""
if ! have_go; then
  go_note="Go is missing: install Go 1.26 in /usr/local/go (Debian's golang is too old)"
fi

mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -eq 0 ]; then
  if [ -n "$go_note" ]; then log "$go_note"; exit 1; fi
  log "all fleet packages are installed"
  exit 0
fi

if $check_only; then
  log "missing packages: ${missing[*]}"
  [ -n "$go_note" ] && log "$go_note"
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  log "missing packages: ${missing[*]}"
  log "installing them needs root. Run as root:"
  log "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  log "or: sudo bash $0"
  [ -n "$go_note" ] && log "$go_note"
  exit 3
fi

# Keep the packages' own services from starting (the fleet runs its own on
# other ports), unless the machine already has a policy.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
timeout 600 apt-get update -q
timeout 1200 apt-get install -y -q --no-install-recommends "${missing[@]}"

mapfile -t still < <(missing_packages)
if [ "${#still[@]}" -gt 0 ]; then
  log "still missing after install: ${still[*]}"
  [ "${CI:-}" = true ] && log "CI=true: a missing fleet dependency is a failure"
  exit 1
fi
if [ -n "$go_note" ]; then log "$go_note"; exit 1; fi
log "installed: ${missing[*]}"
