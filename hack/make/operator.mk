##@ Operator

IMG ?= chainnet/operator:$(VERSION)
NODE_IMG ?= chainnet/chainnode:$(VERSION)

.PHONY: tools
tools: ## Build controller-gen and kustomize from module source into bin/ (cached).
	hack/build-tools.sh

.PHONY: promtool
promtool: ## Build promtool from the Prometheus module into bin/ (cached); make test runs the alert rule tests with it.
	hack/build-promtool.sh

.PHONY: envtest
envtest: ## Build envtest's kube-apiserver and etcd from module source into bin/k8s (cached).
	hack/build-envtest.sh

.PHONY: manifests
manifests: tools ## Generate the CRD and RBAC from the Go markers.
	$(BIN)/controller-gen rbac:roleName=chainnet-operator crd:maxDescLen=400 paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: tools ## Generate DeepCopy methods.
	$(BIN)/controller-gen object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: install-bundle
install-bundle: manifests ## Render dist/install.yaml (CRD, RBAC, operator) with kustomize.
	mkdir -p dist && $(BIN)/kustomize build config/default > dist/install.yaml

.PHONY: build-manager
build-manager: ## Build bin/manager (the operator).
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o $(BIN)/manager ./cmd/manager

.PHONY: docker-build
docker-build: build build-manager ## Build the operator and node images from scratch (no base image to pull).
	hack/docker-build.sh "$(IMG)" "$(NODE_IMG)"

.PHONY: build-installer
build-installer: manifests ## Write dist/install.yaml: CRD, namespace, RBAC and the operator (kubectl apply -f).
	mkdir -p dist && $(BIN)/kustomize build config/default > dist/install.yaml
	@echo "dist/install.yaml: kubectl apply -f dist/install.yaml"

.PHONY: sync
sync: manifests generate ## Regenerate everything derived: CRD/RBAC, DeepCopy, chart CRD and RBAC, Argo CD health patch, versions.
	hack/sync-chart.sh
	hack/sync-argocd.sh
	hack/sync-versions.sh

.PHONY: helm-package
helm-package: tools sync ## Package both charts into dist/.
	mkdir -p dist && $(BIN)/helm package charts/chainnet-operator charts/chainnet-network -d dist

