# chainnet — top-level Makefile. Targets live in hack/make/*.mk, one file per concern,
# so that each area (node, operator, tooling, kind) owns its own rules.
SHELL := /usr/bin/env bash -o pipefail
.DEFAULT_GOAL := help
ROOT := $(abspath .)
BIN := $(ROOT)/bin
GO ?= go
VERSION ?= $(shell cat VERSION 2>/dev/null || echo 0.1.0)

.PHONY: help
help: ## Show targets.
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | sort | awk -F':.*?## ' '{printf "  %-22s %s\n", $$1, $$2}'

include $(sort $(wildcard hack/make/*.mk))
