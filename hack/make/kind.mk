##@ Kind (offline clusters built from source)

KIND_CLUSTER ?= chainnet

.PHONY: kind-image
kind-image: ## Build the kind node image and every image in it from source (cached).
	hack/kind/build-node-image.sh

.PHONY: kind-addons
kind-addons: ## Build the cluster add-ons (hostpath CSI driver and sidecars, kube-router) from the third_party archives (cached).
	hack/kind/build-addon-images.sh

.PHONY: kind-cluster
kind-cluster: ## Create (or reuse) the kind cluster $(KIND_CLUSTER): control plane, $KIND_WORKERS workers (0), add-ons $KIND_ADDONS (none; csi netpol).
	KIND_CLUSTER=$(KIND_CLUSTER) hack/kind/create-cluster.sh

.PHONY: kind-load
kind-load: ## Build the operator and node images and load them into the kind cluster.
	KIND_CLUSTER=$(KIND_CLUSTER) hack/kind/load-images.sh

.PHONY: kind-delete
kind-delete: ## Delete the kind cluster (and the multi-cluster suite's peer).
	-hack/kind/link-tools.sh && bin/kind delete cluster --name $(KIND_CLUSTER) && bin/kind delete cluster --name $(KIND_CLUSTER)-peer

.PHONY: e2e-multicluster
e2e-multicluster: ## Only the multi-cluster suite: a consortium across two kind clusters (needs a Docker engine).
	KIND_CLUSTER=$(KIND_CLUSTER) E2E_LABELS=multicluster hack/e2e.sh

.PHONY: e2e-cluster
e2e-cluster: ## The real-cluster specs (storage, netpol, nodes) on a 3-node cluster with the CSI and kube-router add-ons.
	KIND_CLUSTER=$(KIND_CLUSTER)-full KIND_KUBECONFIG=$(BIN)/kubeconfig-$(KIND_CLUSTER)-full KIND_WORKERS=2 KIND_ADDONS="csi netpol" \
	  E2E_LABELS="storage || netpol || nodes" hack/e2e.sh

.PHONY: e2e
e2e: ## End-to-end suite on the kind cluster (needs a Docker engine): Helm install, three memberships.
	KIND_CLUSTER=$(KIND_CLUSTER) hack/e2e.sh

.PHONY: e2e-argocd
e2e-argocd: ## Argo CD (built from shared/third_party) syncs the operator and a network from a Git server in kind.
	KIND_CLUSTER=$(KIND_CLUSTER) hack/e2e-argocd.sh
