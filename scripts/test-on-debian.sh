#!/usr/bin/env bash
# Run the test suite on another Debian release's Python, in a chroot made by debootstrap:
#
#   sudo scripts/test-on-debian.sh trixie     # Python 3.13
#   sudo scripts/test-on-debian.sh sid        # Python 3.14 (in December 2026)
#
# Needs root, debootstrap and a reachable Debian mirror and package index (pip's own
# settings pass through: PIP_INDEX_URL, PIP_CERT, ...). The release lands in
# ${WORKDIR:-/tmp/tavus-async-<release>} and is kept for the next run; the project is
# copied in from HEAD, so commit (or stash) what you want tested.
set -euo pipefail

release=${1:?usage: test-on-debian.sh RELEASE (e.g. trixie)}
root=${WORKDIR:-/tmp/tavus-async-$release}
mirror=${MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x "$root/usr/bin/python3" ]; then
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$release" "$root" "$mirror"
fi

mounted=()
cleanup() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[i]}" || true; done
}
trap cleanup EXIT
mount_once() {  # mount_once ARGS... TARGET
    local target=${*: -1}
    mountpoint -q "$target" || { mount "$@" && mounted+=("$target"); }
}
mount_once -t proc proc "$root/proc"
mount_once --bind /dev "$root/dev"
# The CLI's tests draw the live bar on a pseudo-terminal.
mount_once --bind /dev/pts "$root/dev/pts"
mount_once -t tmpfs tmpfs "$root/tmp"
cp /etc/resolv.conf "$root/etc/resolv.conf"
if [ -n "${PIP_CERT:-}" ]; then
    cp "$PIP_CERT" "$root/etc/ssl/certs/pip-cert.crt"
    pip_cert=/etc/ssl/certs/pip-cert.crt
fi

rm -rf "$root/src" && mkdir "$root/src"
git -C "$here" archive HEAD | tar -x -C "$root/src"

# The README's test command, inside the chroot, with a clean environment.
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root \
    ${PIP_INDEX_URL:+PIP_INDEX_URL="$PIP_INDEX_URL"} ${pip_cert:+PIP_CERT="$pip_cert"} \
    /bin/sh -c 'cd /src && python3 --version &&
        python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" &&
        .venv/bin/python -m pytest'
