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
    /// `H(s) = −2 + 4c₂s − 8c₃s² + …` with `e^(−2s) − 1 = s·H(s)` (the `expm1_poly` terms
    /// scaled), for tanh.
    pub tanh_poly: &'static [f64],
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
    /// Coefficients of eʳ = 1 + r + … on |r| ≤ ln2/2 (1, 1, then the `expm1_poly` terms).
    pub exp_poly: &'static [f64],
    /// Coefficients of e^(−s) = 1 − s + … (the `exp_poly` terms, alternating).
    pub exp_neg_poly: &'static [f64],
    /// π/2 in parts for the sin/cos range reduction (`k·pio2[0]` exact below `trig_limit`; the
    /// parts sum to π/2 within 1e−26 relative).
    pub pio2: &'static [f64],
    /// Beyond this |x|, sin/cos reduce each lane in f64 with std instead.
    pub trig_limit: f64,
    /// Taylor coefficients of sin r = r + r³·S(r²), from the r³ term.
    pub sin_poly: &'static [f64],
    /// Taylor coefficients of cos r = 1 − r²/2 + r⁴·C(r²), from the r⁴ term.
    pub cos_poly: &'static [f64],
    /// erf(x) = x·P(x²) for |x| < 1.
    pub erf_small: &'static [f64],
    /// erfc(x) = e^(−x²)·R(x − mid) on `[lo, hi)`, as `(lo, mid, R)`; the last interval's end is
    /// `erf_one`.
    pub erfc_pieces: &'static [(f64, f64, &'static [f64])],
    /// Beyond this |x|, erf(x) rounds to ±1.
    pub erf_one: f64,
    /// erfc(x) = e^(−x²)·R(x − mid) on `[lo, 1)`, as `(lo, mid, R)`: erfc only, where
    /// 1 − erf(x) would lose up to 3 bits.
    pub erfc_near: (f64, f64, &'static [f64]),
    /// Beyond this x, erfc(x) rounds to 0.
    pub erfc_zero: f64,
    /// Beyond `erf_one`: x·e^(x²)·erfc(x) = Q(t − mid) with t = 1/x², as `(mid, Q)`.
    pub erfc_far: (f64, &'static [f64]),
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

/// f32 `c₂, c₃, …` of eʳ − 1 = r + r²·(c₂ + r·(c₃ + …)): near-minimax (Lawson-weighted least
/// squares, relative error 1.3e−8 on |r| ≤ ln2/2), one term fewer than Taylor for the same
/// accuracy.
const EXPM1_F32: [f64; 5] = [
    0.499_999_981_550_522_9,
    0.166_665_436_686_747_25,
    0.041_667_199_683_098_362,
    0.008_366_514_082_286_778,
    0.001_388_252_022_595_431_6,
];

/// `[−2, 4c₂, −8c₃, …]` from `c = [c₂, c₃, …]` starting at `c[from]`: the coefficients of
/// `H(s)` with `e^(−2s) − 1 = s·H(s)`, given those of `eʳ − 1 = r + r²·(c₂ + …)`.
const fn scaled_by_neg2<const N: usize>(c: &[f64], from: usize) -> [f64; N] {
    let mut out = [-2.0; N];
    let mut f = -2.0;
    let mut k = 1;
    while k < N {
        f *= -2.0;
        out[k] = c[from + k - 1] * f;
        k += 1;
    }
    out
}

/// f32 eʳ ≈ 1 + r + r²·(c₂ + …): the `EXPM1_F32` terms after 1 and 1.
const EXP_F32: [f64; 7] = {
    let mut c = [1.0; 7];
    let mut k = 2;
    while k < 7 {
        c[k] = EXPM1_F32[k - 2];
        k += 1;
    }
    c
};

/// `c` with the odd terms negated: the coefficients of p(−s) from those of p(s).
const fn alternating<const N: usize>(mut c: [f64; N]) -> [f64; N] {
    let mut k = 1;
    while k < N {
        c[k] = -c[k];
        k += 2;
    }
    c
}

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
    expm1_poly: &EXPM1_F32,
    tanh_poly: &scaled_by_neg2::<6>(&EXPM1_F32, 0),
    ln_poly: split_prefix(&ATANH_2, 4),
    min_normal: f32::MIN_POSITIVE as f64,
    subnormal_shift: 24.0,
    ldexp_min: -250.0,
    sigmoid_tail: -80.0,
    exp_poly: &EXP_F32,
    exp_neg_poly: &alternating(EXP_F32),
    // Four f32 parts: three leave the representation error of π/2 at 4e−15, which costs up to
    // 688 ULP of sin near multiples of π at |x| ≈ 4500 (measured by the exhaustive sweep).
    pio2: &[
        1.570_312_5,
        0.000_483_826_792_333_275_1,
        2.563_344_068_257_089_6e-12,
        8.333_743_212_599_745e-20,
    ],
    trig_limit: 65536.0,
    sin_poly: split_prefix(&SIN_TAYLOR, 4),
    cos_poly: split_prefix(&COS_TAYLOR, 5),
    // Near-minimax fits (Lawson-weighted least squares, relative error 1.2e−9 and 2.8e−8).
    erf_small: &[
        1.128_379_165_726_598_2,
        -0.376_126_258_234_553_6,
        0.1128358513978138,
        -0.02685381156576159,
        0.005_188_326_983_688_18,
        -0.000_801_018_745_853_347_6,
        7.853840994930588e-05,
    ],
    erfc_pieces: &[(
        1.0,
        2.5,
        &[
            0.210_806_358_285_784_4,
            -0.074_347_353_503_443_15,
            0.024_938_186_415_072_743,
            -0.008_001_540_968_621_096,
            0.002_466_045_177_524_747_6,
            -0.000_733_540_840_201_106_9,
            0.000_212_892_780_297_887_23,
            -5.912342268624967e-05,
            1.4394379312022025e-05,
            -3.926_944_406_644_308e-6,
            1.664_501_844_582_585e-6,
            -3.971_717_991_635_748e-7,
        ],
    )],
    erf_one: 4.0,
    // `python3 tools/fit_erfc.py near 7`: relative error 6.3e−10 (before rounding to f32).
    erfc_near: (
        0.5,
        0.75,
        &[
            0.5069376499973341,
            -0.3679726915420597,
            0.230958282964403,
            -0.12983612021262037,
            0.06677844760647776,
            -0.031892611062878995,
            0.014597662065412196,
            -0.00617018265701593,
        ],
    ),
    erfc_zero: 10.5,
    // t ∈ [1/10.5², 1/16], `python3 tools/fit_erfc.py far32 5`: relative error 5.7e−10.
    erfc_far: (
        0.035_785_147_392_290_25,
        &[
            0.5545934201369619,
            -0.2553067892119035,
            0.33209152615512666,
            -0.6812649134075799,
            1.885372012144721,
            -6.333619762940107,
        ],
    ),
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
    tanh_poly: &scaled_by_neg2::<13>(&INV_FACT, 2),
    ln_poly: split_prefix(&ATANH_2, 10),
    min_normal: f64::MIN_POSITIVE,
    subnormal_shift: 54.0,
    ldexp_min: -2000.0,
    sigmoid_tail: -700.0,
    exp_poly: &INV_FACT,
    exp_neg_poly: &alternating(INV_FACT),
    // fdlibm's pio2_1, pio2_2, pio2_3: 33 bits each.
    pio2: &[
        f64::from_bits(0x3ff9_21fb_5440_0000),
        f64::from_bits(0x3dd0_b461_1a60_0000),
        f64::from_bits(0x3ba3_198a_2e00_0000),
        f64::from_bits(0x397b_839a_2520_49c1),
    ],
    trig_limit: 1e5,
    sin_poly: &SIN_TAYLOR,
    cos_poly: &COS_TAYLOR,
    erf_small: ERF_SMALL_F64,
    erfc_pieces: ERFC_PIECES_F64,
    erf_one: 6.0,
    // `python3 tools/fit_erfc.py near 17`: relative error 1.2e−16 after rounding to f64.
    erfc_near: (0.5, 0.75, ERFC_NEAR_F64),
    erfc_zero: 27.5,
    // t ∈ [1/27.5², 1/36], `python3 tools/fit_erfc.py far64 10`: relative error 7.3e−17.
    erfc_far: (0.014_550_045_913_682_277, ERFC_FAR_F64),
};

/// e^(x²)·erfc(x) on [0.5, 1) in powers of (x − 0.75), f64 (see `Table::erfc_near`).
const ERFC_NEAR_F64: &[f64] = &[
    0.5069376502931449,
    -0.3679726916557954,
    0.2309581315512983,
    -0.1298360619948811,
    0.06679054252756873,
    -0.03189726203968182,
    0.014289198665935013,
    -0.0060515322972083474,
    0.00243763736082092,
    -0.0009385120614937002,
    0.00034675065999351383,
    -0.00012335437449096325,
    4.237255987767501e-05,
    -1.408848644133205e-05,
    4.542475591917575e-06,
    -1.4237320376078968e-06,
    4.45144412960667e-07,
    -1.3223499032928838e-07,
];

/// x·e^(x²)·erfc(x) for x ≥ 6 in powers of (1/x² − mid), f64 (see `Table::erfc_far`).
const ERFC_FAR_F64: &[f64] = &[
    0.5601715695575578,
    -0.27041096259620045,
    0.38121090232821214,
    -0.8727932325532443,
    2.728643670914793,
    -10.706875907990579,
    50.166295337155496,
    -271.5340306861479,
    1659.383554564124,
    -11587.650004914529,
    86444.7783375648,
];

/// erf(x) = x·P(x²) on |x| < 1, f64: near-minimax fit, relative error 1.3e−19.
const ERF_SMALL_F64: &[f64] = &[
    core::f64::consts::FRAC_2_SQRT_PI,
    -0.3761263890318375,
    0.11283791670954857,
    -0.02686617064507289,
    0.005223977624780815,
    -0.0008548326978739276,
    0.00012055331036794458,
    -1.4925593504401695e-05,
    1.6460972777732148e-06,
    -1.63500248129409e-07,
    1.4657877133892518e-08,
    -1.1365655680781156e-09,
    5.945244679054511e-11,
];

/// e^(x²)·erfc(x) on [1, 2.25), [2.25, 3.75), [3.75, 6] in powers of x − mid, f64: relative errors
/// 3.4e−17, 4.7e−18, 1.8e−17.
const ERFC_PIECES_F64: &[(f64, f64, &[f64])] = &[
    (
        1.0,
        1.625,
        &[
            0.30226120936348594,
            -0.14603023666418308,
            0.06496207478418842,
            -0.026977910093285994,
            0.010561485441308653,
            -0.003926198499211307,
            0.001393804292946104,
            -0.00047464759830680056,
            0.00015562549383283,
            -4.927897547291304e-05,
            1.510936485255418e-05,
            -4.496526596089953e-06,
            1.3007541645956048e-06,
            -3.642523561578557e-07,
            1.0031246161362298e-07,
            -3.025384085501195e-08,
            7.812728175081882e-09,
        ],
    ),
    (
        2.25,
        3.0,
        &[
            0.17900115118138996,
            -0.05437226000717285,
            0.015884371159871347,
            -0.0044794310183741935,
            0.001223039052376586,
            -0.000324125544456535,
            8.355413962836243e-05,
            -2.0989464910826618e-05,
            5.146436598915562e-06,
            -1.233365061278553e-06,
            2.8926634179309025e-07,
            -6.647578334711741e-08,
            1.4979063111333023e-08,
            -3.295932542724455e-09,
            7.168891215771854e-10,
            -1.7070106338452684e-10,
            3.554650623022041e-11,
        ],
    ),
    (
        3.75,
        4.875,
        &[
            0.1134358772147405,
            -0.02237936425179276,
            0.004336476487250653,
            -0.0008260275842984192,
            0.0001547960069007955,
            -2.8558820249481056e-05,
            5.19058603952456e-06,
            -9.299181539776608e-07,
            1.6430884490897462e-07,
            -2.8647055138598058e-08,
            4.930703891686812e-09,
            -8.38420369103333e-10,
            1.4080794965611178e-10,
            -2.3159073035490522e-11,
            3.805132541621904e-12,
            -7.151680788074267e-13,
            1.1406162983191423e-13,
        ],
    ),
];

/// (−1)ⁿ/(2n+1)! from n = 1.
const SIN_TAYLOR: [f64; 8] = [
    -1.0 / 6.0,
    1.0 / 120.0,
    -1.0 / 5040.0,
    1.0 / 362_880.0,
    -1.0 / 39_916_800.0,
    1.0 / 6_227_020_800.0,
    -1.0 / 1_307_674_368_000.0,
    1.0 / 355_687_428_096_000.0,
];

/// (−1)ⁿ/(2n)! from n = 2.
const COS_TAYLOR: [f64; 8] = [
    1.0 / 24.0,
    -1.0 / 720.0,
    1.0 / 40_320.0,
    -1.0 / 3_628_800.0,
    1.0 / 479_001_600.0,
    -1.0 / 87_178_291_200.0,
    1.0 / 20_922_789_888_000.0,
    -1.0 / 6_402_373_705_728_000.0,
];

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
    let n = (xc * x.splat(core::f64::consts::LOG2_E)).round();
    let r = n.mul_add(x.splat(-t.ln2_hi), xc);
    let r = n.mul_add(x.splat(-t.ln2_lo), r);
    horner(r, t.exp_poly).ldexp(n)
}

