//! Vector math, written once over [`Vector`]: exp, exp_m1, ln, ln_1p, tanh, sigmoid, softplus.
//!
//! Methods (derived here from the mathematics, in the family of Cody–Waite range reduction
//! plus polynomial used by SLEEF, XNNPACK and oneDNN):
//! - **exp / exp_m1**: `x = n·ln2 + r`, |r| ≤ ln2/2, with ln2 split in two so `n·ln2_hi` is
//!   exact. `q(r) = eʳ − 1` is its Taylor polynomial (degree 7 for f32, 13 for f64: the
//!   truncation error is below 0.1 ULP on the interval). Then `exp = ldexp(1 + q, n)`, which
//!   rounds subnormal results once on AVX-512 (`vscalef`) and at most twice elsewhere; and
//!   `exp_m1 = 2·(2ⁿ⁻¹·q + (2ⁿ⁻¹ − ½))`, which is exactly `q` when `n = 0` (no cancellation
//!   near zero) and never forms 2¹²⁸.
//! - **ln / ln_1p**: `x = 2ᵉ·m` with `m ∈ [√½, √2)`, `f = m − 1` (exact), `s = f/(2+f)`,
//!   `ln(1+f) = f − s·(f − R(s²))` with `R` the atanh series. ln_1p forms `u = 1 + x` and adds
//!   the rounding error of that sum back as `(x − (u − 1))/u`.
//! - **sigmoid** `= num/(1 + e)` with `e = exp(−|x|)` and `num = 1` or `e`: no overflow, no
//!   cancellation, subnormal results kept.
//! - **softplus** `= max(x, 0) + ln_1p(exp(−|x|))`.
//! - **tanh** `= ±(−t/(t + 2))` with `t = exp_m1(−2|x|)`: saturates to ±1 without overflow and
//!   keeps full relative accuracy near zero.
//!
//! NaN in gives NaN out for every function; ±inf give the mathematical limits. The measured
//! error bounds are in README.md (reproduced by the `accuracy` example and the tests).

use crate::simd::{Element, Mask, Vector};

/// Per-precision constants of the vector math.
#[derive(Debug)]
pub struct Table {
    /// High part of ln 2 (few significant bits so that `n · ln2_hi` is exact).
    pub ln2_hi: f64,
    /// `ln 2 − ln2_hi`.
    pub ln2_lo: f64,
    /// exp arguments are clamped to `[exp_lo, exp_hi]`: beyond, the result is 0 or inf anyway.
    pub exp_lo: f64,
    /// See `exp_lo`.
    pub exp_hi: f64,
    /// exp_m1 arguments below this give −1 exactly.
    pub expm1_lo: f64,
    /// Coefficients `c₂, c₃, …` of `q(r) = r + r²·(c₂ + r·(c₃ + …))`.
    pub expm1_poly: &'static [f64],
    /// Coefficients of `R(w) = w·(a₀ + w·(a₁ + …))`, the atanh series for `ln`.
    pub ln_poly: &'static [f64],
    /// Smallest positive normal number.
    pub min_normal: f64,
    /// log2 of the factor that lifts a subnormal into the normal range.
    pub subnormal_shift: f64,
    /// A power of two below which every scaled result is zero (within `ldexp`'s contract).
    pub ldexp_min: f64,
    /// Below this, e^(−x) is too large for the fast sigmoid form (σ(x) nears subnormal).
    pub sigmoid_tail: f64,
}

const INV_FACT: [f64; 14] = [
    1.0,
    1.0,
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
    1.0 / 3628800.0,
    1.0 / 39916800.0,
    1.0 / 479001600.0,
    1.0 / 6227020800.0,
];

const ATANH_2: [f64; 10] = [
    2.0 / 3.0,
    2.0 / 5.0,
    2.0 / 7.0,
    2.0 / 9.0,
    2.0 / 11.0,
    2.0 / 13.0,
    2.0 / 15.0,
    2.0 / 17.0,
    2.0 / 19.0,
    2.0 / 21.0,
];

