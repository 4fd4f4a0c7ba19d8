#!/usr/bin/env bash
# Fuzz the scenario reader for SECONDS seconds (default 600), seeded with every bundled and
# invalid scenario. cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable
# toolchain provide them where no nightly is installed.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/scenario
cp ../scenarios/*.toml ../scenarios/catalog/*.toml ../tests/invalid_scenarios/*.toml corpus/scenario/
RUSTC_BOOTSTRAP=1 cargo fuzz run scenario corpus/scenario -- -max_total_time="$seconds" -max_len=8192
