#!/usr/bin/env bash
# Builds promtool from the Prometheus module (github.com/prometheus/prometheus/cmd/promtool) through
# the Go module proxy, pinned, cached outside the clone by version and script hash like
# hack/build-tools.sh's tools, and links it into bin/. `make test` runs `promtool test rules` on the
# operator chart's alerts with it (test/alerts).
set -euo pipefail
PROMETHEUS_VERSION=${PROMETHEUS_VERSION:-v0.316.0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HASH=$(sha256sum "$0" | cut -c1-10)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/chainnet/promtool/${PROMETHEUS_VERSION}-${HASH}
mkdir -p "$CACHE" "$ROOT/bin"
if [[ ! -x $CACHE/promtool ]]; then
  echo "promtool: building from github.com/prometheus/prometheus ${PROMETHEUS_VERSION}"
  # The Prometheus module's v0.3xx.y versions are its v3.xx.y releases; stamp the version as
  # Prometheus' Makefile does so `promtool --version` names it. remove_all_sd (Prometheus' own
  # build tag) leaves out the cloud service discoveries (AWS, Azure, GCE, ... SDKs): rule tests
  # need none, and they are most of a cold build.
  v=github.com/prometheus/common/version
  CGO_ENABLED=0 GOFLAGS=-mod=mod GOBIN=$CACHE go install -trimpath -tags remove_all_sd \
    -ldflags "-s -w -X $v.Version=${PROMETHEUS_VERSION} -X $v.Branch=module" \
    "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_VERSION}"
fi
ln -sf "$CACHE/promtool" "$ROOT/bin/promtool"