/// Constants for `f32`.
pub const TABLE_F32: Table = Table {
    ln2_hi: 0.693_145_751_953_125,
    ln2_lo: core::f64::consts::LN_2 - 0.693_145_751_953_125,
    exp_lo: -104.0,
    exp_hi: 89.0,
    expm1_lo: -80.0,
    // Near-minimax (Lawson-weighted least squares, relative error 1.3e−8 on |r| ≤ ln2/2):
    // one term fewer than Taylor for the same accuracy.
    expm1_poly: &[
        0.499_999_981_550_522_9,
        0.166_665_436_686_747_25,
        0.041_667_199_683_098_362,
        0.008_366_514_082_286_778,
        0.001_388_252_022_595_431_6,
    ],
    ln_poly: split_prefix(&ATANH_2, 4),
    min_normal: f32::MIN_POSITIVE as f64,
    subnormal_shift: 24.0,
    ldexp_min: -250.0,
    sigmoid_tail: -80.0,
};

/// Constants for `f64`.
pub const TABLE_F64: Table = Table {
    // fdlibm's split: ln2_hi has 32 significant bits, ln2_lo carries the rest.
    ln2_hi: f64::from_bits(0x3fe6_2e42_fee0_0000),
    ln2_lo: f64::from_bits(0x3dea_39ef_3579_3c76),
    exp_lo: -746.0,
    exp_hi: 710.0,
    expm1_lo: -700.0,
    expm1_poly: split_at_2(&INV_FACT, 14),
    ln_poly: split_prefix(&ATANH_2, 10),
    min_normal: f64::MIN_POSITIVE,
    subnormal_shift: 54.0,
    ldexp_min: -2000.0,
    sigmoid_tail: -700.0,
};

const fn split_at_2(c: &'static [f64], end: usize) -> &'static [f64] {
    c.split_at(end).0.split_at(2).1
}
const fn split_prefix(c: &'static [f64], end: usize) -> &'static [f64] {
    c.split_at(end).0
}

/// The constants for a vector's element type.
#[inline(always)]
fn table<V: Vector>() -> &'static Table {
    <V::Elem as Element>::MATH
}

/// Horner evaluation of `c[0] + x·(c[1] + x·(…))`.
#[inline(always)]
fn horner<V: Vector>(x: V, c: &[f64]) -> V {
    let mut acc = x.splat(c[c.len() - 1]);
    for &k in c[..c.len() - 1].iter().rev() {
        acc = acc.mul_add(x, x.splat(k));
    }
    acc
}

/// Range reduction for exp: `(n, q)` with `x = n·ln2 + r`, `q = eʳ − 1`. `x` must be clamped.
#[inline(always)]
fn exp_reduce<V: Vector>(x: V) -> (V, V) {
    let t = table::<V>();
    let n = (x * x.splat(core::f64::consts::LOG2_E)).round();
    let r = n.mul_add(x.splat(-t.ln2_hi), x);
    let r = n.mul_add(x.splat(-t.ln2_lo), r);
    let q = (r * r).mul_add(horner(r, t.expm1_poly), r);
    (n, q)
}

/// eˣ.
#[inline(always)]
pub fn exp<V: Vector>(x: V) -> V {
    let t = table::<V>();
    // `splat(lo).max(x)` keeps a NaN x (max returns its second operand on NaN).
    let xc = x.splat(t.exp_hi).min(x.splat(t.exp_lo).max(x));
    let (n, q) = exp_reduce(xc);
    (q + x.splat(1.0)).ldexp(n)
}

/// eˣ − 1, accurate near zero.
#[inline(always)]
pub fn exp_m1<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let xc = x.splat(t.exp_hi).min(x.splat(t.expm1_lo).max(x));
    let (n, q) = exp_reduce(xc);
    let half_scale = (n - x.splat(1.0)).pow2i();
    let two = x.splat(2.0);
    two * half_scale.mul_add(q, half_scale - x.splat(0.5))
}

/// ln(1 + f) for `f ∈ [√½ − 1, √2 − 1)`.
#[inline(always)]
fn ln1p_reduced<V: Vector>(f: V) -> V {
    let t = table::<V>();
    let s = f / (f + f.splat(2.0));
    let w = s * s;
    let r = w * horner(w, t.ln_poly);
    f - s * (f - r)
}

/// Splits positive, finite, normal `x` into `(f, e)` with `x = 2ᵉ·(1 + f)`, `1 + f ∈ [√½, √2)`.
#[inline(always)]
fn ln_split<V: Vector>(x: V) -> (V, V) {
    let (m, e) = x.frexp();
    let big = m.gt(x.splat(core::f64::consts::SQRT_2));
    let m = V::select(big, m * x.splat(0.5), m);
    let e = V::select(big, e + x.splat(1.0), e);
    (m - x.splat(1.0), e)
}

