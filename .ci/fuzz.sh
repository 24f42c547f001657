#!/usr/bin/env bash
# Builds every fuzz target and runs each for a short, bounded time with the checked-in
# dictionary and seeds. Fails on any crash, leak, timeout or out-of-memory.
#
#   FUZZ_SECONDS=20 bash .ci/fuzz.sh          # seconds per target (default 20)
#   FUZZ_TARGETS="decode json" bash .ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz needs nightly-only flags (sanitizers). Use an installed nightly when there is one,
# otherwise let the stable compiler accept them.
if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

cd fuzz
targets="${FUZZ_TARGETS:-$("${fuzz[@]}" list)}"
"${fuzz[@]}" build

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in $targets; do
    corpus="$work/$target"
    mkdir -p "$corpus"
    cp seeds/"$target"/* "$corpus"/
    echo "fuzz: $target for ${seconds}s"
    # libFuzzer exits non-zero on a crash and writes the input under fuzz/artifacts/<target>/.
    log="$work/$target.log"
    dict=sse.dict
    [ -f "$target.dict" ] && dict="$target.dict"
    status=0
    "${fuzz[@]}" run "$target" "$corpus" -- \
        -dict="$dict" \
        -max_total_time="$seconds" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E 'Done [0-9]+ runs|DONE|number_of_executed_units' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz: $target FAILED (exit $status); the input is under fuzz/artifacts/$target/" >&2
        exit 1
    fi
done
echo "fuzz: all targets ran without a crash"
