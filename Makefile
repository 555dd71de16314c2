# VolSync-Go. Targets are named by verb; see README.md.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath .)
BIN := $(ROOT)/bin
export GOFLAGS ?= -buildvcs=false
# Go modules of the monorepo (go.work ties them together).
MODULES := $(shell go work edit -json | sed -n 's/.*"DiskPath": "\.\/\{0,1\}\(.*\)".*/\1/p')
CONTROLLER_GEN := $(BIN)/controller-gen
GOLANGCI_LINT := $(BIN)/golangci-lint
CRD_DIR := deploy/kustomize/crd

.PHONY: help
help: ## Show the targets
	@{ grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'; \
	   grep -hE '^## [a-zA-Z0-9_-]+: ' $(MAKEFILE_LIST) | sed 's/^## \([^:]*\): /\1\t/'; } | column -t -s $$'\t'

$(CONTROLLER_GEN): hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && GOWORK=off go build -o $(BIN)/controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen

$(GOLANGCI_LINT): hack/tools/lint/go.mod hack/tools/lint/go.sum
	cd hack/tools/lint && GOWORK=off go build -o $(BIN)/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint

.PHONY: tools
tools: $(CONTROLLER_GEN) ## Build the code generators (from the Go module proxy)

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code
	cd api && $(CONTROLLER_GEN) object:headerFile=$(ROOT)/hack/boilerplate.go.txt paths=./...

# Controllers whose ClusterRole is generated from RBAC markers: <cmd dir>:<component>:<role name>.
# Each gets the shared controller's markers (pkg/common/app/rbac.go) and those of its own code.
RBAC_CONTROLLERS := rsynctls-controller:rsync-tls:volsync-rsync-tls rsync-controller:rsync:volsync-rsync rclone-controller:rclone:volsync-rclone restic-controller:restic:volsync-restic syncthing-controller:syncthing:volsync-syncthing

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and each controller's ClusterRole
	cd api && $(CONTROLLER_GEN) crd:maxDescLen=400 paths=./... output:crd:artifacts:config=$(ROOT)/$(CRD_DIR)/bases
	@for c in $(RBAC_CONTROLLERS); do IFS=: read -r dir comp role <<<"$$c"; \
	  (cd cmd/$$dir && $(CONTROLLER_GEN) rbac:roleName=$$role paths=./... paths=../../pkg/common/app output:rbac:artifacts:config=$(ROOT)/deploy/kustomize/components/$$comp/rbac) || exit 1; done
	@# The volume populator shares no code with the mover controllers' reconcilers: its own markers only.
	cd cmd/populator && $(CONTROLLER_GEN) rbac:roleName=volsync-populator paths=./... output:rbac:artifacts:config=$(ROOT)/deploy/kustomize/components/populator/rbac

.PHONY: verify-gen
verify-gen: generate manifests ## Fail when generated files are stale
	@if [ -n "$$(git status --porcelain -- api deploy/kustomize)" ]; then \
	  echo "Generated files are stale; run 'make generate manifests' and commit:"; \
	  git status --porcelain -- api deploy/kustomize; git --no-pager diff --stat -- api deploy/kustomize; exit 1; fi
	@echo "generated files are up to date"

.PHONY: verify-modules
verify-modules: ## Build and vet every module on its own (GOWORK=off)
	@for m in $(MODULES); do echo "== $$m"; (cd $$m && GOWORK=off go mod verify >/dev/null && GOWORK=off go build ./... && GOWORK=off go vet ./...) || exit 1; done
	@for m in $(MODULES); do (cd $$m && cp go.mod /tmp/volsync-go.mod.$$$$ && cp go.sum /tmp/volsync-go.sum.$$$$ 2>/dev/null || true; \
	  GOWORK=off go mod tidy >/dev/null; \
	  if ! git diff --quiet -- go.mod go.sum; then echo "$$m: go.mod/go.sum not tidy"; git --no-pager diff -- go.mod go.sum | head -40; exit 1; fi) || exit 1; done
	@echo "every module builds on its own and is tidy"

.PHONY: build
build: ## Build every module
	@for m in $(MODULES); do (cd $$m && go build ./...) || exit 1; done

# The kubectl plugin's version (kubectl volsync --version).
CLI_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: cli
cli: ## Build the kubectl plugin into bin/kubectl-volsync (put bin/ on PATH: kubectl volsync ...)
	CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=$(CLI_VERSION)" -o $(BIN)/kubectl-volsync ./cmd/kubectl-volsync

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run go vet and golangci-lint on every module
	@for m in $(MODULES); do echo "== $$m"; (cd $$m && go vet ./... && $(GOLANGCI_LINT) run --config $(ROOT)/.golangci.yml ./...) || exit 1; done

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver and etcd for envtest (cached) and print their directory
	@hack/k8s-bins.sh kube-apiserver etcd

.PHONY: test
test: ## Unit, integration (real kube-apiserver) and mover tests
	hack/test.sh

-include hack/make/*.mk
