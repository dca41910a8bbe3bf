//! Double-double arithmetic (a value is `hi + lo`, about 106 bits): the high-precision
//! reference of the macro's error analysis (`analysis`), in pure Rust.
//!
//! Every function here is accurate to about 1e−30 relative over the range the analysis samples
//! (f32 inputs, so |x| ≤ 3.4e38), except `sin` and `cos` of |x| > 1e15, which fall back to
//! f64 (the reduction would need more bits of π than three doubles). A non-finite result is
//! returned as `hi` with `lo = 0`.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// A double-double number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dd {
    pub hi: f64,
    pub lo: f64,
}

fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

fn quick_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    if !s.is_finite() {
        return Dd::from(s);
    }
    Dd {
        hi: s,
        lo: b - (s - a),
    }
}

const LN2: Dd = Dd {
    hi: std::f64::consts::LN_2,
    lo: 2.319_046_813_846_299_6e-17,
};
/// π/2 in three parts (for reducing arguments up to 1e15).
const PIO2: [f64; 3] = [
    std::f64::consts::FRAC_PI_2,
    6.123_233_995_736_766e-17,
    -1.497_384_904_859_169_8e-33,
];
const FRAC_1_SQRT_PI: Dd = Dd {
    hi: 0.564_189_583_547_756_3,
    lo: 7.667_729_806_582_94e-18,
};

impl From<f64> for Dd {
    fn from(v: f64) -> Dd {
        Dd { hi: v, lo: 0.0 }
    }
}

impl Add for Dd {
    type Output = Dd;
    fn add(self, o: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, o.hi);
        if !s.is_finite() {
            return Dd::from(s);
        }
        let (t, f) = two_sum(self.lo, o.lo);
        let r = quick_two_sum(s, e + t);
        quick_two_sum(r.hi, r.lo + f)
    }
}

impl Neg for Dd {
    type Output = Dd;
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl Sub for Dd {
    type Output = Dd;
    fn sub(self, o: Dd) -> Dd {
        self + (-o)
    }
}

impl Mul for Dd {
    type Output = Dd;
    fn mul(self, o: Dd) -> Dd {
        let p = self.hi * o.hi;
        if !p.is_finite() || p == 0.0 {
            return Dd::from(p);
        }
        let e = self.hi.mul_add(o.hi, -p) + (self.hi * o.lo + self.lo * o.hi);
        quick_two_sum(p, e)
    }
}

impl Div for Dd {
    type Output = Dd;
    fn div(self, o: Dd) -> Dd {
        let q1 = self.hi / o.hi;
        if !q1.is_finite() || q1 == 0.0 {
            return Dd::from(q1);
        }
        let r = self - o * Dd::from(q1);
        let q2 = r.hi / o.hi;
        let r = r - o * Dd::from(q2);
        let q3 = r.hi / o.hi;
        quick_two_sum(q1, q2) + Dd::from(q3)
    }
}

impl Dd {
    pub const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };
    pub const ONE: Dd = Dd { hi: 1.0, lo: 0.0 };

    fn is_finite(self) -> bool {
        self.hi.is_finite()
    }

    pub fn abs(self) -> Dd {
        if self.hi < 0.0 { -self } else { self }
    }

    /// `self · 2^k`, exact where no part underflows.
    fn ldexp(self, k: i32) -> Dd {
        let (k1, k2) = (k / 2, k - k / 2);
        let (s1, s2) = (2f64.powi(k1), 2f64.powi(k2));
        Dd {
            hi: self.hi * s1 * s2,
            lo: self.lo * s1 * s2,
        }
    }

    pub fn sqrt(self) -> Dd {
        if self.hi <= 0.0 || !self.is_finite() {
            return Dd::from(self.hi.sqrt());
        }
        let y = Dd::from(self.hi.sqrt());
        y + (self - y * y) / (y + y)
    }

    /// `exp(r) − 1` for |r| < 0.5: Taylor series of r/512, then nine squarings in the
    /// `exp − 1` form (s ↦ s(s + 2)), which keeps tiny results exact.
    fn expm1_small(self) -> Dd {
        let r = self.ldexp(-9);
        let mut term = r;
        let mut s = r;
        for k in 2..=16 {
            term = term * r / Dd::from(k as f64);
            s = s + term;
        }
        for _ in 0..9 {
            s = s * (s + Dd::from(2.0));
        }
        s
    }

