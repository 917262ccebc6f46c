#!/usr/bin/env bash
# Builds the container runtime of the kind node from Go module source (Debian's containerd 1.6 is
# too old for current kubelets): containerd v2 with its runc shim and ctr, and runc (cgo, with
# libseccomp from Debian). Cached by versions and script hash; prints the cache directory.
set -euo pipefail
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.4.2}
RUNC_VERSION=${RUNC_VERSION:-v1.5.2}
HASH=$(sha256sum "$0" | cut -c1-10)
OUT=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/kind/runtime-${CONTAINERD_VERSION}-${RUNC_VERSION}-${HASH}
if [[ -x $OUT/runc && -x $OUT/containerd ]]; then echo "$OUT"; exit 0; fi
mkdir -p "$OUT"
export GOBIN=$OUT GOFLAGS=-mod=mod
if ! pkg-config --exists libseccomp 2>/dev/null; then
  apt-get update -qq -o DPkg::Lock::Timeout=300 || true
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 libseccomp-dev pkg-config >/dev/null
  pkg-config --exists libseccomp || { echo "kind: libseccomp-dev is needed to build runc" >&2; exit 1; }
fi
start=$(date +%s)
CGO_ENABLED=0 go install -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
  "github.com/containerd/containerd/v2/cmd/containerd@${CONTAINERD_VERSION}" \
  "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@${CONTAINERD_VERSION}" \
  "github.com/containerd/containerd/v2/cmd/ctr@${CONTAINERD_VERSION}" >&2
# runc links libseccomp: built with cgo and the seccomp tag, statically so the node image needs
# no matching library version.
CGO_ENABLED=1 go install -tags "seccomp urfave_cli_no_docs" -ldflags "-s -w -X main.version=${RUNC_VERSION#v} -extldflags -static" \
  "github.com/opencontainers/runc@${RUNC_VERSION}" >&2
echo "kind: runtime built in $(( $(date +%s) - start ))s" >&2
echo "$OUT"
