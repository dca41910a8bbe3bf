#!/usr/bin/env bash
# Compile-time cost of `#[activation]` on formulas that used to blow up (issue 8, item 3):
# chains of `let a_{k+1} = a_k * a_k + a_k;`, nesting of tanh/sin/clamp, and a long sum.
# For each formula: `cargo check` wall time and rustc's peak memory (GNU time's maximum RSS of
# any process of the build), the size of the rmeta, and, with --release, the release build time
# of a crate that instantiates every kernel (forward, backward, parameter gradients, grad2) for
# f32 and f64. Dependencies are built once first; each measured build compiles only the one crate.
#
# Usage: tools/compile_bench.sh [--release]      (from the repository root)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/target/compile-bench"
release=${1:-}
mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "compile-bench"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
actigen = { path = "$root/runtime" }
[workspace]
TOML

chain() { # chain N
  local n=$1 body="let a0 = x;"
  for ((k = 0; k < n; k++)); do body+=" let a$((k + 1)) = a$k * a$k + a$k;"; done
  echo "$body a$n"
}
nest() { # nest DEPTH: tanh, sin, clamp in turn
  local d=$1 e="x"
  for ((k = 0; k < d; k++)); do
    case $((k % 3)) in
      0) e="($e).tanh()" ;; 1) e="($e).sin()" ;; 2) e="($e).clamp(-0.9, 0.9)" ;;
    esac
  done
  echo "$e"
}
sum() { # sum N terms c_k·x
  local n=$1 e="x"
  for ((k = 1; k < n; k++)); do e+=" + $k.5 * x"; done
  echo "$e"
}

write() { # write BODY
  cat > "$dir/src/lib.rs" <<RS
use actigen::{Activation, activation};
#[activation]
pub fn bench_formula(x: f32, #[default(1.0)] p: f32) -> f32 {
    p * { $1 }
}
/// Instantiates every kernel, so a release build compiles them all.
pub fn run(x: &[f32], d: &[f64], y: &mut [f32], e: &mut [f64]) -> Vec<f64> {
    let f = BenchFormula::default();
    f.forward(x, y);
    f.backward(x, x, y);
    f.grad2(x, x, y);
    f.forward(d, e);
    f.backward(d, d, e);
    f.grad2(d, d, e);
    let mut g = f.param_grads(x, x);
    g.extend(f.param_grads(d, d));
    g
}
RS
}

measure() { # measure LABEL BODY
  write "$2"
  local log="$dir/time.log" check_s mem_mb rmeta_kb rel_s="-"
  touch "$dir/src/lib.rs"
  /usr/bin/time -f "%e %M" -o "$log" cargo check -q --manifest-path "$dir/Cargo.toml"
  read -r check_s mem_kb < "$log"
  mem_mb=$((mem_kb / 1024))
  rmeta_kb=$(( $(stat -c %s "$dir"/target/debug/deps/libcompile_bench-*.rmeta | sort -n | tail -1) / 1024 ))
  if [ "$release" = "--release" ]; then
    touch "$dir/src/lib.rs"
    /usr/bin/time -f "%e %M" -o "$log" cargo build -q --release --manifest-path "$dir/Cargo.toml"
    read -r rel_s _ < "$log"
  fi
  printf "| %-22s | %6s | %6s | %8s | %7s |\n" "$1" "$check_s" "$mem_mb" "$rmeta_kb" "$rel_s"
}

write "x"
cargo check -q --manifest-path "$dir/Cargo.toml"
[ "$release" = "--release" ] && cargo build -q --release --manifest-path "$dir/Cargo.toml"
echo "| formula                | check s | peak MB | rmeta KB | release s |"
echo "|---|---|---|---|---|"
for n in 6 9 12 15; do measure "chain of $n lets" "$(chain $n)"; done
for d in 10 20 30 40; do measure "tanh/sin/clamp $d deep" "$(nest $d)"; done
# Release builds of a 3000-term sum take many minutes (every kernel, both types, three ISAs):
# that row is checked only.
release_sum=$release; release=""
measure "sum of 3000 terms" "$(sum 3000)"
release=$release_sum