    pub fn exp(self) -> Dd {
        if self.hi.is_nan() {
            return self;
        }
        if self.hi > 709.0 {
            return Dd::from(f64::INFINITY);
        }
        if self.hi < -745.0 {
            return Dd::ZERO;
        }
        let k = (self.hi / LN2.hi).round();
        let r = self - LN2 * Dd::from(k);
        // exp(r)·2^k, split so that results near the subnormal range keep both parts.
        let e = r.expm1_small() + Dd::ONE;
        e.ldexp(k as i32)
    }

    pub fn exp_m1(self) -> Dd {
        if self.hi.abs() < 0.5 {
            self.expm1_small()
        } else {
            self.exp() - Dd::ONE
        }
    }

    pub fn ln(self) -> Dd {
        if self.hi <= 0.0 || !self.is_finite() {
            return Dd::from(self.hi.ln());
        }
        let mut y = Dd::from(self.hi.ln());
        for _ in 0..2 {
            y = y + self * (-y).exp() - Dd::ONE;
        }
        y
    }

    pub fn ln_1p(self) -> Dd {
        if self.hi.abs() < 1e-2 {
            // 2·atanh(z), z = x/(2 + x), |z| < 0.005.
            let z = self / (Dd::from(2.0) + self);
            let z2 = z * z;
            let mut p = z;
            let mut s = z;
            for k in 1..=9 {
                p = p * z2;
                s = s + p / Dd::from((2 * k + 1) as f64);
            }
            s + s
        } else {
            (Dd::ONE + self).ln()
        }
    }

    /// sin and cos of |r| ≤ π/4 by their Taylor series.
    fn sin_cos_small(r: Dd) -> (Dd, Dd) {
        let r2 = r * r;
        let (mut s, mut c) = (r, Dd::ONE);
        let (mut ts, mut tc) = (r, Dd::ONE);
        for k in 1..=15 {
            let k = k as f64;
            ts = -(ts * r2) / Dd::from((2.0 * k) * (2.0 * k + 1.0));
            tc = -(tc * r2) / Dd::from((2.0 * k - 1.0) * (2.0 * k));
            s = s + ts;
            c = c + tc;
        }
        (s, c)
    }

    pub fn sin_cos(self) -> (Dd, Dd) {
        if !self.is_finite() {
            return (Dd::from(f64::NAN), Dd::from(f64::NAN));
        }
        if self.hi.abs() > 1e15 {
            return (Dd::from(self.hi.sin()), Dd::from(self.hi.cos()));
        }
        let k = (self.hi / PIO2[0]).round();
        let kd = Dd::from(k);
        let r = self - kd * Dd::from(PIO2[0]) - kd * Dd::from(PIO2[1]) - kd * Dd::from(PIO2[2]);
        let (s, c) = Dd::sin_cos_small(r);
        match (k as i64).rem_euclid(4) {
            0 => (s, c),
            1 => (c, -s),
            2 => (-s, -c),
            _ => (-c, s),
        }
    }

    pub fn tanh(self) -> Dd {
        if self.hi.is_nan() {
            return self;
        }
        let a = self.abs();
        let t = if a.hi < 0.5 {
            let e = (a + a).exp_m1();
            e / (e + Dd::from(2.0))
        } else {
            let e = (-(a + a)).exp();
            (Dd::ONE - e) / (Dd::ONE + e)
        };
        if self.hi < 0.0 { -t } else { t }
    }

    pub fn sigmoid(self) -> Dd {
        if self.hi >= 0.0 {
            Dd::ONE / (Dd::ONE + (-self).exp())
        } else {
            let e = self.exp();
            e / (Dd::ONE + e)
        }
    }

    pub fn softplus(self) -> Dd {
        let m = if self.hi > 0.0 { self } else { Dd::ZERO };
        m + (-self.abs()).exp().ln_1p()
    }

    /// erf(x) for 0 ≤ x < 3.5: 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1)/(2n+1)!! (terms all positive).
    fn erf_series(x: Dd) -> Dd {
        let x2 = x * x;
        let mut term = x;
        let mut s = x;
        for n in 1..=120 {
            term = term * (x2 + x2) / Dd::from((2 * n + 1) as f64);
            s = s + term;
            if term.hi < 1e-34 * s.hi {
                break;
            }
        }
        (FRAC_1_SQRT_PI + FRAC_1_SQRT_PI) * (-x2).exp() * s
    }

