#!/usr/bin/env bash
# Installs whatever is missing to build, run and test Hero Tasks, then writes
# target/setup.env for the Makefile and the wrangler build command to source.
#
# Usage: [HERO_WASM_ROUTE=auto|debian] scripts/setup.sh [build|test|bench]
#   build  toolchain for the wasm worker, wrangler, .dev.vars   (make dev, make build)
#   bench  build + redis-server, postgresql and the Node baseline's packages (make bench)
#   test   bench + Chromium and its driver for the browser tests (make test, which runs
#          the quick benchmark too)
#
# Every step checks first and skips what is already there, so a warm run takes a second.
# Each step prints what it does; a failure names the step.
#
# The wasm32 standard library: where `rustup target add wasm32-unknown-unknown` works, that
# is used. Where it cannot (no route to rustup's download host), Debian's rustc-web toolchain
# is installed and its wasm32 std is built from the rust-web-src sources into its sysroot,
# with LLVM's lld as the linker; that toolchain is then registered with rustup as
# `debian-web` and the build uses it through RUSTUP_TOOLCHAIN.
set -euo pipefail

MODE="${1:-build}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
ENV_FILE="$ROOT/target/setup.env"
WORKER_BUILD_VERSION="0.8.7"
SCHEMATHESIS_VERSION="4.32.5"
SCHEMATHESIS_VENV="$HOME/.cache/hero-tasks/schemathesis-$SCHEMATHESIS_VERSION"
DEBIAN_TOOLCHAIN="debian-web"
DEBIAN_TOOLCHAIN_DIR="/opt/hero-tasks/debian-web-toolchain"
WASM_TARGET="wasm32-unknown-unknown"
export PATH="$HOME/.cargo/bin:$PATH"

CURRENT_STEP=""
step() { CURRENT_STEP="$1"; echo "setup: $1"; }
skip() { echo "setup:   ok, $1"; }
trap 'echo "setup: FAILED at step: ${CURRENT_STEP:-start} (see the output above)" >&2' ERR

APT_UPDATED=""
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install Debian packages: ${missing[*]}" >&2
    return 1
  fi
  echo "setup:   apt-get install ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then
    apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- 1. a Rust toolchain that can build wasm32 ------------------------------------------
has_wasm_std() { # $1 = toolchain name ("" = default)
  local libdir
  if [ -n "$1" ]; then
    libdir=$(RUSTUP_TOOLCHAIN="$1" rustc --target "$WASM_TARGET" --print target-libdir 2>/dev/null) || return 1
  else
    libdir=$(rustc --target "$WASM_TARGET" --print target-libdir 2>/dev/null) || return 1
  fi
  [ -n "$libdir" ] && ls "$libdir"/libstd-*.rlib >/dev/null 2>&1
}

debian_toolchain_registered() {
  rustup toolchain list 2>/dev/null | grep -q "^$DEBIAN_TOOLCHAIN"
}

build_debian_wasm_std() {
  apt_install rustc-web cargo-web rust-web-src rust-web-clippy rustfmt-web lld-22
  # rustc-web looks for rust-lld beside itself; LLVM 22's lld speaks the wasm flavour.
  mkdir -p /usr/lib/rustlib/x86_64-unknown-linux-gnu/bin
  ln -sf /usr/lib/llvm-22/bin/lld /usr/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld
  local libdir=/usr/lib/rustlib/$WASM_TARGET/lib
  if ! ls "$libdir"/libstd-*.rlib >/dev/null 2>&1; then
    echo "setup:   building the $WASM_TARGET standard library from rust-web-src (~1 min)"
    local vehicle
    vehicle=$(mktemp -d)
    mkdir -p "$vehicle/src"
    printf '[package]\nname = "std-vehicle"\nversion = "0.0.0"\nedition = "2021"\n[lib]\ncrate-type = ["cdylib"]\n[profile.release]\npanic = "abort"\n' >"$vehicle/Cargo.toml"
    : >"$vehicle/src/lib.rs"
    # /usr/bin first and RUSTC pinned, so rustup's proxies cannot pick another rustc.
    (cd "$vehicle" && PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      /usr/bin/cargo build --quiet --release --target "$WASM_TARGET" -Zbuild-std=std,panic_abort)
    mkdir -p "$libdir"
    cp "$vehicle"/target/$WASM_TARGET/release/deps/lib*.rlib "$libdir"/
    rm -rf "$vehicle"
  fi
  if ! debian_toolchain_registered; then
    mkdir -p "$DEBIAN_TOOLCHAIN_DIR"
    ln -sfn /usr/bin "$DEBIAN_TOOLCHAIN_DIR/bin"
    ln -sfn /usr/lib "$DEBIAN_TOOLCHAIN_DIR/lib"
    rustup toolchain link "$DEBIAN_TOOLCHAIN" "$DEBIAN_TOOLCHAIN_DIR"
  fi
}

