#!/usr/bin/env bash
# Clean build time of the runtime crate with its default features and with `gpu` (wgpu,
# pollster, bytemuck), debug and release, each in a fresh target folder (removed after).
#
#     bash tools/feature_build_time.sh        (from the repository root; ~7 minutes on 2 cores)
#
# Prints one line per build: profile, features, seconds, and the rlibs built.
set -euo pipefail
cd "$(dirname "$0")/.."
for mode in debug release; do
  for feat in default gpu; do
    dir=$(mktemp -d)
    flags=()
    [ "$mode" = release ] && flags+=(--release)
    [ "$feat" = gpu ] && flags+=(--features gpu)
    start=$(date +%s.%N)
    CARGO_TARGET_DIR="$dir" cargo build -q -p actigen "${flags[@]}"
    end=$(date +%s.%N)
    rlibs=$(find "$dir/$mode/deps" -name '*.rlib' | wc -l)
    printf '%s %s %.1f s, %d rlibs\n' "$mode" "$feat" "$(echo "$end - $start" | bc)" "$rlibs"
    rm -rf "$dir"
  done
done
