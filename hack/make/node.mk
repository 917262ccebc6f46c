##@ Node

LDFLAGS_NODE := -s -w -X main.version=$(VERSION)

.PHONY: build
build: ## Build bin/chainnode, bin/chainctl and the kubectl plugin link bin/kubectl-chainnet.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS_NODE)" -o $(BIN)/chainnode ./cmd/chainnode
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS_NODE)" -o $(BIN)/chainctl ./cmd/chainctl
	ln -sf chainctl $(BIN)/kubectl-chainnet

.PHONY: bench
bench: ## Run the node benchmarks; figures are ratios to baselines measured in the same run.
	hack/bench.sh

.PHONY: fuzz
fuzz: ## Fuzz every decoder and HTTP handler briefly (FUZZTIME per target, default 20s).
	hack/fuzz.sh
