# The root Makefile only calls the components' own Makefiles and scripts.
# The two commands a newcomer needs: `make up` and `make test`.
SHELL := /bin/bash
WORKERS ?= 2

.PHONY: up down status test bench docs-check load-distributed migrate \
	test-contracts test-kernel test-agent test-route1 test-route2 test-route-parity \
	test-ws test-dashboard test-mesh test-images test-cluster test-locust test-e2e test-scripts \
	images cluster-up cluster-load cluster-down bench-agent bench-routes bench-ws

## up: start the local stack, run Locust collect and replay, print the summary
up:
	scripts/stack.sh up
	scripts/stack.sh load

## down: stop every process `make up` started; the database keeps its data
down:
	scripts/stack.sh down

status:
	scripts/stack.sh status

## migrate: the table's migrations (route 1's Alembic, generated from its SQLAlchemy model) applied to
## the database of DB_* (see route1-python/README.md for the user it needs)
migrate:
	$(MAKE) -C route1-python migrate

## load-distributed: the whole job, collect and replay each run by a Locust master and WORKERS local
## workers (WORKERS=0 LOCUST_EXPECT_WORKERS=N: N workers started on other machines, see locust/README.md)
load-distributed:
	scripts/stack.sh up
	LOCUST_WORKERS=$(WORKERS) scripts/stack.sh load

## images: the five images, built with podman from their Dockerfiles as GitHub Actions builds them
images:
	scripts/images.sh build

## cluster-up: a single-node Kubernetes on this machine, the `local` variant deployed on it
cluster-up:
	scripts/local-cluster.sh up
	scripts/local-cluster.sh deploy

## cluster-load: the main job through the cluster (COLLECT_*, REPLAY_* as for `make up`)
cluster-load:
	scripts/local-cluster.sh load

## cluster-down: stop every process of the cluster; its state stays in .run/cluster
cluster-down:
	scripts/local-cluster.sh down

## test: every component's tests; each installs what it needs and starts its own servers
test: test-contracts test-kernel test-agent test-route1 test-route2 test-route-parity \
	test-ws test-dashboard test-mesh test-images test-cluster test-locust test-e2e test-scripts docs-check

test-contracts:
	$(MAKE) -C contracts test
test-kernel:
	$(MAKE) -C kernel-modules test
test-agent:
	$(MAKE) -C go-agent test
test-route1:
	$(MAKE) -C route1-python test
test-route2:
	$(MAKE) -C route2-node test
test-route-parity:
	$(MAKE) -C tests/route-parity test
test-ws:
	$(MAKE) -C ws-server test
test-dashboard:
	$(MAKE) -C web-dashboard test
test-mesh:
	$(MAKE) -C mesh test
## test-images: build the five images with podman, run each as its deployment runs it
test-images:
	$(MAKE) -C tests/images test
## test-cluster: the cluster brought up, the variant deployed, checked for real, brought down
test-cluster:
	$(MAKE) -C tests/cluster test
test-locust:
	$(MAKE) -C locust test
test-e2e:
	$(MAKE) -C tests/e2e test

## test-scripts: the project's own scripts: shellcheck on every one, docs-check's own tests
test-scripts:
	python3 -m unittest discover -v -s scripts/tests

## docs-check: every file and command that the manual and the README name exists
docs-check:
	python3 scripts/docs-check.py README.md docs/manual.md

## bench: every benchmark, each printing ratios against a baseline run in the same process
bench: bench-agent bench-routes bench-ws

bench-agent:
	$(MAKE) -C go-agent bench
bench-routes:
	$(MAKE) -C route1-python bench
	$(MAKE) -C route2-node bench
bench-ws:
	$(MAKE) -C ws-server bench
