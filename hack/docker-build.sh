#!/usr/bin/env bash
# Builds the operator and node images from `scratch` with binaries built on the host: no base
# image can be pulled here, and static Go binaries need none.
set -euo pipefail
cd "$(dirname "$0")/.."
IMG=$1 NODE_IMG=$2
ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/operator" "$ctx/node"
cp bin/manager Dockerfile "$ctx/operator/"
cp bin/chainnode node-image/Dockerfile "$ctx/node/"
docker build -q -t "$IMG" "$ctx/operator"
docker build -q -t "$NODE_IMG" "$ctx/node"
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^(${IMG%%:*}|${NODE_IMG%%:*}):"
