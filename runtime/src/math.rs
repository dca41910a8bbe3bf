//! Vector math, written once over [`Vector`]: exp, exp_m1, ln, ln_1p, tanh, sigmoid, softplus,
//! sin, cos, erf, erfc.
//!
//! Methods (derived here from the mathematics, in the family of Cody–Waite range reduction
//! plus polynomial used by SLEEF, XNNPACK and oneDNN):
//! - **exp / exp_m1**: `x = n·ln2 + r`, |r| ≤ ln2/2, with ln2 split in two so `n·ln2_hi` is
//!   exact. `q(r) = eʳ − 1 = r + r²·P(r)` (a near-minimax fit of degree 6 for f32, Taylor of
//!   degree 13 for f64). Then `exp = ldexp(1 + q, n)`, which rounds subnormal results once on
//!   AVX-512 (`vscalef`) and at most twice elsewhere; and `exp_m1 = 2·(2ⁿ⁻¹·q + (2ⁿ⁻¹ − ½))`,
//!   which is exactly `q` when `n = 0` (no cancellation near zero) and never forms 2¹²⁸.
//! - **e^(−u)** for the sigmoid forms and softplus (`exp_neg`): the same reduction with the
//!   negation folded in, one clamp, and `eʳ` as one Horner polynomial: three vector operations
//!   fewer than `exp(−u)`.
//! - **ln / ln_1p**: `x = 2ᵉ·m` with `m ∈ [√½, √2)`, `f = m − 1` (exact), `s = f/(2+f)`,
//!   `ln(1+f) = f − s·(f − R(s²))` with `R` the atanh series. ln_1p forms `u = 1 + x` and adds
//!   the rounding error of that sum back as `(x − (u − 1))/u`.
//! - **sigmoid** `= 1/(1 + e^(−x))`, and `eˣ/(1 + eˣ)` on the lanes below `sigmoid_tail`
//!   (taken only when a vector has such a lane): no overflow, subnormal results kept.
//! - **softplus** `= max(x, 0) + ln(1 + e^(−|x|))`, the logarithm without a general reduction.
//! - **tanh** `= ±(−t/(t + 2))` with `t = e^(−2|x|) − 1`, reduced from |x| directly: saturates
//!   to ±1 without overflow and keeps full relative accuracy near zero.
//!
//! - **Shifted arguments** (`exp_shifted`, `sigmoid_shifted`, `mul_sigmoid_shifted`,
//!   `erfc_shifted`): the function at `u + lo`, `lo` the low part of an argument computed in
//!   two parts (`mul_err`, `add_err`, `sub_err`: exact rounding errors), folded into the range
//!   reduction (`r + (n·ln2_lo + lo)`; for erfc, into the low part of x²) so the result is that
//!   at the exact argument. The macro's `compensated` repair emits them.
//!
//! NaN in gives NaN out for every function; ±inf give the mathematical limits. The measured
//! error bounds are in README.md (reproduced by the `accuracy` example and the tests).

use crate::simd::{Element, Mask, Vector};
pub use crate::tables::Table;

/// The constants for a vector's element type.
#[inline(always)]
fn table<V: Vector>() -> &'static Table {
    <V::Elem as Element>::MATH
}

/// Evaluation of `c[0] + x·(c[1] + x·(…))`: Horner's rule where `mul_add` is fused; where it
/// is not, the second-order form ([`horner_pairs`]).
#[inline(always)]
fn horner<V: Vector>(x: V, c: &[f64]) -> V {
    if !V::FUSED {
        return horner_pairs(x, c);
    }
    horner_chain(x, c)
}

/// Horner's rule, on every path (one dependency chain: what LLVM's SLP vectoriser turns into
/// lane-wise vector code on the portable path wherever the pair form defeated it).
#[inline(always)]
fn horner_chain<V: Vector>(x: V, c: &[f64]) -> V {
    let mut acc = x.splat(c[c.len() - 1]);
    for &k in c[..c.len() - 1].iter().rev() {
        acc = acc.mul_add(x, x.splat(k));
    }
    acc
}

/// `c[0] + x·(c[1] + x·(…))` for a chain about half as long as Horner's: the terms from
/// `x²` on as Horner's rule in `x²` over the pairs `c[2k] + c[2k+1]·x` (independent of each
/// other), then `c[1]·x` added, then `c[0]` (the two largest terms last, as in Horner's rule,
/// so the sum is rounded about as little). Where `mul_add` is a multiply and an add (the
/// portable path on the x86-64 baseline), each step of Horner's chain costs two latencies and
/// the transcendental kernels wait on that chain: with this form the portable kernels took a
/// median 0.90× the time of Horner's (132 bench rows; README, the portable path's table).
///
/// Not for tanh's polynomial ([`horner_chain`] there): its independent pairs led LLVM's SLP
/// vectoriser to pack the pairs of one lane into a vector rather than the lanes, and the
/// portable tanh forward ran 2.5× slower.
#[inline(always)]
fn horner_pairs<V: Vector>(x: V, c: &[f64]) -> V {
    if c.len() < 4 {
        return horner_chain(x, c);
    }
    let x2 = x * x;
    let pair = |k: usize| {
        if k + 1 < c.len() {
            x.mul_add(x.splat(c[k + 1]), x.splat(c[k]))
        } else {
            x.splat(c[k])
        }
    };
    // The pairs start at c[2], c[4], …
    let pairs = (c.len() - 2).div_ceil(2);
    let mut acc = pair(2 * pairs);
    for k in (1..pairs).rev() {
        acc = acc.mul_add(x2, pair(2 * k));
    }
    x2.mul_add(acc, x * x.splat(c[1])) + x.splat(c[0])
}

