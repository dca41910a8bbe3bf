//! The data of the vector math: per-precision constants and polynomial coefficients.
//!
//! A leaf module (it imports nothing from this crate): the vector layer reads a precision's
//! table through `Element::MATH`, and the math in `crate::math` evaluates it.

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
    /// Below this, e^(−x) is too large for the fast sigmoid forms: −`sigmoid_one`, the last
    /// x where their one-step `2ⁿ` scaling is in range and σ(x) = 1/(1 + e^(−x)) is still a
    /// normal number (e^87 = 2^125.5 in f32, e^708 = 2^1021.4 in f64). Above it the fast forms,
    /// a correctly rounded division by 1 + e^(−x), are as accurate as anywhere.
    pub sigmoid_tail: f64,
    /// Beyond this |x| the scaled products with σ(x)·σ(−x) (`math::mul_sigmoid_product`,
    /// `math::mul2_sigmoid_product`) form that factor from the mantissas: e^(−|x|) < 2^−115
    /// there, and a second factor that is small would leave their plain product subnormal.
    pub product_far: f64,
    /// Above this, 1 + e^(−x) rounds to 1 while e^(−x) is still normal: the fast sigmoid
    /// forms clamp x here, so their `2ⁿ` scaling takes one step (|n| ≤ 126 for f32, 1022 for
    /// f64, with `sigmoid_tail` below) and needs no range test.
    pub sigmoid_one: f64,
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
    /// From this x on, erfc(x) is within a few binades of the subnormal range: a product with
    /// it is formed before the scaling there (`math::mul_erfc`).
    pub erfc_subnormal: f64,
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
    sigmoid_tail: -87.0,
    product_far: 80.0,
    // e^−87 = 1.6e−38 (n = −126), below 2^−25.
    sigmoid_one: 87.0,
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
    // erfc(9) = 4.1e−37 ≈ 2⁻¹²¹, five binades above the subnormals.
    erfc_subnormal: 9.0,
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
    sigmoid_tail: -708.0,
    product_far: 700.0,
    // e^−708 = 3.3e−308 (n = −1021), below 2^−54.
    sigmoid_one: 708.0,
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
    // erfc(26) ≈ 2⁻⁹⁸¹, forty binades above the subnormals.
    erfc_subnormal: 26.0,
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
