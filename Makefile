# The root Makefile only calls the components' own Makefiles and scripts.
# The two commands a newcomer needs: `make up` and `make test`.
SHELL := /bin/bash

.PHONY: up down test bench test-contracts

## up: start the local stack (grows with every component)
up:
	scripts/mariadb.sh up

## down: stop every process `make up` started; the database keeps its data
down:
	scripts/mariadb.sh down

## test: every component's tests, each of which installs what it needs
test: test-contracts

test-contracts:
	$(MAKE) -C contracts test

## bench: every benchmark, each printing ratios against its baseline
bench:
