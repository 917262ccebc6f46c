#!/usr/bin/env bash
# Second proof for the offline kind cluster: in the node container of probe-runtime.sh, our
# kubelet (v1.37.2, built from source, standalone: no API server) runs a static pod through our
# containerd, with our pause image as the pod sandbox. This is what kind's node runs, minus
# kubeadm and the control plane. Exits non-zero if the pod does not run.
set -euo pipefail
cd "$(dirname "$0")/../.."
. hack/kind/lib.sh
hack/kind/base-rootfs.sh
k8s=$(hack/kind/build-kubernetes.sh)
ctx=$(mktemp -d); trap 'rm -rf "$ctx"; docker rm -f chainnet-kind-kubelet >/dev/null 2>&1 || true' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ctx/pause" ./hack/kind/pause
# containerd v2.4 and kubeadm v1.37 both name the sandbox image registry.k8s.io/pause:3.10.2.
scratch_image registry.k8s.io/pause:3.10.2 "$ctx/pause"
docker save registry.k8s.io/pause:3.10.2 -o "$ctx/pause.tar"
node_image chainnet/kind-kubelet:dev "$k8s/kubelet"
mkdir -p "$ctx/manifests"
cat > "$ctx/kubelet.yaml" <<'YAML'
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
staticPodPath: /etc/kubernetes/manifests
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
protectKernelDefaults: false
localStorageCapacityIsolation: false
YAML
cat > "$ctx/manifests/probe.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: default}
spec:
  hostNetwork: true
  containers:
  - name: sleeper
    image: registry.k8s.io/pause:3.10.2
    imagePullPolicy: Never
YAML
start_node chainnet-kind-kubelet chainnet/kind-kubelet:dev -v "$ctx:/probe:ro"
docker exec chainnet-kind-kubelet ctr -n k8s.io images import /probe/pause.tar | tail -1
docker exec chainnet-kind-kubelet sh -c 'mkdir -p /etc/kubernetes && cp -r /probe/manifests /etc/kubernetes/ &&
  kubelet --config /probe/kubelet.yaml --hostname-override probe-node >/var/log/kubelet.log 2>&1 &'
for _ in $(seq 60); do
  n=$(docker exec chainnet-kind-kubelet ctr -n k8s.io tasks ls 2>/dev/null | grep -c RUNNING || true)
  if (( n >= 2 )); then
    echo "== the static pod runs: sandbox and container tasks in containerd"
    docker exec chainnet-kind-kubelet ctr -n k8s.io tasks ls
    exit 0
  fi
  sleep 1
done
echo "== the static pod did not start; kubelet log:" >&2
docker exec chainnet-kind-kubelet tail -n 40 /var/log/kubelet.log >&2
exit 1
