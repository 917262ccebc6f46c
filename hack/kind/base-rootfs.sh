#!/usr/bin/env bash
# Builds the Debian bookworm root that every kind image here starts from (no base image can be
# pulled): debootstrap from the machine's apt mirror with what kind's images/base/Dockerfile
# installs, imported into Docker as chainnet/kind-debian:bookworm. Cached by script hash.
set -euo pipefail
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
TAG=${BASE_TAG:-chainnet/kind-debian:bookworm}
HASH=$(sha256sum "$0" | cut -c1-10)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/kind/rootfs-bookworm-${HASH}
if docker image inspect "$TAG" >/dev/null 2>&1 && [[ -f $CACHE/rootfs.tar ]]; then exit 0; fi
if [[ ! -f $CACHE/rootfs.tar ]]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  mkdir -p "$CACHE" && root=$CACHE/root && rm -rf "$root"
  # The packages kind's base image installs (systemd as PID 1, mount tools, iptables, ...).
  pkgs=systemd,systemd-sysv,dbus,libsystemd0,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,
  pkgs+=ebtables,ca-certificates,socat,procps,libseccomp2,pigz,e2fsprogs,bash,rsync,lockfile-progs,libbtrfs0,fuse-overlayfs,jq
  start=$(date +%s)
  debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -cf "$CACHE/rootfs.tar" .
  rm -rf "$root"
  echo "kind: debian rootfs built in $(( $(date +%s) - start ))s"
fi
docker import "$CACHE/rootfs.tar" "$TAG" >/dev/null
echo "kind: imported $TAG"
