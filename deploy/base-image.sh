#!/bin/sh
# Build the Dockerfile's base image (and stand-ins for the PostgreSQL and Redis images of
# compose.yaml) from Debian packages, for a machine that cannot pull images.
#
#   deploy/base-image.sh            # uses DOCKER_HOST like the docker client does
#
# The Debian mirror is the one this machine's apt already uses, read from its sources at
# run time. The root filesystem is kept in var/base-image/ so a new daemon imports it again
# in seconds instead of bootstrapping again.
set -eu

BASE_TAG="${BASE_TAG:-python:3.11-slim-bookworm}"   # the Dockerfile's FROM
SUITE=bookworm
DOCKER="${DOCKER:-docker}"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="$HERE/var/base-image"
ROOTFS_TAR="$CACHE/$SUITE-python3.tar"

apt_mirror() {
    # deb822 sources (URIs: … / Suites: …) first, then one-line sources ("deb URI suite …").
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        awk -v suite="$SUITE" '
            /^URIs:/ { uri = $2 }
            /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = uri }
            /^$/ { if (found) { print found; exit } uri = "" }
            END { if (found) print found }' "$file" | head -n 1
    done | head -n 1 | grep . && return
    grep -hE "^deb[[:space:]]" /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk -v suite="$SUITE" '$0 !~ /\[/ && $3 == suite { print $2; exit }' | grep .
}

bootstrap_rootfs() {
    mirror="$(apt_mirror)" || { echo "No $SUITE mirror in this machine's apt sources." >&2; exit 1; }
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    echo "debootstrap $SUITE from this machine's apt mirror…"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        "$SUITE" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
    # What a slim image leaves out: documentation, manuals, translations, package caches.
    rm -rf "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/info" \
        "$work/root/usr/share/locale" "$work/root/var/cache/apt/"*.bin \
        "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"*_Packages \
        "$work/root/var/log/"*.log
    mkdir -p "$CACHE"
    tar -C "$work/root" --numeric-owner -cf "$ROOTFS_TAR.partial" .
    mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
}

[ -f "$ROOTFS_TAR" ] || bootstrap_rootfs
"$DOCKER" import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    "$ROOTFS_TAR" "$BASE_TAG"

# Stand-ins for the official images compose.yaml names, built from Debian's packages.
"$DOCKER" build --network host -q -t postgres:15-bookworm "$HERE/deploy/images/postgres"
"$DOCKER" build --network host -q -t redis:7-bookworm "$HERE/deploy/images/redis"
"$DOCKER" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
    | grep -E "^($BASE_TAG|postgres:15-bookworm|redis:7-bookworm) "