/// Veltkamp's split of `a` into `(hi, lo)`, `a = hi + lo`, each with at most half the mantissa
/// bits, so products of halves are exact. `|a|` must be below ~1e30 (f32) or ~1e150 (f64).
#[inline(always)]
fn split<V: Vector>(a: V) -> (V, V) {
    // 2^⌈p/2⌉ + 1 for p mantissa bits (24 or 53).
    let factor = if <V::Elem as Element>::EPSILON.to_f64() > 1e-10 {
        4097.0
    } else {
        134_217_729.0
    };
    // `c` rounded (not contracted into the subtraction), and `c − (c − a)` is not `a` (see
    // `Vector::keep`).
    let c = (a * a.splat(factor)).keep();
    let hi = c - (c - a).keep();
    (hi, a - hi)
}

/// `a·b − p` exactly, for `p = fl(a·b)`: one FMA where `mul_add` is fused, else Dekker's
/// two-product over Veltkamp splits (no FMA needed). `|a|`, `|b|` as for [`split`].
#[inline(always)]
fn product_error<V: Vector>(a: V, b: V, p: V) -> V {
    if V::FUSED {
        a.mul_add(b, -p.keep())
    } else {
        // `p` as rounded, not re-formed exactly by a contraction into `ah·bh − p`.
        let p = p.keep();
        let (ah, al) = split(a);
        let (bh, bl) = split(b);
        ((ah * bh - p).keep() + ah * bl + al * bh).keep() + al * bl
    }
}

/// `r − k·c` with `k·c` formed exactly: one FMA where `mul_add` is fused, else the rounded
/// product and its exact error subtracted in turn (the Cody–Waite steps of sin and cos).
#[inline(always)]
fn sub_product<V: Vector>(r: V, k: V, c: V) -> V {
    if V::FUSED {
        k.mul_add(-c, r)
    } else {
        // `r − p` with `p` as rounded (not contracted into `r − k·c`).
        let p = (k * c).keep();
        (r - p) - product_error(k, c, p)
    }
}

/// The last Cody–Waite step, `r + n·c_lo`, with a shift `lo` of the argument folded in
/// (`r + (n·c_lo + lo)`: one rounding of the reduced argument, as without it).
#[inline(always)]
fn reduce_lo<V: Vector>(r: V, n: V, c_lo: f64, lo: Option<V>) -> V {
    match lo {
        None => n.mul_add(r.splat(c_lo), r),
        Some(lo) => r + n.mul_add(r.splat(c_lo), lo),
    }
}

/// The correction of a shifted argument as the `*_shifted` functions take it: `lo` where
/// |lo| ≤ 1, else 0 (a correction is below its argument's rounding; a larger one, or a NaN
/// from an overflowed product, comes from an argument where the function has saturated).
#[inline(always)]
fn shift<V: Vector>(lo: V) -> V {
    V::select(lo.abs().le(lo.splat(1.0)), lo, lo.splat(0.0))
}

/// Range reduction for exp: `(n, q, 2ⁿ⁻¹)` with `x + lo = n·ln2 + r`, `q = eʳ − 1`. `x` must
/// be clamped; 2ⁿ⁻¹ (formed beside n, `Vector::round_pow2`) is unspecified where it is not
/// normal.
#[inline(always)]
fn exp_reduce<V: Vector>(x: V, lo: Option<V>) -> (V, V, V) {
    let t = table::<V>();
    let (n, half_scale) = (x * x.splat(core::f64::consts::LOG2_E)).round_pow2(-1);
    let r = n.mul_add(x.splat(-t.ln2_hi), x);
    let r = reduce_lo(r, n, -t.ln2_lo, lo);
    let q = (r * r).mul_add(horner(r, t.expm1_poly), r);
    (n, q, half_scale)
}

/// eˣ.
#[inline(always)]
pub fn exp<V: Vector>(x: V) -> V {
    exp_at(x, None)
}

/// e^(x + lo) for a correction `lo` below the rounding of `x` (the low part of an argument
/// computed in two parts, as the macro's `compensated` repair does): `lo` enters the range
/// reduction, so the result is as accurate as `exp` of the exact argument. A `lo` beyond ±1
/// (or NaN) is taken as 0.
#[inline(always)]
pub fn exp_shifted<V: Vector>(x: V, lo: V) -> V {
    exp_at(x, Some(shift(lo)))
}

/// eˣ, or e^(x + lo).
#[inline(always)]
fn exp_at<V: Vector>(x: V, lo: Option<V>) -> V {
    let t = table::<V>();
    // `splat(lo).max(x)` keeps a NaN x (max returns its second operand on NaN).
    let xc = x.splat(t.exp_hi).min(x.splat(t.exp_lo).max(x));
    let n = (xc * x.splat(core::f64::consts::LOG2_E)).round_small();
    let r = n.mul_add(x.splat(-t.ln2_hi), xc);
    let r = reduce_lo(r, n, -t.ln2_lo, lo);
    horner(r, t.exp_poly).ldexp(n)
}

/// `a·b − fl(a·b)`, exactly (one FMA, or Dekker's product where `mul_add` is not fused; for
/// |a|, |b| below about 1e30 in f32, 1e150 in f64): the low part of a product, for a
/// compensated argument.
#[inline(always)]
pub fn mul_err<V: Vector>(a: V, b: V) -> V {
    product_error(a, b, a * b)
}

