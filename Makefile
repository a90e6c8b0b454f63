# Hero Tasks. `make dev` and `make test` install whatever is missing first (scripts/setup.sh),
# so both work on a fresh clone. Run `make help` for the list.

PORT ?= 8787
ROLE ?= member
WORKSPACE ?= demo
# `make token USER=ana`; defaults to your login name.
USER ?= dev
STATE_DIR := .wrangler/state
SETUP_ENV := target/setup.env
# Every recipe runs with the environment setup.sh wrote (tool paths, wasm toolchain).
WITH_ENV = . ./$(SETUP_ENV) &&
# The wasm build uses the toolchain setup.sh found (rustup's, or Debian's rustc-web).
WASM_CARGO = env $${WASM_TOOLCHAIN:+RUSTUP_TOOLCHAIN=$$WASM_TOOLCHAIN}
WRANGLER = node_modules/.bin/wrangler
WORKER_SOURCES := $(shell find src core/src -type f) Cargo.toml core/Cargo.toml Cargo.lock
# The client package, and the React example built on it (scripts/client-build.mjs).
CLIENT_SOURCES := $(shell find clients/js/src -type f) scripts/client-build.mjs
EXAMPLE_SOURCES := $(shell find examples/react -type f -not -path '*/node_modules/*')

.PHONY: help setup setup-test setup-bench build client example dev migrate token test unit e2e lint lint-js pack-check fmt deploy deploy-check clean fuzz soak bench bench-quick

help:
	@echo "make dev      set up, apply D1 migrations locally, run wrangler dev on 127.0.0.1:$(PORT) (rebuilds only what changed)"
	@echo "make test     set up, then lint, unit tests, pack-check, deploy-check, the end-to-end suite (the browser"
	@echo "              tests and the README's examples among them) and bench-quick (about 10 minutes warm)"
	@echo "make token USER=ana [ROLE=member|viewer|admin] [WORKSPACE=demo]   print a dev JWT"
	@echo "make deploy   set up, build, wrangler deploy. First (README, Deploy): a D1 database (its id in"
	@echo "              wrangler.toml, migrations applied --remote) and SUPABASE_URL in [vars], plus"
	@echo "              wrangler secret put JWT_SECRET for a project on the legacy JWT secret"
	@echo "make lint     cargo fmt --check, the code's shape, clippy -D warnings (host, wasm32), and lint-js"
	@echo "make lint-js  the client package: no drift in public/, tsc (bundler, nodenext), publint, attw"
	@echo "make client example   build public/hero-client.js and the React example (/examples/react/)"
	@echo "make bench    Hero vs the old design (Node ws + Redis + Postgres); writes bench/results/latest.{json,md} (about 20 minutes)"
	@echo "make bench-quick   the same in about a minute, for smoke-testing (bench/results/quick.*)"
	@echo "make soak     1,000 sockets in one room for 5 minutes (SOAK_SECONDS, SOAK_SOCKETS)"
	@echo "make fuzz     cargo-fuzz on client frames, document frames and request bodies (FUZZ_SECONDS=60 per target)"

setup:
	@scripts/setup.sh build

setup-test:
	@scripts/setup.sh test

setup-bench:
	@scripts/setup.sh bench

$(SETUP_ENV):
	@scripts/setup.sh build

# wrangler's [build] command. Rebuilds only when a source changed, so a dev-server restart
# and the e2e suite do not pay for a wasm build they do not need. Also builds the UI's
# /hero-client.js from the client package.
build: build/worker/shim.mjs client

# public/hero-client.js (+ .d.ts): clients/js bundled by the pinned esbuild. Never edited by
# hand: `make lint` fails if it differs from what its sources build.
client: public/hero-client.js

public/hero-client.js: $(CLIENT_SOURCES) $(SETUP_ENV)
	@node scripts/client-build.mjs client

# The React example (examples/react), served by `make dev` at /examples/react/ (and by the
# e2e suite's server). Not part of `build`: `make deploy` never ships it.
example: public/examples/react/app.js

public/examples/react/app.js: $(CLIENT_SOURCES) $(EXAMPLE_SOURCES) $(SETUP_ENV)
	@node scripts/client-build.mjs example

build/worker/shim.mjs: $(WORKER_SOURCES) $(SETUP_ENV)
	@echo "build: worker-build --release (wasm32)"
	@$(WITH_ENV) $(WASM_CARGO) worker-build --release
	@node scripts/strip-wasm-names.mjs build/index_bg.wasm

migrate: setup
	@echo "migrate: applying D1 migrations to the local database in $(STATE_DIR)"
	@$(WITH_ENV) $(WRANGLER) d1 migrations apply DB --local --persist-to $(STATE_DIR) </dev/null

dev: migrate build example
	@echo "dev: wrangler dev on http://127.0.0.1:$(PORT) (state in $(STATE_DIR))"
	@$(WITH_ENV) $(WRANGLER) dev --ip 127.0.0.1 --port $(PORT) --persist-to $(STATE_DIR) --var LOG_LEVEL:debug

