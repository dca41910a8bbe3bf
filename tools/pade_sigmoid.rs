//! A measured and rejected idea for the portable path (issue 9): σ(x) from a [3/3] Padé form of
//! e^(−s), merged with the sigmoid's own division, σ = P(s)/(P(s) + 2ⁿ·P(−s)) with
//! P(s) = 1 + s/2 + s²/10 + s³/120, in f32 without fused multiply-add (the x86-64 baseline):
//! about seven SSE2 operations fewer per vector than the degree-6 polynomial and `1/(1 + e)`.
//! It is measured here over every f32 x in (−87, 87) against the f64 sigmoid, in the ULP the
//! runtime's tests count (distance in f32 steps to the f64 value rounded):
//!
//! ```text
//! rustc -O tools/pade_sigmoid.rs -o /tmp/pade_sigmoid && /tmp/pade_sigmoid
//! worst 3 ulp at -1.1017382e0; hist [2167614792, 69057143, 727080, 25, 0, 0, 0, 0]
//! ```
//!
//! (about a minute on one core): 727,080 inputs at 2 ULP and 25 at 3, where the runtime's
//! sigmoid is within 2 ULP over all 2³² inputs on the portable path (`accuracy sigmoid --isa
//! portable`) and within 1 ULP on the tests' battery; the rounding of the Padé form's own
//! terms, not its truncation (about 0.1 ULP), is what costs. Not used.

const LN2_HI: f32 = 0.693_145_751_953_125;
const LN2_LO: f32 = (std::f64::consts::LN_2 - 0.693_145_751_953_125) as f32;

/// round(v), ties to even, as the portable path forms it (add and subtract 1.5·2²³).
fn round_magic(v: f32) -> f32 {
    let m = 12_582_912.0f32;
    (v + m) - m
}

/// 2ⁿ for integral n in the normal range.
fn pow2(n: f32) -> f32 {
    f32::from_bits((((n as i32) + 127) as u32) << 23)
}

#[inline(never)]
fn sigmoid_pade(x: f32) -> f32 {
    // The runtime's reduction (`exp_neg_parts`): e^(−x) = 2ⁿ·e^(−s), s = x + n·ln 2.
    let uc = x.min(87.0);
    let n = round_magic(uc * (-std::f64::consts::LOG2_E as f32));
    let s = n * LN2_HI + uc;
    let s = n * LN2_LO + s;
    let s2 = s * s;
    let even = s2 * 0.1 + 1.0;
    let odd = s * (s2 * (1.0 / 120.0) + 0.5);
    let p = even + odd; // P(s)
    let q = even - odd; // P(−s) ≈ e^(−s)·P(s)
    p / (p + pow2(n) * q)
}

fn ulps(a: f32, b: f64) -> u64 {
    let r = b as f32;
    (i64::from(a.to_bits() as i32) - i64::from(r.to_bits() as i32)).unsigned_abs()
}

fn main() {
    let (mut worst, mut at, mut hist) = (0, 0.0f32, [0u64; 8]);
    for bits in 0..=u32::MAX {
        let x = f32::from_bits(bits);
        if !(x.abs() < 87.0) {
            continue;
        }
        let u = ulps(sigmoid_pade(x), 1.0 / (1.0 + (-f64::from(x)).exp()));
        hist[(u as usize).min(7)] += 1;
        if u > worst {
            (worst, at) = (u, x);
        }
    }
    println!("worst {worst} ulp at {at:e}; hist {hist:?}");
}