/// `a + b − fl(a + b)`, exactly (Knuth's two-sum: six operations, no condition on the order
/// of magnitude).
#[inline(always)]
pub fn add_err<V: Vector>(a: V, b: V) -> V {
    // Each step rounded where it stands (see `Vector::keep`): a reassociating compiler would
    // otherwise find the error to be 0.
    let s = (a + b).keep();
    let bb = (s - a).keep();
    let aa = (s - bb).keep();
    (a - aa).keep() + (b - bb).keep()
}

/// `a − b − fl(a − b)`, exactly (see [`add_err`]).
#[inline(always)]
pub fn sub_err<V: Vector>(a: V, b: V) -> V {
    add_err(a, -b)
}

/// e^(−u) for `u ≥ sigmoid_tail`, the form the sigmoids and softplus need: the negation is
/// folded into the reduction (`u + n·ln2` with `n = round(−u·log2 e)`), `eʳ` is one Horner
/// polynomial, and there is one clamp, at `−exp_lo` (where the result rounds to 0). Below
/// `sigmoid_tail` the lane's value is unspecified (`ldexp` beyond its range): every caller
/// replaces those lanes.
#[inline(always)]
fn exp_neg<V: Vector>(u: V) -> V {
    exp_neg_at(u, None, false)
}

/// `exp_neg(u)`, or e^(−(u + lo)) (see [`exp_shifted`]). With `sat` (the fast sigmoid forms,
/// where 1 + e^(−u) is 1 beyond `sigmoid_one`), u is clamped at `sigmoid_one` rather than where
/// e^(−u) underflows, so the scaling by 2ⁿ is one step.
#[inline(always)]
fn exp_neg_at<V: Vector>(u: V, lo: Option<V>, sat: bool) -> V {
    let t = table::<V>();
    let hi = if sat { t.sigmoid_one } else { -t.exp_lo };
    let (n, p, scale) = exp_neg_parts(u, lo, Some(hi), sat);
    // (Below `sigmoid_tail` the value is unspecified either way: the callers select it away.)
    if sat { p * scale } else { p.ldexp(n) }
}

/// `exp_neg_at` before its scaling: `(n, p, 2ⁿ)` with e^(−u) = 2ⁿ·p, p ∈ [√½, √2], u clamped
/// at `hi` where given (the caller's u is bounded otherwise); 2ⁿ only with `scale` (elsewhere
/// unspecified), for a product scaled last.
#[inline(always)]
fn exp_neg_parts<V: Vector>(u: V, lo: Option<V>, hi: Option<f64>, scale: bool) -> (V, V, V) {
    let t = table::<V>();
    // `splat(hi).min(u)` keeps a NaN u (min returns its second operand on NaN).
    let uc = hi.map_or(u, |hi| u.splat(hi).min(u));
    let m = uc * u.splat(-core::f64::consts::LOG2_E);
    // With `scale`, 2ⁿ is one normal power of two, formed with n.
    let (n, scale) = if scale {
        m.round_pow2(0)
    } else {
        (m.round_small(), m)
    };
    // s = u + n·ln2 = −r, with e^(−u) = 2ⁿ·eʳ.
    let s = n.mul_add(u.splat(t.ln2_hi), uc);
    let s = reduce_lo(s, n, t.ln2_lo, lo);
    (n, horner(s, t.exp_neg_poly), scale)
}

/// eˣ − 1, accurate near zero.
#[inline(always)]
pub fn exp_m1<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let xc = x.splat(t.exp_hi).min(x.splat(t.expm1_lo).max(x));
    let (_, q, half_scale) = exp_reduce(xc, None);
    let two = x.splat(2.0);
    two * half_scale.mul_add(q, (half_scale - x.splat(0.5)).keep())
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
    let u = (one + x).keep();
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
    sigmoid_at(x, None)
}

/// σ(u + lo) for a correction `lo` below the rounding of `u` (see [`exp_shifted`]): the
/// exponential's argument shifted, so the tail (σ(u) ≈ eᵘ, whose relative error is |u| times
/// that of u) is as accurate as at an exact argument.
#[inline(always)]
pub fn sigmoid_shifted<V: Vector>(u: V, lo: V) -> V {
    sigmoid_at(u, Some(shift(lo)))
}

/// σ(x), or σ(x + lo).
#[inline(always)]
fn sigmoid_at<V: Vector>(x: V, lo: Option<V>) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    let fast = one / (one + exp_neg_at(x, lo, !V::LDEXP_ONE_OP));
    let tail = x.lt(x.splat(t.sigmoid_tail));
    if tail.any() {
        let e = exp_at(x, lo);
        V::select(tail, e / (one + e), fast)
    } else {
        fast
    }
}

/// σ(x)·σ(−x) = σ′(x) = e·r² with e = e⁻ˣ, r = 1/(1 + e): one exponential, no cancellation
/// (the textbook σ(1 − σ) loses all digits of 1 − σ as σ → 1). `r` is the same expression as
/// the fast `sigmoid(x)` (e clamped at `sigmoid_one` as there), so a kernel needing both
/// (swish′) computes it once. Below `sigmoid_tail`, where e⁻ˣ overflows, those lanes use
/// eˣ/(1 + eˣ)²; above `sigmoid_one`, where r is 1, e⁻ˣ itself (unclamped, down to the
/// subnormals).
#[inline(always)]
pub fn sigmoid_product<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    let sat = !V::LDEXP_ONE_OP;
    let e = exp_neg_at(x, None, sat);
    let r = one / (one + e);
    let fast = e * r * r;
    let tail = x.lt(x.splat(t.sigmoid_tail));
    // (Without the clamp no lane is far: one test less where `ldexp` is one instruction.)
    let far = if sat {
        x.gt(x.splat(t.sigmoid_one))
    } else {
        tail & !tail
    };
    if (tail | far).any() {
        let e = exp(x);
        let d = one + e;
        let fast = if sat {
            V::select(far, exp_neg(x), fast)
        } else {
            fast
        };
        V::select(tail, e / (d * d), fast)
    } else {
        fast
    }
}

