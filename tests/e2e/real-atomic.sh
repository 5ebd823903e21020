#!/usr/bin/env bash
# Run the real `atomic` CLI (projectatomic/atomic, archived; not packaged by Debian) against the
# scanner images: atomic install, atomic scan --rootfs, atomic uninstall. A manual check, not
# part of `make test` (atomic is not vendored here).
#
#   tests/e2e/real-atomic.sh ATOMIC_SRC IMAGE SCANNER_NAME ROOTFS...
#   e.g. tests/e2e/real-atomic.sh ~/src/atomic localhost/scanner-rpm-verify rpm-verify /mnt/root
#
# ATOMIC_SRC is a checkout of projectatomic/atomic (v1.22). Needs, from Debian: podman, runc,
# python3-yaml python3-docker python3-selinux python3-dateutil python3-requests, and root
# (atomic bind-mounts the roots under /run/atomic). Writes /etc/atomic.d/SCANNER_NAME during
# the run and removes it (atomic uninstall); results stay in /var/lib/atomic/SCANNER_NAME/.
#
# What makes the 2019 tool run on this machine, nothing of it changed:
# - a `docker` that runs podman first on PATH (tests/e2e/bin/docker): atomic scan runs `docker run`;
# - `podman system service` as the docker API atomic's docker-py client talks to (DOCKER_HOST);
# - CONTAINERS_CONF=tests/e2e/containers.conf (runc, low rlimits) for the label commands;
# - two Python compatibility shims loaded by sitecustomize: yaml.load without a Loader
#   (PyYAML >= 6) and gettext.install without codeset (Python >= 3.8).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
src=$(readlink -f "$1"); image=$2; scanner=$3; shift 3
here=$(dirname "$(readlink -f "$0")")
work=$(mktemp -d)
trap 'kill "$service" 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/sitecustomize.py" <<'EOF'
import gettext
import yaml
_load = yaml.load
yaml.load = lambda stream, Loader=yaml.SafeLoader: _load(stream, Loader=Loader)
_install = gettext.install
gettext.install = lambda domain, localedir=None, codeset=None, names=None: _install(domain, localedir, names=names)
EOF
cp "$src/atomic.conf" "$work/atomic.conf"
mkdir -p /etc/atomic.d "$work/var"

export CONTAINERS_CONF="$here/containers.conf"
export PATH="$here/bin:$PATH"
export PYTHONPATH="$work:$src"
export ATOMIC_CONF="$work/atomic.conf"
export ATOMIC_VAR_LIB="$work/var"
export DOCKER_HOST="unix://$work/podman.sock"
podman system service --time=0 "$DOCKER_HOST" &
service=$!
for _ in $(seq 50); do [ -S "$work/podman.sock" ] && break; sleep 0.1; done

atomic() { /usr/bin/python3 -W ignore "$src/atomic" "$@"; }
atomic install "$image"
cat "/etc/atomic.d/$scanner"
atomic scan --list
rootfs=()
for r in "$@"; do rootfs+=(--rootfs "$(readlink -f "$r")"); done
# atomic scan prints its summary only with a terminal on stdout.
status=0
script -qec "$(printf '%q ' /usr/bin/python3 -W ignore "$src/atomic" scan --scanner "$scanner" "${rootfs[@]}")" /dev/null || status=$?
echo "atomic scan exited $status (1 when a subject is not supported)"
atomic uninstall "$image"
test ! -e "/etc/atomic.d/$scanner"
