#!/usr/bin/env bash
# `make fuzz`: runs each cargo-fuzz target for FUZZ_SECONDS (default 60) seconds.
# The saved corpus in fuzz/corpus/<target> seeds the run; new inputs go to
# target/fuzz-corpus/<target> so the repository only changes when someone copies an
# interesting one over. A crash is saved under fuzz/artifacts/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz from crates.io"
  cargo install --quiet cargo-fuzz
fi
# libFuzzer needs nightly-only sanitizer flags; RUSTC_BOOTSTRAP lets the stable toolchain
# accept them, so no nightly download is needed.
export RUSTC_BOOTSTRAP=1
for target in client_frame request_body doc_frame; do
  work="target/fuzz-corpus/$target"
  mkdir -p "$work"
  echo "fuzz: $target for ${SECONDS_PER_TARGET}s"
  cargo fuzz run --fuzz-dir fuzz "$target" "$work" "fuzz/corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -print_final_stats=1
done
echo "fuzz: no crashes"
