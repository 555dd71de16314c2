# Deploying VolSync-Go, the end-to-end suite and the demo (local cluster: hack/make/cluster.mk).

OVERLAY ?= local

.PHONY: deploy e2e demo demo-down

## deploy: apply a kustomize overlay (OVERLAY=local|rsync-tls|all|...) to the current cluster
deploy:
	hack/deploy.sh $(OVERLAY)

## e2e: local cluster up if needed, images, deploy, the smoke, rsync-TLS and rsync suites (concurrently), tear down (E2E_KEEP_CLUSTER=1 keeps it)
e2e:
	hack/e2e.sh

## demo: the main job: cluster, images, deploy, replicate a volume with rsync-TLS, restore and compare
demo:
	hack/demo.sh

## demo-down: remove the demo and stop the local cluster
demo-down:
	hack/demo.sh down
