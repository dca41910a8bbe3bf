//! A one-lane "vector" over plain `f32` / `f64`: the scalar API (`value`, `derivative`,
//! `second_derivative`) and the free functions (`actigen::sigmoid`, …) evaluate the formula
//! through it, with a fused `mul_add` on every target.

use super::{Mask, Sealed, Vector, lit32, lit64};
use core::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Not, Sub};

/// One lane of `f32` or `f64`, implementing [`Vector`] portably.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scalar<T>(pub T);

/// The mask of [`Scalar`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScalarMask(pub bool);

impl BitAnd for ScalarMask {
    type Output = Self;
    #[inline(always)]
    fn bitand(self, o: Self) -> Self {
        ScalarMask(self.0 & o.0)
    }
}
impl BitOr for ScalarMask {
    type Output = Self;
    #[inline(always)]
    fn bitor(self, o: Self) -> Self {
        ScalarMask(self.0 | o.0)
    }
}
impl Not for ScalarMask {
    type Output = Self;
    #[inline(always)]
    fn not(self) -> Self {
        ScalarMask(!self.0)
    }
}
impl Sealed for ScalarMask {}
impl Sealed for Scalar<f32> {}
impl Sealed for Scalar<f64> {}
impl Mask for ScalarMask {
    #[inline(always)]
    fn any(self) -> bool {
        self.0
    }
}

macro_rules! scalar_ops {
    ($t:ty) => {
        impl Add for Scalar<$t> {
            type Output = Self;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                Scalar(self.0 + o.0)
            }
        }
        impl Sub for Scalar<$t> {
            type Output = Self;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                Scalar(self.0 - o.0)
            }
        }
        impl Mul for Scalar<$t> {
            type Output = Self;
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                Scalar(self.0 * o.0)
            }
        }
        impl Div for Scalar<$t> {
            type Output = Self;
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                Scalar(self.0 / o.0)
            }
        }
        impl Neg for Scalar<$t> {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                Scalar(-self.0)
            }
        }
    };
}
scalar_ops!(f32);
scalar_ops!(f64);

/// Per-type constants of the IEEE formats, so one `impl Vector` covers both.
macro_rules! scalar_vector {
    ($t:ty, $bits:ty, $lit:ident, $mant:expr, $bias:expr) => {
        impl Vector for Scalar<$t> {
            type Elem = $t;
            type Mask = ScalarMask;
            const LANES: usize = 1;
            const FUSED: bool = true;

            #[inline(always)]
            unsafe fn load(ptr: *const $t) -> Self {
                // SAFETY: the caller guarantees `ptr` is valid for one read.
                Scalar(unsafe { ptr.read_unaligned() })
            }
            #[inline(always)]
            unsafe fn store(self, ptr: *mut $t) {
                // SAFETY: the caller guarantees `ptr` is valid for one write.
                unsafe { ptr.write_unaligned(self.0) }
            }
            #[inline(always)]
            fn splat_elem(self, v: $t) -> Self {
                Scalar(v)
            }
            #[inline(always)]
            fn lit(self, single: f32, double: f64) -> Self {
                let _ = (single, double);
                Scalar($lit(single, double))
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                Scalar(self.0.mul_add(a.0, b.0))
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                if self.0 > o.0 { self } else { o }
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                if self.0 < o.0 { self } else { o }
            }
            #[inline(always)]
            fn abs(self) -> Self {
                Scalar(self.0.abs())
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                Scalar(self.0.sqrt())
            }
            #[inline(always)]
            fn round(self) -> Self {
                Scalar(self.0.round_ties_even())
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                Scalar(self.0.copysign(sign.0))
            }
            #[inline(always)]
            fn lt(self, o: Self) -> ScalarMask {
                ScalarMask(self.0 < o.0)
            }
            #[inline(always)]
            fn le(self, o: Self) -> ScalarMask {
                ScalarMask(self.0 <= o.0)
            }
            #[inline(always)]
            fn gt(self, o: Self) -> ScalarMask {
                ScalarMask(self.0 > o.0)
            }
            #[inline(always)]
            fn ge(self, o: Self) -> ScalarMask {
                ScalarMask(self.0 >= o.0)
            }
            #[inline(always)]
            fn eq(self, o: Self) -> ScalarMask {
                ScalarMask(self.0 == o.0)
            }
            #[inline(always)]
            fn is_nan(self) -> ScalarMask {
                ScalarMask(self.0.is_nan())
            }
            #[inline(always)]
            fn first_lanes(self, n: usize) -> ScalarMask {
                ScalarMask(n > 0)
            }
            #[inline(always)]
            fn select(m: ScalarMask, a: Self, b: Self) -> Self {
                if m.0 { a } else { b }
            }
            #[inline(always)]
            fn pow2i(self) -> Self {
                // Wrapping: an out-of-range n (±inf saturates the cast) gives an unspecified
                // value, never an overflow panic.
                let biased = (self.0 as i64).wrapping_add($bias) as $bits;
                Scalar(<$t>::from_bits(biased << $mant))
            }
            #[inline(always)]
            fn ldexp(self, n: Self) -> Self {
                // Two steps so that each factor is a normal power of two. Out-of-contract n
                // is clamped first (a NaN n casts to 0), so the integer arithmetic of `pow2i`
                // cannot overflow.
                let limit = (4 * $bias) as $t;
                let n = n.0.clamp(-limit, limit);
                let half = (n * 0.5).floor();
                self * Scalar(half).pow2i() * Scalar(n - half).pow2i()
            }
            #[inline(always)]
            fn frexp(self) -> (Self, Self) {
                let bits = self.0.to_bits();
                let e = ((bits >> $mant) as i64) - $bias;
                let m = <$t>::from_bits((bits & ((1 << $mant) - 1)) | (($bias as $bits) << $mant));
                (Scalar(m), Scalar(e as $t))
            }
            #[inline(always)]
            fn sum_f64(self) -> f64 {
                self.0 as f64
            }
            #[inline(always)]
            fn lane(self, _i: usize) -> $t {
                self.0
            }
        }
    };
}

scalar_vector!(f32, u32, lit32, 23, 127);
scalar_vector!(f64, u64, lit64, 52, 1023);
