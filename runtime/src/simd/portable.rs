//! The portable path: 4×f32 and 2×f64 as plain arrays, in safe lane-wise Rust that LLVM
//! vectorises for the build's baseline (SSE2 on x86-64, NEON on aarch64, simd128 on wasm32).
//!
//! No `std::arch`: every operation is a loop over the lanes with no data-dependent branch, so
//! each becomes a few vector instructions. Two operations are written around what the
//! baseline lacks:
//! - **rounding**: SSE2 has no round instruction (std's `round_ties_even` is a libm call
//!   there), so `round` adds and subtracts 1.5·2^mantissa-bits, exact ties-to-even for every
//!   |x| below 2^mantissa-bits (larger values are already integers and pass through);
//! - **fused multiply-add**: without hardware FMA (x86-64 baseline, wasm32) std's `mul_add` is
//!   a libm call of ~20 ns, so `mul_add` rounds twice there ([`Vector::FUSED`] is false); on
//!   aarch64, and where the build enables `fma`, it is fused. The vector math takes the one
//!   exact product it needs (erf's `x² = h + l`) through an FMA-free split when `FUSED` is
//!   false, and its error bounds are tested on this path.
//!
//! The masks are integer lanes, all ones or all zeros, so `select` is three bitwise operations.
//!
//! Why 4×f32 and not 8: one vector is one register of every baseline (SSE2, NEON, simd128), and
//! the drivers work on two vectors at once; twice as many lanes spilled registers on SSE2's
//! sixteen. Why [`Vector::OPAQUE_LOOP`]: in the drivers' loops, lane-wise code is vectorised by
//! LLVM's *loop* vectoriser across loop iterations (lane 0 of four iterations in one register,
//! with a transpose at every load and store), 2–3× slower than the straight-line vector code
//! the SLP vectoriser makes of one body; a loop whose trip count LLVM cannot compute is left
//! to the SLP vectoriser.

use super::{Mask, Sealed, Vector, lit32, lit64};
use core::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Not, Sub};

/// Whether `f32::mul_add` compiles to one instruction on this target.
const HARDWARE_FMA: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));

/// Whether loads quiet signalling NaNs (see `quieted`): everywhere but x86, where the baseline
/// has no IEEE minNum instruction for LLVM to fold a lane test into, and where the quieting
/// cost 1.19× (median over the bench's rows; up to 5× on relu's backward) on this path.
const QUIET_ON_LOAD: bool = !cfg!(any(target_arch = "x86", target_arch = "x86_64"));

/// Whether `round_ties_even` compiles to one instruction on this target.
const HARDWARE_ROUND: bool = cfg!(any(target_arch = "aarch64", target_feature = "sse4.1"));

/// 4×f32, portable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PortableF32([f32; 4]);
/// 2×f64, portable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PortableF64([f64; 2]);
/// Mask of [`PortableF32`]: all-ones / all-zeros `u32` lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortableMask32([u32; 4]);
/// Mask of [`PortableF64`]: all-ones / all-zeros `u64` lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortableMask64([u64; 2]);

impl Sealed for PortableF32 {}
impl Sealed for PortableF64 {}
impl Sealed for PortableMask32 {}
impl Sealed for PortableMask64 {}

/// `[f(0), f(1), f(2), f(3)]`, written out: straight-line code for LLVM's SLP vectoriser. As a
/// loop over the lanes (one per operation, hundreds per kernel) it cost the loop passes, which
/// unrolled each before anything else could work on it, most of the runtime's build time.
#[inline(always)]
fn lanes4<T>(f: impl Fn(usize) -> T) -> [T; 4] {
    [f(0), f(1), f(2), f(3)]
}

/// `[f(0), f(1)]` (see [`lanes4`]).
#[inline(always)]
fn lanes2<T>(f: impl Fn(usize) -> T) -> [T; 2] {
    [f(0), f(1)]
}