step "rust toolchain with the $WASM_TARGET standard library"
command -v rustup >/dev/null || { echo "setup: rustup is required (https://rustup.rs)" >&2; false; }
WASM_TOOLCHAIN=""
if [ "${HERO_WASM_ROUTE:-auto}" = "debian" ]; then
  # Forces the fallback, to exercise it on a machine where rustup would work.
  echo "setup:   HERO_WASM_ROUTE=debian: using Debian's rustc-web"
  build_debian_wasm_std
  has_wasm_std "$DEBIAN_TOOLCHAIN" || { echo "setup: the Debian wasm32 std did not install" >&2; false; }
  WASM_TOOLCHAIN="$DEBIAN_TOOLCHAIN"
elif has_wasm_std ""; then
  skip "the default toolchain has it"
elif debian_toolchain_registered && has_wasm_std "$DEBIAN_TOOLCHAIN"; then
  WASM_TOOLCHAIN="$DEBIAN_TOOLCHAIN"
  skip "using the Debian rustc-web toolchain ($DEBIAN_TOOLCHAIN)"
elif echo "setup:   trying rustup target add (60 s limit)" &&
     timeout 60 rustup target add "$WASM_TARGET" >/dev/null 2>&1 && has_wasm_std ""; then
  skip "installed with rustup"
else
  echo "setup:   rustup cannot add $WASM_TARGET here; using Debian's rustc-web instead"
  build_debian_wasm_std
  has_wasm_std "$DEBIAN_TOOLCHAIN" || { echo "setup: the Debian wasm32 std did not install" >&2; false; }
  WASM_TOOLCHAIN="$DEBIAN_TOOLCHAIN"
fi

step "clippy and rustfmt for the host toolchain"
if cargo clippy --version >/dev/null 2>&1 && cargo fmt --version >/dev/null 2>&1; then
  skip "present"
else
  rustup component add clippy rustfmt
fi

# --- 2. worker-build and wasm-bindgen, without their GitHub downloads --------------------
step "worker-build $WORKER_BUILD_VERSION"
if worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  skip "installed"
else
  cargo install --quiet worker-build --version "$WORKER_BUILD_VERSION"
fi

step "wasm-bindgen-cli matching Cargo.lock"
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "setup: no wasm-bindgen in Cargo.lock" >&2; false; }
# The CLI must match the library exactly; each version gets its own install root.
WASM_BINDGEN_BIN="$HOME/.cache/hero-tasks/wasm-bindgen-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
if [ -x "$WASM_BINDGEN_BIN" ]; then
  skip "wasm-bindgen $WASM_BINDGEN_VERSION"
elif command -v wasm-bindgen >/dev/null && [ "$(wasm-bindgen --version)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
  skip "wasm-bindgen $WASM_BINDGEN_VERSION on PATH"
else
  # --locked is not used: the crates.io lockfile of the CLI can lag its own release.
  cargo install --quiet wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" \
    --root "$(dirname "$(dirname "$WASM_BINDGEN_BIN")")"
fi

# --- 3. wrangler, esbuild and the client package's tooling from npm ---------------------
# One `npm ci` for the root: wrangler and esbuild, the client package (clients/js) and the
# React example as workspaces (node_modules/@hero-tasks/client links to clients/js), React,
# and what checks the package (jsdom, Testing Library, TypeScript, publint, attw).
step "npm packages (wrangler, esbuild, the client package's React and checks) from package-lock.json"
command -v npm >/dev/null || { echo "setup: Node.js and npm are required" >&2; false; }
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] &&
   [ -x node_modules/.bin/wrangler ] && [ -x node_modules/.bin/esbuild ] && [ -x node_modules/.bin/tsc ] &&
   [ -e node_modules/@hero-tasks/client/package.json ]; then
  skip "node_modules is current"
else
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- 4. local secrets ---------------------------------------------------------------------
step "local secrets in .dev.vars"
if [ -f .dev.vars ] && grep -q '^JWT_SECRET=' .dev.vars; then
  skip ".dev.vars has JWT_SECRET"
