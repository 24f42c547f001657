#!/usr/bin/env bash
# Compiles the benchmarks (and the report tool) so they never rot; CI does not time them.
# To measure: `cargo bench -p ssewire-benches`, then
# `cargo run -p ssewire-benches --bin report --release` to refresh benches/README.md and ratios.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p ssewire-benches --no-run