/// `a · σ(x)·σ(−x)` rounded once at the end: the product of a derivative with the sigmoid's
/// (swish′ = σ(x) + x·σ(x)σ(−x), tanh′ = 4·σ(2x)σ(−2x)). Where σ(x)σ(−x) nears the subnormal
/// range (|x| beyond `product_far`, a rare-lane branch), it is e^(−|x|) within rounding and
/// the product is formed from e^(−|x|)'s mantissa before the scaling, as `mul_sigmoid` does
/// (swish′ at x = −100: ~40 subnormal steps off unfused, one fused). Elsewhere it is `a ·
/// sigmoid_product(x)`, bit for bit. Emitted by the macro's `scaled_products` repair, where its
/// error analysis finds the plain product losing.
#[inline(always)]
pub fn mul_sigmoid_product<V: Vector>(a: V, x: V) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    // The expressions of `sigmoid_product`'s fast form (a kernel with σ(x) too computes r once).
    let e = exp_neg_at(x, None, !V::LDEXP_ONE_OP);
    let r = one / (one + e);
    let fast = a * (e * r * r);
    // Beyond |x| = product_far, e^(−|x|) < 2^−115 and σ(x)σ(−x) = e^(−|x|)/(1 + e^(−|x|))² is
    // σ(−|x|) = e^(−|x|)/(1 + e^(−|x|)) within a relative 2^−115. (NaN lanes are not far.) The
    // test is on x, early: on the fast product, which waits on the division, it cost swish′
    // and tanh′ 3-12% more.
    let far = x.abs().gt(x.splat(t.product_far));
    if far.any() {
        if V::LANES == 1 {
            // (One lane, the scalar API's and the shaders' recorder: no lanes to loop over.)
            return V::select(far, mul_far(a, x), fast);
        }
        let mut io = [a, a, x, fast];
        far_lanes_cold(&mut io, false);
        io[3]
    } else {
        fast
    }
}

/// `a · (b · σ(x)·σ(−x))`, the product of two factors with the sigmoid's derivative (swish′ with
/// its β, x·(β·σ(βx)σ(−βx)); its ∂/∂β, x·(x·σ(βx)σ(−βx))): on the fast lanes that product as
/// written, bit for bit; where σ(x)σ(−x) nears the subnormal range (|x| beyond `product_far`,
/// a rare-lane branch) formed as one rounded product from the mantissas of a, b and e^(−|x|),
/// scaled last by the sum of their exponents, so that neither a·b's overflow nor the
/// subnormal intermediate loses it. (Lanes with a or b zero, subnormal or not finite keep the
/// plain product.)
#[inline(always)]
pub fn mul2_sigmoid_product<V: Vector>(a: V, b: V, x: V) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    let e = exp_neg_at(x, None, !V::LDEXP_ONE_OP);
    let r = one / (one + e);
    let fast = a * (b * (e * r * r));
    let far = x.abs().gt(x.splat(t.product_far));
    if far.any() {
        if V::LANES == 1 {
            return V::select(far, mul2_far(a, b, x), fast);
        }
        let mut io = [a, b, x, fast];
        far_lanes_cold(&mut io, true);
        io[3]
    } else {
        fast
    }
}

/// The far lanes of `mul_sigmoid_product` (`two` false, `io = [a, _, x, r]`) and
/// `mul2_sigmoid_product` (`two`, `io = [a, b, x, r]`): `r`'s lanes with |x| beyond
/// `product_far` replaced, one lane at a time on the one-lane vector. Out of line and cold,
/// and the lane's arithmetic in functions of the one-lane type, so the scaled products are
/// compiled once per element type rather than in every kernel of every ISA and storage type
/// (inlined, they cost the runtime crate's debug build 97 → 134 s); every ISA gives a far lane
/// the same value. The vectors travel through a fresh buffer (see `formula::limits_cold`).
#[cold]
#[inline(never)]
fn far_lanes_cold<V: Vector>(io: &mut [V; 4], two: bool) {
    let t = table::<V>();
    let [a, b, x, mut r] = *io;
    for i in 0..V::LANES {
        let xi = x.lane(i).one();
        if xi.abs().gt(xi.splat(t.product_far)).any() {
            let (ai, bi) = (a.lane(i).one(), b.lane(i).one());
            let v = if two {
                mul2_far(ai, bi, xi)
            } else {
                mul_far(ai, xi)
            };
            r = with_lane(r, i, v.lane(0));
        }
    }
    io[3] = r;
}

/// `v` with lane `i` set to `e`.
#[inline(always)]
pub(crate) fn with_lane<V: Vector>(v: V, i: usize, e: V::Elem) -> V {
    let only = v.first_lanes(i + 1) & !v.first_lanes(i);
    V::select(only, v.splat_elem(e), v)
}