/// Special values of ln at `u` (the argument of the logarithm): 0 → −inf, < 0 → NaN,
/// +inf → +inf, NaN → NaN.
#[inline(always)]
fn ln_specials<V: Vector>(u: V, r: V) -> V {
    let zero = u.splat(0.0);
    let inf = u.splat(f64::INFINITY);
    let r = V::select(u.eq(zero), -inf, r);
    let r = V::select(u.lt(zero), u.splat(f64::NAN), r);
    let r = V::select(u.eq(inf), inf, r);
    V::select(u.is_nan(), u, r)
}

/// Natural logarithm.
#[inline(always)]
pub fn ln<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let sub = x.lt(x.splat(t.min_normal));
    let xs = V::select(sub, x * x.splat(2f64.powf(t.subnormal_shift)), x);
    let (f, e) = ln_split(xs);
    let e = V::select(sub, e - x.splat(t.subnormal_shift), e);
    let lo = e.mul_add(x.splat(t.ln2_lo), ln1p_reduced(f));
    let r = e.mul_add(x.splat(t.ln2_hi), lo);
    ln_specials(x, r)
}

/// ln(1 + x), accurate near zero.
#[inline(always)]
pub fn ln_1p<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    let u = one + x;
    // The rounding error of `1 + x`, carried to first order.
    let c = (x - (u - one)) / u;
    let (f, e) = ln_split(u);
    let lo = e.mul_add(x.splat(t.ln2_lo), ln1p_reduced(f) + c);
    let r = e.mul_add(x.splat(t.ln2_hi), lo);
    ln_specials(u, r)
}

/// The logistic function 1/(1 + e⁻ˣ).
///
/// `1/(1 + e⁻ˣ)` is accurate wherever e⁻ˣ is finite; below `sigmoid_tail` (where σ nears the
/// subnormal range and e⁻ˣ overflows) those lanes take `eˣ/(1 + eˣ)` instead. The tail is a
/// per-lane select, so every path gives each lane the same result.
#[inline(always)]
pub fn sigmoid<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    let fast = one / (one + exp(-x));
    let tail = x.lt(x.splat(t.sigmoid_tail));
    if tail.any() {
        let e = exp(x);
        V::select(tail, e / (one + e), fast)
    } else {
        fast
    }
}

/// σ(x)·σ(−x) = σ′(x) = e·r² with e = e⁻ˣ, r = 1/(1 + e): one exponential, no cancellation
/// (the textbook σ(1 − σ) loses all digits of 1 − σ as σ → 1). `r` is the same expression as
/// the fast `sigmoid(x)`, so a kernel needing both (swish′) computes it once. Below
/// `sigmoid_tail`, where e⁻ˣ overflows, those lanes use eˣ/(1 + eˣ)².
#[inline(always)]
pub fn sigmoid_product<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    let e = exp(-x);
    let r = one / (one + e);
    let fast = e * r * r;
    let tail = x.lt(x.splat(t.sigmoid_tail));
    if tail.any() {
        let e = exp(x);
        let d = one + e;
        V::select(tail, e / (d * d), fast)
    } else {
        fast
    }
}

/// `a · σ(u)` rounded once at the end: for u < 0 the product is formed from the mantissa of
/// e^u before it is scaled, so `x·σ(x)` keeps full precision where σ(x) alone is subnormal
/// (swish at x = −100: 4 ULP instead of ~50). Used by the macro for a product with a sigmoid in
/// forward kernels.
#[inline(always)]
pub fn mul_sigmoid<V: Vector>(a: V, u: V) -> V {
    let t = table::<V>();
    let one = a.splat(1.0);
    let fast = a / (one + exp(-u));
    let tail = u.lt(u.splat(t.sigmoid_tail));
    if tail.any() {
        V::select(tail, mul_sigmoid_tail(a, u), fast)
    } else {
        fast
    }
}

/// `a · σ(u)` for u < 0, scaled at the end (see `mul_sigmoid`).
#[inline(always)]
fn mul_sigmoid_tail<V: Vector>(a: V, u: V) -> V {
    let t = table::<V>();
    let one = a.splat(1.0);
    // Below 2·exp_lo the true product underflows for every finite `a`.
    let arg = a.splat(2.0 * t.exp_lo).max(-u.abs());
    let (n, q) = exp_reduce(arg);
    let m = q + one;
    let e = m.ldexp(n.max(a.splat(t.ldexp_min)));
    let den = one + e;
    let pos = a / den;
    // a·e/(1+e) = (a·(m/2)/den)·2ⁿ⁺¹; m/2 < 1 so a·(m/2) cannot overflow. The scaling is split
    // in two so each step stays within `ldexp`'s range.
    let v = a * (m * a.splat(0.5)) / den;
    let n1 = n + one;
    let na = (n1 * a.splat(0.5)).round();
    let neg = v.ldexp(na).ldexp(n1 - na);
    // Where e^u underflows for every finite `a`, the product is a·0 (NaN for infinite `a`, so
    // the kernel's limit guard takes over).
    let neg = V::select(arg.le(a.splat(2.0 * t.exp_lo)), a * a.splat(0.0), neg);
    V::select(u.lt(a.splat(0.0)), neg, pos)
}

