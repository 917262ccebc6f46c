##@ Core

GOTEST_FLAGS ?=

.PHONY: test
test: test-prereqs ## Run every test suite (unit, fuzz seeds, envtest, chart checks).
	hack/test.sh

.PHONY: test-prereqs
test-prereqs: tools envtest promtool ## Build the pinned tools the tests need (cached outside the clone).

.PHONY: vet
vet: ## gofmt check and go vet.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: demo
demo: ## Start the most complete working network this machine can run (see README).
	hack/demo.sh