/// a·σ(−|x|), scaled last (`mul_sigmoid_product`'s far lanes), on one-lane vectors.
#[inline(never)]
fn mul_far<W: Vector>(a: W, x: W) -> W {
    mul_sigmoid_tail(a, -x.abs(), None)
}

/// a·(b·σ(−|x|)) (`mul2_sigmoid_product`'s far lanes), on one-lane vectors: the plain product
/// where `mul2_tail` leaves it, with σ(x)σ(−x) = e^(−|x|) there (the fast e⁻ˣ is clamped on
/// some paths: at x = inf, inf·0 must stay NaN for the ±inf guard, not inf·e^−87).
#[inline(never)]
fn mul2_far<W: Vector>(a: W, b: W, x: W) -> W {
    let plain = a * (b * exp(-x.abs()));
    mul2_tail(a, b, x, plain)
}

/// `mul2_sigmoid_product`'s far lanes: a·b·σ(−|x|) = a·b·e/(1 + e), e = e^(−|x|) < 2^−115 (so
/// 1 + e is 1), as (m_a·m_b·m/2)·2^(e_a + e_b + n + 1) with a = m_a·2^(e_a), b = m_b·2^(e_b),
/// e = m·2ⁿ. `plain` (a·(b·e)) is kept where a or b is not a normal number.
#[inline(always)]
fn mul2_tail<V: Vector>(a: V, b: V, x: V, plain: V) -> V {
    let t = table::<V>();
    let min = a.splat(t.min_normal);
    let normal = |v: V| v.abs().ge(min) & v.abs().le(v.splat_elem(V::Elem::MAX));
    let both = normal(a) & normal(b);
    // Abnormal lanes get 1 here (frexp wants a positive normal number); `plain` is kept there.
    let (ma, ea) = V::select(both, a.abs(), a.splat(1.0)).frexp();
    let (mb, eb) = V::select(both, b.abs(), b.splat(1.0)).frexp();
    // Below 4·exp_lo the product underflows for every pair of normal factors (|a·b| < 2^256 in
    // f32, 2^2048 in f64; e^(4·exp_lo) is below 2^−600, 2^−4300).
    let arg = a.splat(4.0 * t.exp_lo).max(-x.abs());
    let (n, q, _) = exp_reduce(arg, None);
    let m = q + a.splat(1.0);
    // m_a·m_b·m/2 < 2·2·1.5: no overflow; the exponent clamped where the result is 0 anyway,
    // and split in two so each scaling stays within `ldexp`'s range.
    let v = (ma * mb * (m * a.splat(0.5))).copysign(a * b);
    let k = (ea + eb + n + a.splat(1.0)).max(a.splat(t.ldexp_min));
    let k1 = (k * a.splat(0.5)).round_small();
    let scaled = v.ldexp(k1).ldexp(k - k1);
    V::select(both, scaled, plain)
}

/// `a · σ(u)` rounded once at the end: for u < 0 the product is formed from the mantissa of
/// e^u before it is scaled, so `x·σ(x)` keeps full precision where σ(x) alone is subnormal
/// (swish at x = −100: 4 ULP instead of ~50). Used by the macro for a product with a sigmoid in
/// forward kernels.
#[inline(always)]
pub fn mul_sigmoid<V: Vector>(a: V, u: V) -> V {
    mul_sigmoid_at(a, u, None)
}

/// `a · σ(u + lo)` rounded once, for a correction `lo` below the rounding of `u` (see
/// [`mul_sigmoid`], [`sigmoid_shifted`]).
#[inline(always)]
pub fn mul_sigmoid_shifted<V: Vector>(a: V, u: V, lo: V) -> V {
    mul_sigmoid_at(a, u, Some(shift(lo)))
}

/// `a · σ(u)`, or `a · σ(u + lo)`.
#[inline(always)]
fn mul_sigmoid_at<V: Vector>(a: V, u: V, lo: Option<V>) -> V {
    let t = table::<V>();
    let one = a.splat(1.0);
    let fast = a / (one + exp_neg_at(u, lo, !V::LDEXP_ONE_OP));
    let tail = u.lt(u.splat(t.sigmoid_tail));
    if tail.any() {
        V::select(tail, mul_sigmoid_tail(a, u, lo), fast)
    } else {
        fast
    }
}

/// `mul_sigmoid(a, u)` for `a` and `u` linear in the same input x (`x·σ(β·x)`, swish), with the
/// limits at x = ±inf built in, so the kernel needs no ±inf guard: where `a` is ±inf, `u` is
/// ±inf or NaN (β = 0, where u ≡ 0 for finite x). u = −inf gives ±0 (e^u decays faster than
/// `a` grows), u = NaN gives `a·σ(0) = a`, u = +inf gives `a` as the fast form does.
///
/// The rare lanes (u below `sigmoid_tail`, or NaN) are found by one comparison, so the fast
/// path costs what `mul_sigmoid`'s does. The macro emits this only where its guard analysis
/// has checked the linear shape.
#[inline(always)]
pub fn linear_mul_sigmoid<V: Vector>(a: V, u: V) -> V {
    let t = table::<V>();
    let one = a.splat(1.0);
    let fast = a / (one + exp_neg_at(u, None, !V::LDEXP_ONE_OP));
    // Not (u ≥ tail): the tail lanes and the NaN lanes.
    let rare = !u.ge(u.splat(t.sigmoid_tail));
    if rare.any() {
        let r = V::select(rare, mul_sigmoid_tail(a, u, None), fast);
        let a_inf = a.abs().eq(a.splat(f64::INFINITY));
        let limit = V::select(u.is_nan(), a, a.splat(0.0).copysign(a));
        V::select(rare & a_inf, limit, r)
    } else {
        fast
    }
}

