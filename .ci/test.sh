#!/usr/bin/env bash
# Every test of the workspace, the browser tests included: installs what they need (Chromium,
# the npm packages; see install.sh), then runs the ignored tests too. Plain
# `cargo test --workspace` runs all but the browser tests, which it lists as ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install.sh
cargo test --workspace --all-features -- --include-ignored