/// e^(−u) for `u ≥ sigmoid_tail`, the form the sigmoids and softplus need: the negation is
/// folded into the reduction (`u + n·ln2` with `n = round(−u·log2 e)`), `eʳ` is one Horner
/// polynomial, and there is one clamp, at `−exp_lo` (where the result rounds to 0). Below
/// `sigmoid_tail` the lane's value is unspecified (`ldexp` beyond its range): every caller
/// replaces those lanes.
#[inline(always)]
fn exp_neg<V: Vector>(u: V) -> V {
    let t = table::<V>();
    // `splat(hi).min(u)` keeps a NaN u (min returns its second operand on NaN).
    let uc = u.splat(-t.exp_lo).min(u);
    let n = (uc * u.splat(-core::f64::consts::LOG2_E)).round();
    // s = u + n·ln2 = −r, with e^(−u) = 2ⁿ·eʳ.
    let s = n.mul_add(u.splat(t.ln2_hi), uc);
    let s = n.mul_add(u.splat(t.ln2_lo), s);
    horner(s, t.exp_neg_poly).ldexp(n)
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
    let fast = one / (one + exp_neg(x));
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
    let e = exp_neg(x);
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
    let fast = a / (one + exp_neg(u));
    let tail = u.lt(u.splat(t.sigmoid_tail));
    if tail.any() {
        V::select(tail, mul_sigmoid_tail(a, u), fast)
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
    let fast = a / (one + exp_neg(u));
    // Not (u ≥ tail): the tail lanes and the NaN lanes.
    let rare = !u.ge(u.splat(t.sigmoid_tail));
    if rare.any() {
        let r = V::select(rare, mul_sigmoid_tail(a, u), fast);
        let a_inf = a.abs().eq(a.splat(f64::INFINITY));
        let limit = V::select(u.is_nan(), a, a.splat(0.0).copysign(a));
        V::select(rare & a_inf, limit, r)
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
    let n = (w * x.splat(-2.0 * core::f64::consts::LOG2_E)).round();
    let s = n.mul_add(x.splat(0.5 * t.ln2_hi), w);
    let s = n.mul_add(x.splat(0.5 * t.ln2_lo), s);
    let q = s * horner(s, t.tanh_poly);
    let h = n.pow2i();
    let num = (-h).mul_add(q, one - h);
    let den = h.mul_add(q, h + one);
    (num / den).copysign(x)
}

/// `(sin r, cos r, q)` with `x = (4m + q)·π/2 + r`, |r| ≤ π/4 (Cody–Waite, four parts).
#[inline(always)]
fn sin_cos_reduced<V: Vector>(x: V) -> (V, V, V) {
    let t = table::<V>();
    let k = (x * x.splat(core::f64::consts::FRAC_2_PI)).round();
    let mut r = x;
    for &part in t.pio2 {
        r = k.mul_add(x.splat(-part), r);
    }
    // q = k mod 4, in floats: k/4 − 0.375 rounds to ⌊k/4⌋ for every integer k.
    let q = k - x.splat(4.0) * (k * x.splat(0.25) - x.splat(0.375)).round();
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

/// sin (`shift` 0) or cos (`shift` 1); lanes beyond `trig_limit` use `scalar` in f64.
#[inline(always)]
fn trig<V: Vector>(x: V, shift: f64, scalar: fn(f64) -> f64) -> V {
    let t = table::<V>();
    let (s, c, q) = sin_cos_reduced(x);
    let r = by_quadrant(s, c, q, shift);
    let far = x.abs().gt(x.splat(t.trig_limit));
    if far.any() {
        V::select(
            far,
            x.map_lanes(|v| V::Elem::from_f64(scalar(v.to_f64()))),
            r,
        )
    } else {
        r
    }
}

/// Sine. Arguments beyond `trig_limit` are reduced per lane by std's f64 `sin` (rare).
#[inline(always)]
pub fn sin<V: Vector>(x: V) -> V {
    trig(x, 0.0, f64::sin)
}

/// Cosine. Arguments beyond `trig_limit` are reduced per lane by std's f64 `cos` (rare).
#[inline(always)]
pub fn cos<V: Vector>(x: V) -> V {
    trig(x, 1.0, f64::cos)
}

/// The error function.
///
/// |x| < 1: x·P(x²). Beyond: 1 − e^(−x²)·R(x) with R a fit of e^(x²)·erfc(x) on one interval
/// (f32) or three (f64), and x² split exactly in two (x² = h + l by FMA) so e^(−x²) = e^(−h)(1 − l)
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
    let l = ac.mul_add(ac, -h);
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
    let t = table::<V>();
    let one = x.splat(1.0);
    let a = x.abs();
    let small = one - x * horner(x * x, t.erf_small);
    // `splat.min(a)` keeps a NaN a.
    let ac = x.splat(t.erfc_zero).min(a);
    let h = ac * ac;
    let l = ac.mul_add(ac, -h);
    let (_, near_mid, near) = t.erfc_near;
    let mut r = horner(ac - x.splat(near_mid), near);
    for &(lo, mid, poly) in t.erfc_pieces {
        let piece = horner(ac - x.splat(mid), poly);
        r = V::select(ac.ge(x.splat(lo)), piece, r);
    }
    // e^(−x²)·R = e^(−h)·(R − l·R): the first-order factor of e^(−l) folded in with one rounding.
    let e = exp_neg(h);
    let mut tail = e * (-l).mul_add(r, r);
    let far = ac.gt(x.splat(t.erf_one));
    if far.any() {
        // R = Q(1/x²)/x; 1/h for 1/x² is close enough (Q changes slowly).
        let (mid, q) = t.erfc_far;
        let q = horner(one / h - x.splat(mid), q);
        tail = V::select(far, e * (-l).mul_add(q, q) / ac, tail);
    }
    let big = V::select(x.lt(x.splat(0.0)), x.splat(2.0) - tail, tail);
    // 1 − erf(x) where it does not cancel: −1 < x < near_lo.
    let use_small = x.gt(-one) & x.lt(x.splat(t.erfc_near.0));
    V::select(use_small, small, big)
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
    /// sin x
    #[activation]
    pub fn sin(x: f32) -> f32 {
        x.sin()
    }
    /// cos x
    #[activation]
    pub fn cos(x: f32) -> f32 {
        x.cos()
    }
    /// erf x
    #[activation]
    pub fn erf(x: f32) -> f32 {
        erf(x)
    }
    /// erfc x
    #[activation]
    pub fn erfc(x: f32) -> f32 {
        erfc(x)
    }
}
