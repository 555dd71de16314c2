# Local real cluster, images without docker, and the end-to-end smoke test.
# See docs/local-cluster.md. Included by the top-level Makefile (include hack/make/*.mk).

CLUSTER_KUBECONFIG ?= /var/lib/volsync-go-cluster/kubeconfig
E2E_SMOKE_TIMEOUT ?= 10m

.PHONY: cluster-deps cluster-build cluster-up cluster-down cluster-check-clean images e2e-smoke

cluster-deps: ## Install the Debian packages the local cluster and image builds need (idempotent)
	hack/cluster/deps.sh

cluster-build: ## Build (or reuse from ~/.cache/volsync-go) every binary the local cluster runs
	hack/cluster/build.sh

cluster-up: ## Start the local single-node cluster (idempotent); prints the kubeconfig path
	hack/cluster/up.sh

cluster-down: ## Stop the local cluster and remove every process, mount, chain and file it made
	hack/cluster/down.sh

cluster-check-clean: ## Fail when anything of the local cluster is left on the machine
	hack/cluster/check-clean.sh

images: cluster-build ## Build every image of hack/images/images.conf; imported when the cluster runs
	hack/images/build.sh

e2e-smoke: ## Storage, snapshot and DNS smoke test against the running local cluster
	cd e2e && KUBECONFIG=$(CLUSTER_KUBECONFIG) go test -tags e2e -count=1 -timeout $(E2E_SMOKE_TIMEOUT) -v ./smoke/...
