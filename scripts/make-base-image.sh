#!/usr/bin/env bash
# Makes the image every twinshop Dockerfile starts FROM - debian:bookworm-slim - from
# Debian's own archive, the way the official image is made: a minimal Debian ("minbase")
# bootstrapped into a tarball by mmdebstrap, then turned into an image by `docker import`.
# Useful where Docker Hub cannot be reached (no `docker pull`); where it can, the pulled
# image does just as well. Does nothing when the image already exists.
#
#   scripts/make-base-image.sh            # needs root (or sudo), mmdebstrap and a running Docker
#   TWINSHOP_DEBIAN_MIRROR=http://... scripts/make-base-image.sh    # another Debian mirror
#
# The image is labelled `org.twinshop.made-by=make-base-image`, so the tests can tell it
# from a pulled one.
set -euo pipefail

IMAGE="${TWINSHOP_BASE_IMAGE:-debian:bookworm-slim}"
MIRROR="${TWINSHOP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${TWINSHOP_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
DOCKER="${DOCKER:-docker}"

say() { printf 'make-base-image: %s\n' "$*"; }
die() {
    printf 'make-base-image: %s\n' "$*" >&2
    exit 1
}

if "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
    say "$IMAGE already exists"
    exit 0
fi
command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is missing: apt-get install mmdebstrap (scripts/install-system-packages.sh --test does it)"
[ "$(id -u)" -eq 0 ] || die "run as root: mmdebstrap needs it to make device files and set owners"

say "bootstrapping Debian bookworm (minbase) from $MIRROR into $IMAGE"
started=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --variant=minbase: only the "Essential: yes" packages and apt - what debian:*-slim holds.
# The merged-usr hook links /bin to /usr/bin (and so on) as debootstrap does, instead of
# installing the usrmerge package, which would bring the whole of Perl into the image.
# The dpkg options make it "slim" as the official image is, for this image AND for every
# package the Dockerfiles install later (the file stays in /etc/dpkg/dpkg.cfg.d/): no
# manual pages, no documentation but the licences, no translations.
# The apt options: no translated package descriptions, no apt caches left in the image.
# mmdebstrap deletes the package lists it downloaded, as every Dockerfile RUN must too.
mmdebstrap --variant=minbase --format=tar --quiet \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --aptopt='Acquire::Languages "none"' \
    --aptopt='Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache ""' \
    --customize-hook='rm -f "$1"/etc/hostname "$1"/etc/resolv.conf; : > "$1"/etc/machine-id' \
    bookworm - 2>"$log" \
    "deb $MIRROR bookworm main" \
    "deb $MIRROR bookworm-updates main" \
    "deb $SECURITY_MIRROR bookworm-security main" |
    "$DOCKER" import \
        --change 'CMD ["bash"]' \
        --change 'LABEL org.twinshop.made-by=make-base-image' \
        --message "debian bookworm minbase from $MIRROR (scripts/make-base-image.sh)" \
        - "$IMAGE" >/dev/null || {
    cat "$log" >&2
    die "could not make $IMAGE (mmdebstrap's messages above)"
}
say "$IMAGE made in $(($(date +%s) - started)) s: $("$DOCKER" image inspect --format '{{.Size}}' "$IMAGE") bytes"