    /// erfc(x) for x ≥ 3.5, by the continued fraction (its terms from `erfc_terms`)
    /// e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))).
    fn erfc_fraction(x: Dd) -> Dd {
        if x.hi > 27.3 {
            return Dd::ZERO;
        }
        let mut f = x;
        for n in (1..=erfc_terms(x.hi)).rev() {
            f = x + Dd::from(n as f64 / 2.0) / f;
        }
        FRAC_1_SQRT_PI * (-(x * x)).exp() / f
    }

    pub fn erf(self) -> Dd {
        if self.hi.is_nan() {
            return self;
        }
        let a = self.abs();
        let r = if a.hi < 3.5 {
            Dd::erf_series(a)
        } else {
            Dd::ONE - Dd::erfc_fraction(a)
        };
        if self.hi < 0.0 { -r } else { r }
    }

    pub fn erfc(self) -> Dd {
        if self.hi.is_nan() {
            return self;
        }
        let a = self.abs();
        let r = if a.hi < 3.5 {
            Dd::ONE - Dd::erf_series(a)
        } else {
            Dd::erfc_fraction(a)
        };
        if self.hi < 0.0 { Dd::from(2.0) - r } else { r }
    }

    /// `a^e` with Rust's `powf` semantics (a negative base needs an integer exponent).
    pub fn powf(self, e: Dd) -> Dd {
        let (a, eh) = (self.hi, e.hi);
        if eh == 0.0 || a == 1.0 {
            return Dd::ONE;
        }
        if a.is_nan() || eh.is_nan() || !a.is_finite() || a == 0.0 || !eh.is_finite() {
            return Dd::from(a.powf(eh));
        }
        let mag = (e * self.abs().ln()).exp();
        if a > 0.0 {
            mag
        } else if eh.fract() != 0.0 {
            Dd::from(f64::NAN)
        } else if (eh / 2.0).fract() != 0.0 {
            -mag
        } else {
            mag
        }
    }

    pub fn powi(self, n: i32) -> Dd {
        let mut base = self;
        let mut m = n.unsigned_abs();
        let mut r = Dd::ONE;
        while m > 0 {
            if m & 1 == 1 {
                r = r * base;
            }
            base = base * base;
            m >>= 1;
        }
        if n < 0 { Dd::ONE / r } else { r }
    }
}

