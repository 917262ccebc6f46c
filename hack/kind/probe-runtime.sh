#!/usr/bin/env bash
# Early proof for the offline kind cluster: in a kind-like node container of this Docker engine,
# started from our debootstrapped Debian root, our containerd v2 + runc run a container of an
# image we built (the chainnode image), as a kind node's kubelet would have them do.
# Prints what it did; exits non-zero if the nested container does not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
. hack/kind/lib.sh
hack/kind/base-rootfs.sh
ctx=$(mktemp -d); trap 'rm -rf "$ctx"; docker rm -f chainnet-kind-probe >/dev/null 2>&1 || true' EXIT
node_image chainnet/kind-probe:dev
make --no-print-directory build >/dev/null
mkdir -p "$ctx/node" && cp bin/chainnode node-image/Dockerfile "$ctx/node/"
docker build -q -t chainnet/chainnode:probe "$ctx/node" >/dev/null
docker save chainnet/chainnode:probe -o "$ctx/chainnode.tar"
start_node chainnet-kind-probe chainnet/kind-probe:dev -v "$ctx/chainnode.tar:/chainnode.tar:ro"
docker exec chainnet-kind-probe ctr version | sed -n '1,3p;/Server/,$p'
docker exec chainnet-kind-probe ctr -n k8s.io images import /chainnode.tar | tail -1
echo "== a nested container of our image, run by our containerd and runc:"
docker exec chainnet-kind-probe ctr -n k8s.io run --rm docker.io/chainnet/chainnode:probe probe /chainnode version