else
  # A fresh random secret per checkout; .dev.vars is git-ignored and never deployed.
  secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  {
    echo "# Local development only (git-ignored). Production uses: wrangler secret put JWT_SECRET"
    echo "JWT_SECRET=$secret"
  } >>.dev.vars
  echo "setup:   wrote .dev.vars with a new random JWT_SECRET"
fi
if ! grep -q '^DEV_LOGIN=' .dev.vars; then
  # The UI's "pick a name and role" sign-in. Only honoured on a loopback host, and
  # .dev.vars is never deployed, so it cannot be on in production by accident.
  echo "DEV_LOGIN=true" >>.dev.vars
  echo "setup:   enabled the local dev sign-in (DEV_LOGIN=true in .dev.vars)"
fi

# --- 5. the old design, for the benchmarks -------------------------------------------------
if [ "$MODE" = "test" ] || [ "$MODE" = "bench" ]; then
  step "redis-server (Debian) and the Node baseline's packages for the benchmarks"
  if command -v redis-server >/dev/null; then
    skip "redis-server present"
  else
    apt_install redis-server
  fi
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$node_major" -lt 20 ]; then
    echo "setup: the Node baseline (bench/baseline, node-redis 6) needs Node.js 20 or newer; this is $(node --version)" >&2
    false
  fi
  if [ -f bench/baseline/node_modules/.package-lock.json ] &&
     [ bench/baseline/node_modules/.package-lock.json -nt bench/baseline/package-lock.json ]; then
    skip "bench/baseline/node_modules is current"
  else
    (cd bench/baseline && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # The shared description's reference: the Yjs project's own y-websocket server, with
  # y-leveldb for its persistence. npm runs no install scripts here, so LevelDB's native
  # module must load from the prebuilds leveldown ships; the check says so if it cannot.
  step "the Yjs reference server (bench/yjs-reference) for the document benchmarks"
  if [ -f bench/yjs-reference/node_modules/.package-lock.json ] &&
     [ bench/yjs-reference/node_modules/.package-lock.json -nt bench/yjs-reference/package-lock.json ]; then
    skip "bench/yjs-reference/node_modules is current"
  else
    (cd bench/yjs-reference && npm ci --no-audit --no-fund --loglevel=error)
    (cd bench/yjs-reference && node -e 'require("leveldown")' 2>/dev/null) ||
      echo "setup:   warning: LevelDB's native module does not load; the reference server's persistence cannot be measured"
  fi
  # The old design's store. Only the binaries are needed (initdb, postgres, psql): the bench
  # starts its own server on a throwaway data directory, never the package's cluster.
  step "postgresql (Debian) for the Node baseline's store"
  if ls /usr/lib/postgresql/*/bin/initdb /usr/lib/postgresql/*/bin/postgres /usr/lib/postgresql/*/bin/psql >/dev/null 2>&1; then
    skip "postgresql present ($(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | sort -n | tail -1))"
  else
    apt_install postgresql
  fi
fi

# --- 6. browser for the UI tests -------------------------------------------------------------
if [ "$MODE" = "test" ]; then
  step "Chromium and chromedriver (Debian) for the browser tests"
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    skip "present"
  else
    apt_install chromium chromium-driver
  fi
  step "TLS headers for the WebDriver client crate"
  apt_install libssl-dev pkg-config
  step "schemathesis $SCHEMATHESIS_VERSION (PyPI) for the API property tests"
  if [ -x "$SCHEMATHESIS_VENV/bin/schemathesis" ]; then
    skip "installed"
  else
    python3 -m venv "$SCHEMATHESIS_VENV"
    "$SCHEMATHESIS_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
fi

# --- the environment every build and test uses ----------------------------------------------
# Written only when its content changes: the Makefile's build rules depend on this file, so
# rewriting it on every run would rebuild the wasm on every `make dev` for nothing.
step "target/setup.env"
mkdir -p target
cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/setup.sh; sourced by the Makefile and the wrangler build command.
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:\$PATH"
export WASM_TOOLCHAIN="$WASM_TOOLCHAIN"
export WASM_BINDGEN_BIN="$WASM_BINDGEN_BIN"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export WRANGLER_SEND_METRICS=false
export SCHEMATHESIS_BIN="$SCHEMATHESIS_VENV/bin/schemathesis"
EOF
if [ -f "$ENV_FILE" ] && cmp -s "$ENV_FILE.tmp" "$ENV_FILE"; then
  rm -f "$ENV_FILE.tmp"
  skip "unchanged"
else
  mv "$ENV_FILE.tmp" "$ENV_FILE"
  echo "setup:   wrote $ENV_FILE"
fi