macro_rules! portable_mask {
    ($mask:ident, $bits:ty, $lanes:ident) => {
        impl BitAnd for $mask {
            type Output = Self;
            #[inline(always)]
            fn bitand(self, o: Self) -> Self {
                $mask($lanes(|i| self.0[i] & o.0[i]))
            }
        }
        impl BitOr for $mask {
            type Output = Self;
            #[inline(always)]
            fn bitor(self, o: Self) -> Self {
                $mask($lanes(|i| self.0[i] | o.0[i]))
            }
        }
        impl Not for $mask {
            type Output = Self;
            #[inline(always)]
            fn not(self) -> Self {
                $mask($lanes(|i| !self.0[i]))
            }
        }
        impl Mask for $mask {
            #[inline(always)]
            fn any(self) -> bool {
                self.0.iter().fold(0, |a, &b| a | b) != 0
            }
        }
    };
}
portable_mask!(PortableMask32, u32, lanes4);
portable_mask!(PortableMask64, u64, lanes2);

macro_rules! portable_vector {
    (
        $ty:ident, $elem:ty, $bits:ty, $mask:ident, $lanes:expr, $each_lane:ident, $lit:ident,
        mant = $mant:expr, bias = $bias:expr, one_step = $one_step:expr
    ) => {
        impl $ty {
            /// `2^mant + 2^(mant−1)`: added to an integral value of magnitude below
            /// `2^(mant−1)`, it leaves the integer in the low mantissa bits; added and
            /// subtracted, it rounds any |x| < 2^mant to an integer, ties to even.
            const MAGIC: $elem = (3u64 << ($mant - 1)) as $elem;
            /// Mask lane from a bool.
            #[inline(always)]
            fn m(b: bool) -> $bits {
                if b { <$bits>::MAX } else { 0 }
            }
            /// Lane-wise comparison.
            #[inline(always)]
            fn cmp(self, o: Self, f: impl Fn($elem, $elem) -> bool) -> $mask {
                $mask($each_lane(|i| Self::m(f(self.0[i], o.0[i]))))
            }
            /// Lane-wise map.
            #[inline(always)]
            fn each(self, f: impl Fn($elem) -> $elem) -> Self {
                $ty($each_lane(|i| f(self.0[i])))
            }
            /// The lanes of `a`, signalling NaNs made quiet (the quiet bit set, sign and
            /// payload kept); every other value unchanged. Done on load because LLVM turns
            /// "any lane below t" (the math's rare-lane branches) into "the lanes' minimum
            /// below t", and where the target has IEEE minNum (aarch64's `fminnm`) a
            /// signalling NaN in one lane makes that minimum NaN, so the branch was skipped
            /// for the other lanes: σ(−100) next to a signalling NaN came out 0. Integer
            /// operations, which LLVM does not fold away as it does `x + −0`.
            #[inline(always)]
            fn quieted(a: [$elem; $lanes]) -> Self {
                const ABS: $bits = <$bits>::MAX >> 1;
                const INF: $bits = <$elem>::INFINITY.to_bits();
                const QUIET: $bits = 1 << ($mant - 1);
                $ty($each_lane(|i| {
                    let b = a[i].to_bits();
                    let q = if b & ABS > INF { QUIET } else { 0 };
                    <$elem>::from_bits(b | q)
                }))
            }
            /// ⌊self⌋ for lanes holding integers or halves (`ldexp`'s `n/2`).
            #[inline(always)]
            fn floor_half(self) -> Self {
                let r = self.round();
                $ty($each_lane(|i| {
                    if r.0[i] > self.0[i] {
                        r.0[i] - 1.0
                    } else {
                        r.0[i]
                    }
                }))
            }
        }

        impl Add for $ty {
            type Output = Self;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                $ty($each_lane(|i| self.0[i] + o.0[i]))
            }
        }
        impl Sub for $ty {
            type Output = Self;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                $ty($each_lane(|i| self.0[i] - o.0[i]))
            }
        }
        impl Mul for $ty {
            type Output = Self;
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                $ty($each_lane(|i| self.0[i] * o.0[i]))
            }
        }
        impl Div for $ty {
            type Output = Self;
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                $ty($each_lane(|i| self.0[i] / o.0[i]))
            }
        }
        impl Neg for $ty {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                self.each(|v| -v)
            }
        }

        impl Vector for $ty {
            type Elem = $elem;
            type Mask = $mask;
            const LANES: usize = $lanes;
            const FUSED: bool = HARDWARE_FMA;
            const OPAQUE_LOOP: bool = true;

            #[inline(always)]
            unsafe fn load(ptr: *const $elem) -> Self {
                // SAFETY: the caller guarantees LANES readable elements; the path needs no CPU
                // feature.
                let a = unsafe { ptr.cast::<[$elem; $lanes]>().read_unaligned() };
                if QUIET_ON_LOAD {
                    Self::quieted(a)
                } else {
                    $ty(a)
                }
            }
            #[inline(always)]
            unsafe fn store(self, ptr: *mut $elem) {
                // SAFETY: the caller guarantees LANES writable elements.
                unsafe { ptr.cast::<[$elem; $lanes]>().write_unaligned(self.0) }
            }
            #[inline(always)]
            fn splat_elem(self, v: $elem) -> Self {
                $ty([v; $lanes])
            }
            #[inline(always)]
            fn lit(self, single: f32, double: f64) -> Self {
                self.splat_elem($lit(single, double))
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                if HARDWARE_FMA {
                    $ty($each_lane(|i| self.0[i].mul_add(a.0[i], b.0[i])))
                } else {
                    $ty($each_lane(|i| self.0[i] * a.0[i] + b.0[i]))
                }
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                $ty($each_lane(|i| {
                    if self.0[i] > o.0[i] {
                        self.0[i]
                    } else {
                        o.0[i]
                    }
                }))
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                $ty($each_lane(|i| {
                    if self.0[i] < o.0[i] {
                        self.0[i]
                    } else {
                        o.0[i]
                    }
                }))
            }
            #[inline(always)]
            fn abs(self) -> Self {
                self.each(|v| v.abs())
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                self.each(|v| v.sqrt())
            }
            #[inline(always)]
            fn round(self) -> Self {
                if HARDWARE_ROUND {
                    return self.each(|v| v.round_ties_even());
                }
                let magic = Self::MAGIC;
                self.each(|v| {
                    let a = v.abs();
                    // |x| ≥ 2^mant (and NaN, ±inf) are left as they are.
                    let r = if a < magic { (a + magic) - magic } else { a };
                    r.copysign(v)
                })
            }
            #[inline(always)]
            fn round_small(self) -> Self {
                if HARDWARE_ROUND {
                    return self.each(|v| v.round_ties_even());
                }
                // |x| ≤ 2^(mant−1): x + MAGIC lies in [2^mant, 2^(mant+1)), where the spacing
                // is 1, so the sum rounds x to an integer (ties to even) and the subtraction is
                // exact.
                let magic = Self::MAGIC;
                self.each(|v| (v + magic) - magic)
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                $ty($each_lane(|i| self.0[i].copysign(sign.0[i])))
            }
            #[inline(always)]
            fn lt(self, o: Self) -> $mask {
                self.cmp(o, |a, b| a < b)
            }
            #[inline(always)]
            fn le(self, o: Self) -> $mask {
                self.cmp(o, |a, b| a <= b)
            }
            #[inline(always)]
            fn gt(self, o: Self) -> $mask {
                self.cmp(o, |a, b| a > b)
            }
            #[inline(always)]
            fn ge(self, o: Self) -> $mask {
                self.cmp(o, |a, b| a >= b)
            }
            #[inline(always)]
            fn eq(self, o: Self) -> $mask {
                self.cmp(o, |a, b| a == b)
            }
            #[inline(always)]
            fn is_nan(self) -> $mask {
                self.cmp(self, |a, b| a != b)
            }
            #[inline(always)]
            fn unordered(self, other: Self) -> $mask {
                self.cmp(other, |a, b| a.is_nan() | b.is_nan())
            }
            #[inline(always)]
            fn first_lanes(self, n: usize) -> $mask {
                $mask($each_lane(|i| Self::m(i < n)))
            }
            #[inline(always)]
            fn select(m: $mask, a: Self, b: Self) -> Self {
                $ty($each_lane(|i| {
                    <$elem>::from_bits((m.0[i] & a.0[i].to_bits()) | (!m.0[i] & b.0[i].to_bits()))
                }))
            }
            #[inline(always)]
            fn pow2i(self) -> Self {
                // bits(n + MAGIC) − bits(MAGIC) = n for integral |n| < 2^(mant−1): integer
                // arithmetic only, which every baseline vectorises.
                let base = Self::MAGIC.to_bits().wrapping_sub($bias);
                self.each(|n| {
                    let biased = (n + Self::MAGIC).to_bits().wrapping_sub(base);
                    <$elem>::from_bits(biased << $mant)
                })
            }
            #[inline(always)]
            fn round_pow2(self, k: i32) -> (Self, Self) {
                if HARDWARE_ROUND {
                    let n = self.round_small();
                    let scale = if k == 0 {
                        n
                    } else {
                        n + self.splat(f64::from(k))
                    };
                    return (n, scale.pow2i());
                }
                // t = x + MAGIC holds n = round(x) in its low mantissa bits (see
                // `round_small`), so 2^(n + k) is t's bits shifted, as `pow2i` forms it from
                // n + MAGIC = t: integer operations instead of a second addition of MAGIC.
                let magic = Self::MAGIC;
                let base = magic.to_bits().wrapping_sub($bias).wrapping_sub(k as $bits);
                let t = self.each(|v| v + magic);
                let n = t.each(|v| v - magic);
                let scale = t.each(|v| <$elem>::from_bits(v.to_bits().wrapping_sub(base) << $mant));
                (n, scale)
            }
            #[inline(always)]
            fn ldexp(self, n: Self) -> Self {
                // Out-of-contract n (beyond twice the bias, ±inf, NaN) needs no clamp: `pow2i`'s
                // integer arithmetic wraps, so those lanes get unspecified values, never a panic
                // (the callers select them away).
                // One normal power of two where every |n| fits one step; otherwise two.
                if n.abs().gt(self.splat($one_step)).any() {
                    let half = (n * self.splat(0.5)).floor_half();
                    self * half.pow2i() * (n - half).pow2i()
                } else {
                    self * n.pow2i()
                }
            }
            #[inline(always)]
            fn frexp(self) -> (Self, Self) {
                // The biased exponent k as the float 2^mant + k (an integer in the mantissa),
                // minus 2^mant + bias: no integer-to-float conversion, which SSE2 lacks for
                // 64-bit lanes.
                let two_mant = (1u64 << $mant) as $elem;
                let m = self.each(|v| {
                    let bits = v.to_bits();
                    let frac = bits & ((1 << $mant) - 1);
                    <$elem>::from_bits(frac | (($bias as $bits) << $mant))
                });
                let e = self.each(|v| {
                    let k = v.to_bits() >> $mant;
                    <$elem>::from_bits(k | two_mant.to_bits()) - (two_mant + $bias as $elem)
                });
                (m, e)
            }
            #[inline(always)]
            fn sum_f64(self) -> f64 {
                self.0.iter().map(|&v| v as f64).sum()
            }
            #[inline(always)]
            fn lane(self, i: usize) -> $elem {
                self.0[i]
            }
        }
    };
}

portable_vector!(
    PortableF32,
    f32,
    u32,
    PortableMask32,
    4,
    lanes4,
    lit32,
    mant = 23,
    bias = 127,
    one_step = 126.0
);
portable_vector!(
    PortableF64,
    f64,
    u64,
    PortableMask64,
    2,
    lanes2,
    lit64,
    mant = 52,
    bias = 1023,
    one_step = 1022.0
);