/// `a · σ(u)` (or `a · σ(u + lo)`) for u < 0, scaled at the end (see `mul_sigmoid`).
#[inline(always)]
fn mul_sigmoid_tail<V: Vector>(a: V, u: V, lo: Option<V>) -> V {
    let t = table::<V>();
    let one = a.splat(1.0);
    // Below 2·exp_lo the true product underflows for every finite `a`.
    let arg = a.splat(2.0 * t.exp_lo).max(-u.abs());
    // The argument is −|u|: shifted by lo where u < 0, by −lo elsewhere.
    let lo = lo.map(|lo| V::select(u.lt(a.splat(0.0)), lo, -lo));
    let (n, q, _) = exp_reduce(arg, lo);
    let m = q + one;
    let e = m.ldexp(n.max(a.splat(t.ldexp_min)));
    let den = one + e;
    let pos = a / den;
    // a·e/(1+e) = (a·(m/2)/den)·2ⁿ⁺¹; m/2 < 1 so a·(m/2) cannot overflow. The scaling is split
    // in two so each step stays within `ldexp`'s range.
    let v = a * (m * a.splat(0.5)) / den;
    let n1 = n + one;
    let na = (n1 * a.splat(0.5)).round_small();
    let neg = v.ldexp(na).ldexp(n1 - na);
    // Where e^u underflows for every finite `a`, the product is a·0 (NaN for infinite `a`, so
    // the kernel's limit guard takes over).
    let neg = V::select(
        arg.le(a.splat(2.0 * t.exp_lo)),
        a * a.splat(0.0).keep(),
        neg,
    );
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
    let e = exp_neg(x.abs());
    let big = e.gt(x.splat(core::f64::consts::SQRT_2 - 1.0));
    let f = V::select(big, (e - one) * x.splat(0.5), e);
    let k = V::select(big, one, zero);
    let l = k.mul_add(x.splat(t.ln2_lo), ln1p_reduced(f));
    let l = k.mul_add(x.splat(t.ln2_hi), l);
    zero.max(x) + l
}

/// Hyperbolic tangent.
///
/// With `w = |x| = n·(ln2/2) + s` (so `−2|x| = n·ln2 − 2s`), `h = 2ⁿ`, `q = e^(−2s) − 1 = s·H(s)`:
/// `t = e^(−2|x|) − 1 = h·q + h − 1` and tanh|x| = −t/(t + 2) = (1 − h − h·q)/(h·q + h + 1), one
/// rounding in each of the two terms. The reduction works on |x| directly: no `−2|x|` product.
#[inline(always)]
pub fn tanh<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    // Beyond −expm1_lo/2, h = 0 and the quotient is 1.
    let w = x.splat(-0.5 * t.expm1_lo).min(x.abs());
    let (n, h) = (w * x.splat(-2.0 * core::f64::consts::LOG2_E)).round_pow2(0);
    let s = n.mul_add(x.splat(0.5 * t.ln2_hi), w);
    let s = n.mul_add(x.splat(0.5 * t.ln2_lo), s);
    // Horner's chain on every path (see `horner_pairs`).
    let q = s * horner_chain(s, t.tanh_poly);
    let num = (-h).mul_add(q, one - h);
    let den = h.mul_add(q, h + one);
    (num / den).copysign(x)
}

/// `(sin r, cos r, q)` with `x = (4m + q)·π/2 + r`, |r| ≤ π/4 (Cody–Waite, four parts).
#[inline(always)]
fn sin_cos_reduced<V: Vector>(x: V) -> (V, V, V) {
    let t = table::<V>();
    let k = (x * x.splat(core::f64::consts::FRAC_2_PI)).round_small();
    let mut r = x;
    for &part in t.pio2 {
        r = sub_product(r, k, x.splat(part));
    }
    // q = k mod 4, in floats: k/4 − 0.375 rounds to ⌊k/4⌋ for every integer k.
    let q = k - x.splat(4.0) * (k * x.splat(0.25) - x.splat(0.375)).round_small();
    let r2 = r * r;
    let sin = (r * r2).mul_add(horner(r2, t.sin_poly), r);
    let cos = (r2 * r2).mul_add(
        horner(r2, t.cos_poly),
        r2.mul_add(x.splat(-0.5), x.splat(1.0)),
    );
    (sin, cos, q)
}

/// sin and cos by quadrant: `[s, c, −s, −c][q]` for sin, shifted by one for cos.
#[inline(always)]
fn by_quadrant<V: Vector>(s: V, c: V, q: V, shift: f64) -> V {
    let q = q + q.splat(shift);
    let q = V::select(q.ge(q.splat(4.0)), q - q.splat(4.0), q);
    let odd = V::select(q.eq(q.splat(1.0)) | q.eq(q.splat(3.0)), c, s);
    V::select(q.ge(q.splat(2.0)), -odd, odd)
}

/// sin (`shift` 0) or cos (`shift` 1); lanes beyond `trig_limit` use [`Vector::trig_far`].
#[inline(always)]
fn trig<V: Vector>(x: V, shift: f64) -> V {
    let t = table::<V>();
    let (s, c, q) = sin_cos_reduced(x);
    let r = by_quadrant(s, c, q, shift);
    let far = x.abs().gt(x.splat(t.trig_limit));
    if far.any() {
        V::select(far, x.trig_far(shift == 1.0), r)
    } else {
        r
    }
}

