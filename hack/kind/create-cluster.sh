#!/usr/bin/env bash
# Creates (or reuses, when it is healthy and runs the current node image) the kind cluster
# $KIND_CLUSTER (default chainnet) from our node image: one control plane and $KIND_WORKERS
# workers (default 0), the add-ons of $KIND_ADDONS (default none; "csi netpol", see addons.sh), and waits
# until every system pod is Ready and a default StorageClass exists. Writes the kubeconfig to
# $KIND_KUBECONFIG (default bin/kubeconfig), so several clusters (the multi-cluster e2e's peer)
# can live side by side. KIND_NODE_IMAGE=<image> uses that node image (one from kind's releases,
# say) instead of building ours from source.
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${KIND_CLUSTER:-chainnet}
K8S_VERSION=${K8S_VERSION:-v1.37.2}
IMAGE=${KIND_NODE_IMAGE:-chainnet/kind-node:${K8S_VERSION}}
WORKERS=${KIND_WORKERS:-0}
if [[ -n ${KIND_NODE_IMAGE:-} ]]; then
  docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "kind: KIND_NODE_IMAGE $IMAGE is not in the engine" >&2; exit 1; }
else
  hack/kind/build-node-image.sh
fi
hack/kind/link-tools.sh
export KUBECONFIG=${KIND_KUBECONFIG:-$PWD/bin/kubeconfig}
# Engines that allow --privileged run kind's nodes as kind means them to; the docker shim is for
# engines that refuse it (this one: no CAP_SYS_RESOURCE in its bounding set).
if docker run --rm --privileged --entrypoint /bin/true "$IMAGE" >/dev/null 2>&1; then
  export CHAINNET_DOCKER_SHIM=off
fi
node=${CLUSTER}-control-plane
start=$(date +%s)
# Every node's systemd, kubelet and containerd take inotify instances: at the default 128 per user
# a few clusters exhaust them and a joining kubelet fails ("too many open files"), as kind's known
# issues say. Raise it on the host with `sysctl -w fs.inotify.max_user_instances=512`.
if (( $(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 512) < 512 )); then
  echo "kind: fs.inotify.max_user_instances is $(cat /proc/sys/fs/inotify/max_user_instances); nodes may fail to start below 512" >&2
fi

# healthy: every node runs the current image (a worker stopped by a test counts as stale) and
# there are as many as asked for.
healthy() {
  local want="true $(docker image inspect -f '{{ .Id }}' "$IMAGE")" nodes
  mapfile -t nodes < <(bin/kind get nodes --name "$CLUSTER" 2>/dev/null)
  (( ${#nodes[@]} == WORKERS + 1 )) || return 1
  for n in "${nodes[@]}"; do
    [[ $(docker inspect -f '{{ .State.Running }} {{ .Image }}' "$n" 2>/dev/null) == "$want" ]] || return 1
  done
    bin/kind get kubeconfig --name "$CLUSTER" > "$KUBECONFIG" 2>/dev/null &&
    bin/kubectl get --raw /readyz >/dev/null 2>&1
}

if bin/kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  if healthy; then
    echo "kind: reusing cluster $CLUSTER"
  else
    # A cluster left by an earlier run whose node stopped (a machine restart ends its processes),
    # that runs an older node image or has another number of workers: start afresh.
    echo "kind: cluster $CLUSTER is stale or not answering; recreating it"
    bin/kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
fi
if ! bin/kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  cat > bin/kind-config-$CLUSTER.yaml <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
$(for _ in $(seq "$WORKERS"); do echo "- role: worker"; done)
networking:
  # kube-proxy's image is our Debian root with nft; the nftables mode needs no iptables backend
  # detection.
  kubeProxyMode: nftables
kubeadmConfigPatches:
- |
  kind: KubeletConfiguration
  # The engines here run cgroup v1, which kubelets since v1.35 refuse unless told otherwise.
  failCgroupV1: false
  # On cgroup v1 in a nested node, runc's systemd driver freezes each new container to apply
  # its device rules, and the freeze intermittently times out ("unable to freeze"); the cgroupfs
  # driver (containerd's SystemdCgroup = false in the node image) does not freeze.
  cgroupDriver: cgroupfs
- |
  kind: KubeProxyConfiguration
  # Without CAP_SYS_RESOURCE no process may lower its OOM score.
  oomScoreAdj: 0
YAML
  bin/kind create cluster --name "$CLUSTER" --image "$IMAGE" --config bin/kind-config-$CLUSTER.yaml --kubeconfig "$KUBECONFIG" --wait 0s
fi
bin/kind get kubeconfig --name "$CLUSTER" > "$KUBECONFIG"
deadline=$(( $(date +%s) + 300 ))
until [[ $(bin/kubectl get nodes -o name 2>/dev/null | wc -l) -eq $(( WORKERS + 1 )) ]] &&
      bin/kubectl wait --for=condition=Ready nodes --all --timeout=10s >/dev/null 2>&1 &&
      bin/kubectl -n kube-system wait --for=condition=Ready pods --all --timeout=10s >/dev/null 2>&1 &&
      bin/kubectl -n local-path-storage wait --for=condition=Ready pods --all --timeout=10s >/dev/null 2>&1 &&
      [[ -n $(bin/kubectl get pods -n local-path-storage -o name 2>/dev/null) ]] &&
      bin/kubectl get storageclass standard -o jsonpath='{.metadata.annotations.storageclass\.kubernetes\.io/is-default-class}' 2>/dev/null | grep -q true; do
  if (( $(date +%s) > deadline )); then
    echo "kind: system pods not Ready after 300s" >&2
    bin/kubectl get pods -A -o wide >&2 || true
    docker exec "$node" journalctl -u kubelet --no-pager -n 60 >&2 || true
    exit 1
  fi
  sleep 3
done
hack/kind/addons.sh
echo "kind: cluster $CLUSTER ready in $(( $(date +%s) - start ))s (KUBECONFIG=$KUBECONFIG)"
bin/kubectl get nodes -o wide
