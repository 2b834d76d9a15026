#!/usr/bin/env bash
# Compile time of a 200-step `workflow!` against the same pipeline written by hand.
#
# Generates two crates under $OUT (default target/compile_time), each with the same node
# function and a 200-step chain of it: one through `workflow!`, one as 200 direct calls in
# a plain function. Dependencies are built first (not timed); then each crate's own
# `cargo build` (dev profile, and --release with RELEASE=1) is timed RUNS times after a
# touch (incremental) and RUNS times from scratch, the two crates taking turns; the best
# wall times and the median of the per-turn ratios are printed.
#
# It measures the committed HEAD (uncommitted changes: SOURCE=path, below).
#
# Usage: scripts/compile_time.sh            (from the repository root)
#        RUNS=5 RELEASE=1 scripts/compile_time.sh
#        N=1 OUT=/tmp/ct1 scripts/compile_time.sh   (a 1-step workflow: the fixed cost)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/target/compile_time}
RUNS=${RUNS:-3}
N=${N:-200}
PROFILE_FLAG=""
[[ "${RELEASE:-0}" == 1 ]] && PROFILE_FLAG="--release"

mkdir -p "$OUT"

# How the crates depend on onex. By default as a user's crate does on a published crate:
# from a source cargo treats as not local (here a git dependency on this repository's HEAD),
# so onex is built like any crates.io dependency (not incremental, 16 codegen units).
# SOURCE=path makes it a path dependency instead, which cargo builds incrementally with 256
# codegen units, nearly all of them linked into the binary.
case "${SOURCE:-git}" in
git) ONEX_DEP="onex = { git = \"file://$ROOT\", rev = \"$(git -C "$ROOT" rev-parse HEAD)\" }" ;;
path) ONEX_DEP="onex = { path = \"$ROOT\" }" ;;
*) echo "SOURCE must be git or path" >&2; exit 2 ;;
esac

make_crate() { # name body-file
    local dir=$OUT/$1
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
$ONEX_DEP
tokio = { version = "1", features = ["rt", "macros"] }

[workspace]
TOML
    cp "$2" "$dir/src/main.rs"
}

gen_macro() {
    cat <<'RS'
use onex::prelude::*;

#[node(compute)]
fn step(x: &u64) -> u64 {
    x + 1
}

workflow! {
    /// The chain.
    pub workflow Chain(x: u64) -> u64 {
        s0 = step(x);
RS
    for ((i = 1; i < N; i++)); do echo "        s$i = step(s$((i - 1)));"; done
    cat <<RS
        return s$((N - 1));
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rt = Runtime::default();
    let run = Chain::run(&rt, 0, RunOptions::new()).await.expect("runs");
    assert_eq!(run.output, $N);
}
RS
}

gen_hand() {
    cat <<'RS'
use onex::prelude::*;

#[node(compute)]
fn step(x: &u64) -> u64 {
    x + 1
}

/// The chain, by hand.
fn chain(x: u64) -> u64 {
    let s0 = step(&x);
RS
    for ((i = 1; i < N; i++)); do echo "    let s$i = step(&s$((i - 1)));"; done
    cat <<RS
    s$((N - 1))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(chain(0), $N);
}
RS
}

gen_macro >"$OUT/macro.rs"
gen_hand >"$OUT/hand.rs"
make_crate ct_macro "$OUT/macro.rs"
make_crate ct_hand "$OUT/hand.rs"

# One target directory, so both crates share the built dependencies.
export CARGO_TARGET_DIR=$OUT/target
for c in ct_hand ct_macro; do
    (cd "$OUT/$c" && cargo build -q $PROFILE_FLAG)
done

# Wall time of one build of a crate: after a `touch` (an incremental rebuild, the edit
# loop) or from scratch (`clean`: the crate's own artifacts removed, dependencies kept).
build_ms() { # crate touch|clean
    if [[ $2 == clean ]]; then
        rm -rf "$CARGO_TARGET_DIR"/*/{incremental,.fingerprint,deps}/"$1"-*
    else
        touch "$OUT/$1/src/main.rs"
    fi
    local t0 t1
    t0=$(date +%s%N)
    (cd "$OUT/$1" && cargo build -q $PROFILE_FLAG)
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}

# RUNS builds of each crate, the two crates taking turns so that both see the same drift of
# a shared machine: the best of each, and the median of the per-turn ratios (the best alone
# follows the hand-written crate's luckiest build).
echo "compile time, $N steps, cargo build ${PROFILE_FLAG:-(dev)}, $RUNS turns:"
for how in touch clean; do
    turns=""
    for ((r = 0; r < RUNS; r++)); do
        h=$(build_ms ct_hand $how)
        m=$(build_ms ct_macro $how)
        turns="$turns $h $m"
    done
    echo "$turns" | awk -v how="$how" '{
        for (i = 1; i <= NF; i += 2) {
            h = $i; m = $(i + 1); n = (i + 1) / 2
            if (n == 1 || h < bh) bh = h
            if (n == 1 || m < bm) bm = m
            r[n] = m / h
        }
        # insertion sort of the ratios, for the median
        for (i = 2; i <= n; i++) { v = r[i]; j = i - 1; while (j > 0 && r[j] > v) { r[j + 1] = r[j]; j-- } r[j + 1] = v }
        med = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
        what = how == "touch" ? "after a touch (incremental)" : "from scratch (dependencies built)"
        printf "  %s: best hand-written %d ms, workflow! %d ms, ratio %.2fx; median of %d turns %.2fx (%.2f-%.2fx)\n", what, bh, bm, bm / bh, n, med, r[1], r[n]
    }'
done