/// Sine. Arguments beyond `trig_limit` are reduced per lane by std's f64 `sin` (rare).
#[inline(always)]
pub fn sin<V: Vector>(x: V) -> V {
    trig(x, 0.0)
}

/// Cosine. Arguments beyond `trig_limit` are reduced per lane by std's f64 `cos` (rare).
#[inline(always)]
pub fn cos<V: Vector>(x: V) -> V {
    trig(x, 1.0)
}

/// The error function.
///
/// |x| < 1: x·P(x²). Beyond: 1 − e^(−x²)·R(x) with R a fit of e^(x²)·erfc(x) on one interval
/// (f32) or three (f64), and x² split exactly in two (x² = h + l exactly, see `product_error`) so e^(−x²) = e^(−h)(1 − l)
/// loses nothing to the rounding of x². |x| is clamped where erf rounds to 1.
#[inline(always)]
pub fn erf<V: Vector>(x: V) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    let a = x.abs();
    let small = a * horner(a * a, t.erf_small);
    // `splat.min(a)` keeps a NaN a.
    let ac = x.splat(t.erf_one).min(a);
    let h = ac * ac;
    let l = product_error(ac, ac, h);
    let e = exp_neg(h) * (one - l);
    let mut r = x.splat(0.0);
    for &(lo, mid, poly) in t.erfc_pieces {
        let piece = horner(ac - x.splat(mid), poly);
        r = V::select(ac.ge(x.splat(lo)), piece, r);
    }
    let big = e.mul_add(-r, one);
    let y = V::select(a.lt(one), small, big);
    y.copysign(x)
}

/// The complementary error function erfc(x) = 1 − erf(x), accurate where that difference
/// cancels (erfc(4) = 1.5e−8, erfc(9) = 4e−37).
///
/// −1 < x < ½: 1 − x·P(x²) (erf's polynomial). ½ ≤ |x| < 1: e^(−x²)·R(|x|) with
/// R = e^(x²)·erfc fitted on that interval (`erfc_near`); 1 ≤ |x| ≤ `erf_one`: erf's pieces of
/// R. Beyond, up to `erfc_zero` where erfc rounds to 0: R = Q(1/x²)/x with Q fitted in 1/x²
/// (`erfc_far`), computed only when a vector has such a lane. Negative x: 2 − erfc(|x|).
#[inline(always)]
pub fn erfc<V: Vector>(x: V) -> V {
    erfc_at(x, None)
}

/// erfc(x + lo) for a correction `lo` below the rounding of `x` (see [`exp_shifted`]): `lo`
/// enters the low part of x², so the tail (erfc(x) ≈ e^(−x²)/(x√π), whose relative error is
/// 2x² times that of x) is as accurate as at an exact argument; near 0 the first-order term
/// −(2/√π)·lo is added.
#[inline(always)]
pub fn erfc_shifted<V: Vector>(x: V, lo: V) -> V {
    erfc_at(x, Some(shift(lo)))
}

/// erfc(x), or erfc(x + lo).
#[inline(always)]
fn erfc_at<V: Vector>(x: V, lo: Option<V>) -> V {
    erfc_core(None, x, lo)
}

/// `a · erfc(u)` rounded once at the end: for u > 0 the product is formed from the mantissa of
/// e^(−u²) before it is scaled, so `a·erfc(u)` keeps full precision where erfc(u) alone is
/// subnormal (GELU, `x/2·erfc(−x/√2)`, below x = −13). Used by the macro for a product with
/// an erfc in forward kernels. Beyond `erfc_zero` (10.5 in f32, where erfc rounds to 0 and
/// its tail's fit ends) the product is `a·0`, as the unfused one.
#[inline(always)]
pub fn mul_erfc<V: Vector>(a: V, u: V) -> V {
    erfc_core(Some(a), u, None)
}

/// `a · erfc(u + lo)` rounded once, for a correction `lo` below the rounding of `u` (see
/// [`mul_erfc`], [`erfc_shifted`]).
#[inline(always)]
pub fn mul_erfc_shifted<V: Vector>(a: V, u: V, lo: V) -> V {
    erfc_core(Some(a), u, Some(shift(lo)))
}

