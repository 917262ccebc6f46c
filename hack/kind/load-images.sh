#!/usr/bin/env bash
# Builds the operator and node images (FROM scratch) and loads them into the kind cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${KIND_CLUSTER:-chainnet}
IMG=${IMG:-chainnet/operator:$(cat VERSION)}
NODE_IMG=${NODE_IMG:-chainnet/chainnode:$(cat VERSION)}
make --no-print-directory docker-build IMG="$IMG" NODE_IMG="$NODE_IMG" >/dev/null
bin/kind load docker-image --name "$CLUSTER" "$IMG" "$NODE_IMG"