token: $(SETUP_ENV)
	@$(WITH_ENV) cargo run --quiet -p hero-core --bin hero-token -- --user "$(USER)" --role "$(ROLE)" --workspace "$(WORKSPACE)"

fmt:
	cargo fmt

lint: $(SETUP_ENV) lint-js
	@echo "lint: cargo fmt --check"
	@cargo fmt --check
	@echo "lint: the code's shape (scripts/shape.py)"
	@python3 scripts/shape.py
	@echo "lint: clippy (host)"
	@$(WITH_ENV) cargo clippy --quiet --workspace --all-targets -- -D warnings
	@echo "lint: clippy (wasm32)"
	@$(WITH_ENV) $(WASM_CARGO) cargo clippy --quiet -p hero-tasks --lib --target wasm32-unknown-unknown -- -D warnings

# The client package as its users get it (clients/js), and the one source of truth of
# public/: the built copies must be what their sources build. Node only: no Rust.
lint-js: client example
	@echo "lint: public/ is what clients/js and examples/react build (no drift)"
	@node scripts/client-build.mjs --check
	@echo "lint: tsc --noEmit on consumer code, moduleResolution bundler and nodenext"
	@node_modules/.bin/tsc -p tests/types/tsconfig.bundler.json
	@node_modules/.bin/tsc -p tests/types/tsconfig.nodenext.json
	@echo "lint: publint --strict clients/js"
	@node_modules/.bin/publint --strict clients/js
	@echo "lint: attw --pack --profile esm-only clients/js"
	@node_modules/.bin/attw --pack clients/js --profile esm-only

# npm pack: the tarball installs into an empty folder with react and react-dom, and a Node
# ESM file imports both entries and renders a hook on the server.
pack-check: $(SETUP_ENV)
	@echo "pack-check: npm pack clients/js, install it in an empty folder, import both entries"
	@scripts/pack-check.sh

# The pure core's tests and the Worker glue's: neither compiles tokio, reqwest or fantoccini.
unit: $(SETUP_ENV) client
	@echo "unit: cargo test -p hero-core -p hero-tasks"
	@$(WITH_ENV) cargo test --quiet -p hero-core -p hero-tasks
	@echo "unit: node --test tests/js (the client package, its React hooks in jsdom, the UI's reducers)"
	@node --test tests/js/

# hero-token is built first: the README's examples, run by the suite, call `make token`.
e2e: build example
	@echo "e2e: real wrangler dev, local D1, real HTTP and WebSocket clients, Chromium, the README's examples"
	@$(WITH_ENV) cargo build --quiet -p hero-core --bin hero-token
	@$(WITH_ENV) cargo test --quiet -p hero-e2e --test e2e

# What `make deploy` would upload, built and validated without an account.
deploy-check: build
	@echo "deploy-check: wrangler deploy --dry-run"
	@$(WITH_ENV) $(WRANGLER) deploy --dry-run --outdir target/deploy-dry-run >/dev/null

test: setup-test lint unit pack-check deploy-check e2e bench-quick

# The benchmarks (bench/load): every server is started by the harness on loopback ports.
# Raises the open-files limit for the thousands of sockets.
bench: setup-bench build
	@ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn) 2>/dev/null || ulimit -n 8192; \
	 $(WITH_ENV) cargo bench -p hero-bench --bench load

# The same scenarios, small and short: a smoke test of the harness and of every system,
# built with the dev profile `make test` has already compiled.
bench-quick: setup-bench build
	@echo "bench-quick: the load generator's scoring (unit tests), then every scenario, small and short (bench/results/quick.md)"
	@$(WITH_ENV) cargo test --quiet -p hero-bench --test bench-score
	@ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn) 2>/dev/null || ulimit -n 8192; \
	 $(WITH_ENV) cargo bench --quiet --profile dev -p hero-bench --bench load -- --quick

# 1,000 sockets in one room for SOAK_SECONDS (300) with steady updates; figures go to
# test-artifacts/soak.json. Raises the open-files limit for the sockets.
soak: build
	@echo "soak: $${SOAK_SOCKETS:-1000} sockets for $${SOAK_SECONDS:-300}s"
	@ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn) 2>/dev/null || ulimit -n 8192; \
	 $(WITH_ENV) HERO_E2E_MAX_CONNECTIONS=5000 cargo test --quiet -p hero-e2e --test e2e -- --ignored --nocapture soak::

# Coverage-guided fuzzing of frame and body parsing (FUZZ_SECONDS per target, default 60).
fuzz: $(SETUP_ENV)
	@scripts/fuzz.sh

deploy: setup build
	@rm -rf public/examples
	@$(WITH_ENV) $(WRANGLER) deploy

clean:
	rm -rf build target/setup.env