/// erfc(x + lo), times `a` where given (the tail's scaling by 2ⁿ last, see [`mul_erfc`]).
#[inline(always)]
fn erfc_core<V: Vector>(a: Option<V>, x: V, lo: Option<V>) -> V {
    let t = table::<V>();
    let one = x.splat(1.0);
    let small = one - x * horner(x * x, t.erf_small);
    let small = match lo {
        None => small,
        Some(lo) => lo.mul_add(x.splat(-core::f64::consts::FRAC_2_SQRT_PI), small),
    };
    // `splat.min(|x|)` keeps a NaN x.
    let ac = x.splat(t.erfc_zero).min(x.abs());
    let h = ac * ac;
    let l = product_error(ac, ac, h);
    // |x + lo| = ac + s with s = ±lo (the sign of x), so (ac + s)² = h + l + 2·ac·s to first
    // order (`ac` is clamped: finite for x = ±inf).
    let l = match lo {
        None => l,
        Some(lo) => {
            let s = V::select(x.lt(x.splat(0.0)), -lo, lo);
            ac.mul_add(s + s, l)
        }
    };
    let (_, near_mid, near) = t.erfc_near;
    let mut r = horner(ac - x.splat(near_mid), near);
    for &(lo, mid, poly) in t.erfc_pieces {
        let piece = horner(ac - x.splat(mid), poly);
        r = V::select(ac.ge(x.splat(lo)), piece, r);
    }
    // e^(−x²)·R = e^(−h)·(R − l·R): the first-order factor of e^(−l) folded in with one
    // rounding. (A product takes e^(−h) = 2ⁿ·p apart below: h ≤ erfc_zero², so 2ⁿ is within
    // `ldexp`'s range without the clamp.)
    let (n, p, _) = exp_neg_parts(h, None, a.is_none().then_some(-t.exp_lo), false);
    let e = p.ldexp(n);
    let near_r = (-l).mul_add(r, r);
    let mut tail = e * near_r;
    let far = ac.gt(x.splat(t.erf_one));
    let mut far_r = near_r;
    if far.any() {
        // R = Q(1/x²)/x; 1/h for 1/x² is close enough (Q changes slowly).
        let (mid, q) = t.erfc_far;
        let q = horner(one / h - x.splat(mid), q);
        far_r = (-l).mul_add(q, q);
        tail = V::select(far, e * far_r / ac, tail);
    }
    let big = V::select(x.lt(x.splat(0.0)), x.splat(2.0) - tail, tail);
    // 1 − erf(x) where it does not cancel: −1 < x < near_lo.
    let use_small = x.gt(-one) & x.lt(x.splat(t.erfc_near.0));
    let Some(a) = a else {
        return V::select(use_small, small, big);
    };
    let product = V::select(use_small, a * small, a * big);
    // Where erfc(x) nears the subnormal range (x ≥ erfc_subnormal: rare lanes, one test), the
    // product from e^(−h)'s mantissa, scaled last: a·p·R·2ⁿ as (a/2)·(p·R)·2ⁿ⁺¹ (p·R < 2, so
    // (a/2)·(p·R) cannot overflow; `ldexp` rounds twice only where |a| is below 2⁻¹⁰⁰ in f32,
    // the product far below the normal range). Where erfc is 0 (x ≥ erfc_zero), a·0.
    let deep = x.ge(x.splat(t.erfc_subnormal));
    if deep.any() {
        let m = V::select(far, p * far_r / ac, p * near_r);
        let scaled = ((a * x.splat(0.5)) * m).ldexp(n + one);
        let zero = x.ge(x.splat(t.erfc_zero));
        let scaled = V::select(zero, a * x.splat(0.0).keep(), scaled);
        V::select(deep, scaled, product)
    } else {
        product
    }
}

/// Lanes whose value cannot be trusted as an intermediate of a formula evaluated at a large
/// finite stand-in for ±inf: non-finite (an overflow, or NaN), or a nonzero subnormal (digits
/// lost to underflow). Used by the checked kernel bodies (see `Formula::forward_checked`).
#[inline(always)]
pub fn unreliable<V: Vector>(v: V) -> V::Mask {
    let a = v.abs();
    let zero = v.splat(0.0);
    !a.le(v.splat_elem(V::Elem::MAX)) | (a.lt(v.splat_elem(V::Elem::MIN_POSITIVE)) & a.gt(zero))
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

/// `a` to the power `e`, with the special cases of Rust's `f32::powf` (IEEE 754 `pow`):
/// `powf(a, 0) = powf(1, e) = 1` (NaN included); a negative base gives `±|a|^e` for an
/// integral `e` (negative for odd `e`) and NaN otherwise; `powf(±0, e)` is `±0` or `±inf`
/// (the sign kept for odd integral `e`), and `powf(-inf, e)` is `+inf`/`+0` unless `e` is an
/// odd integer.
///
/// Computed as `exp(e·ln|a|)`, so the relative error grows with `|e·ln a|` (the logarithm's
/// error is multiplied by it): a few ULP for moderate powers. The macro turns an integral
/// constant exponent of magnitude up to 4 into [`powi`] instead (exact products).
#[inline(always)]
pub fn powf<V: Vector>(a: V, e: V) -> V {
    let zero = a.splat(0.0);
    let one = a.splat(1.0);
    let m = a.abs();
    let r = exp(e * ln(m));
    // e integral (every f32 beyond 2²³ is), and odd (beyond 2²⁴ none is).
    let integral = e.round().eq(e);
    let half = e * a.splat(0.5);
    let odd = integral & !half.round().eq(half);
    // A negative sign bit (−0 and −inf included) flips the sign for odd e.
    let negative = one.copysign(a).lt(zero);
    let r = V::select(negative & odd, -r, r);
    // A finite negative base with a non-integral exponent has no real power.
    let r = V::select(
        a.lt(zero) & m.lt(a.splat_elem(V::Elem::INFINITY)) & !integral,
        a.splat(f64::NAN),
        r,
    );
    V::select(e.eq(zero) | a.eq(one), one, r)
}

/// `x` to an integer power, by repeated squaring (exact for |n| ≤ 2 and as `f32::powi` beyond).
#[inline(always)]
pub fn powi<V: Vector>(x: V, n: i32) -> V {
    let mut base = x;
    let mut k = n.unsigned_abs();
    let mut acc = x.splat(1.0);
    // Each product rounded where it stands (see `Vector::keep`).
    while k > 0 {
        if k & 1 == 1 {
            acc = (acc * base).keep();
        }
        k >>= 1;
        if k > 0 {
            base = (base * base).keep();
        }
    }
    if n < 0 { x.splat(1.0) / acc } else { acc }
}