/// softplus(x) = ln(1 + eˣ), without overflow.
///
/// `e = e^(−|x|) ∈ [0, 1]`, so ln(1 + e) needs no general reduction: for e ≤ √2 − 1 it is
/// `ln1p_reduced(e)` directly, above it `ln 2 + ln1p_reduced((e − 1)/2)` (both exact splits).
#[inline(always)]
pub fn softplus<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let zero = x.splat(0.0);
    let one = x.splat(1.0);
    let e = exp(-x.abs());
    let big = e.gt(x.splat(core::f64::consts::SQRT_2 - 1.0));
    let f = V::select(big, (e - one) * x.splat(0.5), e);
    let k = V::select(big, one, zero);
    let l = k.mul_add(x.splat(t.ln2_lo), ln1p_reduced(f));
    let l = k.mul_add(x.splat(t.ln2_hi), l);
    zero.max(x) + l
}

/// Hyperbolic tangent.
///
/// With `t = e^z − 1 = 2(h·q + h − ½)`, `z = −2|x| = n·ln2 + r`, `h = 2ⁿ⁻¹`, `q = eʳ − 1`:
/// tanh|x| = −t/(t + 2) = (½ − h − h·q)/(h·q + h + ½), one rounding in each of the two terms.
#[inline(always)]
pub fn tanh<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let half = x.splat(0.5);
    let z = x.splat(t.expm1_lo).max(x.abs() * x.splat(-2.0));
    let (n, q) = exp_reduce(z);
    let h = (n - x.splat(1.0)).pow2i();
    let num = (-h).mul_add(q, half - h);
    let den = h.mul_add(q, h + half);
    (num / den).copysign(x)
}

/// Maximum with Rust's `f32::max` semantics: a NaN operand is ignored.
#[inline(always)]
pub fn max_num<V: Vector>(a: V, b: V) -> V {
    V::select(b.is_nan(), a, a.max(b))
}

/// Minimum with Rust's `f32::min` semantics: a NaN operand is ignored.
#[inline(always)]
pub fn min_num<V: Vector>(a: V, b: V) -> V {
    V::select(b.is_nan(), a, a.min(b))
}

/// `x` to an integer power, by repeated squaring (exact for |n| ≤ 2 and as `f32::powi` beyond).
#[inline(always)]
pub fn powi<V: Vector>(x: V, n: i32) -> V {
    let mut base = x;
    let mut k = n.unsigned_abs();
    let mut acc = x.splat(1.0);
    while k > 0 {
        if k & 1 == 1 {
            acc = acc * base;
        }
        k >>= 1;
        if k > 0 {
            base = base * base;
        }
    }
    if n < 0 { x.splat(1.0) / acc } else { acc }
}

/// The vector math functions as one-function activations, to evaluate them over slices on any
/// ISA (`Exp.try_forward_on(isa, &x, &mut y)`); the tests and the `accuracy` example measure
/// the math through them. The forward kernel of each is exactly the function above, unguarded.
pub mod elementwise {
    use crate::activation;

    /// eˣ
    #[activation]
    pub fn exp(x: f32) -> f32 {
        x.exp()
    }
    /// eˣ − 1
    #[activation]
    pub fn exp_m1(x: f32) -> f32 {
        x.exp_m1()
    }
    /// ln x
    #[activation]
    pub fn ln(x: f32) -> f32 {
        x.ln()
    }
    /// ln(1 + x)
    #[activation]
    pub fn ln_1p(x: f32) -> f32 {
        x.ln_1p()
    }
    /// tanh x
    #[activation]
    pub fn tanh(x: f32) -> f32 {
        x.tanh()
    }
    /// σ(x)
    #[activation]
    pub fn sigmoid(x: f32) -> f32 {
        sigmoid(x)
    }
    /// softplus(x)
    #[activation]
    pub fn softplus(x: f32) -> f32 {
        softplus(x)
    }
}