/// How many terms of erfc's continued fraction reach double-double accuracy at x ≥ 3.5: the
/// fraction converges faster as x grows (160 at x = 3.5 was the fixed count; the tail after n
/// terms shrinks like e^(−2x·√(2n)), so 1e−34 needs about (39/x)²/2 of them), with a margin
/// of 40% and 24 terms (the test `the_fraction_needs_no_more_terms` checks it against 400).
fn erfc_terms(x: f64) -> usize {
    let n = (39.0 / x).powi(2) / 2.0;
    ((1.4 * n) as usize + 24).min(160)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `erfc_terms` against 400 terms of the fraction, over [3.5, 27.3] in steps of 1/64: the
    /// same value to 1e−31 relative (double-double's own rounding is 1e−32).
    #[test]
    fn the_fraction_needs_no_more_terms() {
        let fraction = |x: Dd, terms: usize| {
            let mut f = x;
            for n in (1..=terms).rev() {
                f = x + Dd::from(n as f64 / 2.0) / f;
            }
            f
        };
        let mut worst = (0.0, 0.0);
        for i in 0..=(23.8 * 64.0) as usize {
            let x = Dd::from(3.5 + i as f64 / 64.0);
            let (short, long) = (fraction(x, erfc_terms(x.hi)), fraction(x, 400));
            let d = ((short - long) / long).hi.abs();
            if d > worst.0 {
                worst = (d, x.hi);
            }
        }
        assert!(worst.0 < 1e-31, "{worst:?}");
    }

    /// Relative distance of a double-double from a reference given as two f64 parts.
    fn rel(got: Dd, want_hi: f64, want_lo: f64) -> f64 {
        let d = (got
            - Dd {
                hi: want_hi,
                lo: want_lo,
            })
        .hi;
        (d / want_hi).abs()
    }

    // References: mpmath at 60 digits (each argument the f64 written), as hi + lo: hi the f64
    // nearest the value, lo the f64 nearest the rest, printed by
    // `python3 -c "import mpmath as m; m.mp.dps=60; v=m.exp(10); h=float(v); print(h, float(v-h))"`.
    #[test]
    fn transcendental_functions_match_mpmath_to_1e_29() {
        let cases: [(&str, Dd, f64, f64); 16] = [
            (
                "exp(10)",
                Dd::from(10.0).exp(),
                22026.465794806718,
                -1.3780134700517372e-12,
            ),
            (
                "exp(-50)",
                Dd::from(-50.0).exp(),
                1.9287498479639178e-22,
                -3.7546101071240096e-39,
            ),
            (
                "expm1(1e-10)",
                Dd::from(1e-10).exp_m1(),
                1.00000000005e-10,
                3.3900133221217734e-27,
            ),
            (
                "ln(3)",
                Dd::from(3.0).ln(),
                1.0986122886681098,
                -9.07129723500153e-17,
            ),
            (
                "ln1p(1e-5)",
                Dd::from(1e-5).ln_1p(),
                9.999950000333332e-06,
                -2.3868637284493416e-22,
            ),
            (
                "sin(100)",
                Dd::from(100.0).sin_cos().0,
                -0.5063656411097588,
                -3.050947053792115e-18,
            ),
            (
                "sin(1e10)",
                Dd::from(1e10).sin_cos().0,
                -0.4875060250875107,
                -1.665199285246269e-17,
            ),
            (
                "cos(1e-3)",
                Dd::from(1e-3).sin_cos().1,
                0.9999995000000417,
                -7.831485455398128e-18,
            ),
            (
                "tanh(0.1)",
                Dd::from(0.1).tanh(),
                0.09966799462495582,
                3.542433877641546e-18,
            ),
            (
                "sigmoid(-30)",
                Dd::from(-30.0).sigmoid(),
                9.357622968839299e-14,
                8.837142511495094e-31,
            ),
            (
                "erf(0.5)",
                Dd::from(0.5).erf(),
                0.5204998778130465,
                1.900077467916287e-17,
            ),
            (
                "erf(3)",
                Dd::from(3.0).erf(),
                0.9999779095030014,
                5.363397058636269e-17,
            ),
            (
                "erfc(3.6)",
                Dd::from(3.6).erfc(),
                3.5586299300768504e-07,
                2.3020828338756545e-23,
            ),
            (
                "erfc(4)",
                Dd::from(4.0).erfc(),
                1.541725790028002e-08,
                -1.1417872168371026e-24,
            ),
            (
                "erfc(5)",
                Dd::from(5.0).erfc(),
                1.537459794428035e-12,
                -8.569418222079096e-29,
            ),
            (
                "sqrt(2)",
                Dd::from(2.0).sqrt(),
                std::f64::consts::SQRT_2,
                -9.667293313452913e-17,
            ),
        ];
        for (name, got, hi, lo) in cases {
            let r = rel(got, hi, lo);
            assert!(
                r < 1e-29,
                "{name}: {got:?} vs {hi} + {lo}: relative error {r:e}"
            );
        }
    }

    #[test]
    fn special_values_follow_ieee_and_rust() {
        assert_eq!(Dd::from(1e3).exp().hi, f64::INFINITY);
        assert_eq!(Dd::from(-1e3).exp().hi, 0.0);
        assert!(Dd::from(-1.0).ln().hi.is_nan());
        assert_eq!(Dd::from(0.0).ln().hi, f64::NEG_INFINITY);
        assert!(Dd::from(-2.0).powf(Dd::from(0.5)).hi.is_nan());
        assert_eq!(Dd::from(-2.0).powf(Dd::from(3.0)).hi, -8.0);
        assert_eq!(Dd::from(f64::NAN).powf(Dd::ZERO).hi, 1.0);
        assert_eq!(Dd::from(30.0).erfc().hi, 0.0);
        assert_eq!(Dd::from(-30.0).erfc().hi, 2.0);
        assert_eq!(Dd::from(2.0).powi(-2).hi, 0.25);
    }
}
