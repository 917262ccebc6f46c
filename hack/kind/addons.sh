#!/usr/bin/env bash
# Deploys the add-ons named in $KIND_ADDONS (default none; "csi netpol": both) into the kind cluster
# $KIND_CLUSTER (KUBECONFIG set by the caller, create-cluster.sh): "csi" is the hostpath CSI
# driver with snapshots and expansion (StorageClass csi-hostpath, VolumeSnapshotClass
# csi-hostpath), "netpol" is kube-router enforcing NetworkPolicies. Images are built by
# build-addon-images.sh and loaded with `kind load` (a node that has an image skips it).
set -euo pipefail
cd "$(dirname "$0")/../.."
CLUSTER=${KIND_CLUSTER:-chainnet}
ADDONS=${KIND_ADDONS-}
[[ -n ${ADDONS// } ]] || exit 0
start=$(date +%s)
out=$(hack/kind/build-addon-images.sh)
images=()
for a in $ADDONS; do
  case $a in
    csi|netpol) mapfile -t -O "${#images[@]}" images < "$out/$a.images" ;;
    *) echo "kind: unknown add-on $a (KIND_ADDONS: csi, netpol)" >&2; exit 1 ;;
  esac
done
bin/kind load docker-image --name "$CLUSTER" "${images[@]}" >/dev/null
for a in $ADDONS; do
  if [[ $a == csi ]]; then
    # The CRDs first: the VolumeSnapshotClass in csi.yaml needs them established.
    bin/kubectl apply --server-side --force-conflicts -f "$out/upstream.yaml" >/dev/null
    bin/kubectl wait --for=condition=Established --timeout=60s \
      crd/volumesnapshotclasses.snapshot.storage.k8s.io crd/volumesnapshots.snapshot.storage.k8s.io \
      crd/volumesnapshotcontents.snapshot.storage.k8s.io >/dev/null
  fi
  bin/kubectl apply --server-side --force-conflicts -f "$out/$a.yaml" >/dev/null
done
for a in $ADDONS; do
  case $a in
    csi) bin/kubectl -n kube-system rollout status ds/csi-hostpath --timeout=180s >/dev/null
         bin/kubectl -n kube-system rollout status deploy/snapshot-controller --timeout=180s >/dev/null ;;
    netpol) bin/kubectl -n kube-system rollout status ds/kube-router --timeout=180s >/dev/null ;;
  esac
done
echo "kind: add-ons ($ADDONS) ready in $(( $(date +%s) - start ))s"
