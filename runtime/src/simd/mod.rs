//! The vector layer: one trait, three instruction sets.
//!
//! Design (after memchr's `vector.rs` and pulp's ISA tokens):
//! - [`Vector`] is implemented for a 1-lane portable type ([`Scalar`]), for AVX2+FMA
//!   (8×f32, 4×f64) and for AVX-512F (16×f32, 8×f64). Kernels and the vector math are written
//!   once, generic over it.
//! - A vector value can only be created from memory by [`Vector::load`] (an `unsafe fn` whose
//!   contract includes "the CPU has this ISA"), or from another vector of the same type
//!   ([`Vector::splat`], arithmetic). Owning a value therefore proves the CPU supports its
//!   instructions, which is why every other method is safe to call.
//! - All `unsafe` code of the crate lives in this module and in the (private) slice drivers.
//! - [`Element`], [`Vector`] and [`Mask`] are **sealed**: they carry safety obligations (a
//!   vector value proves CPU support; `LANES` sizes the drivers' stack buffers) that a safe
//!   implementation elsewhere could break, so only this crate implements them. Size assumptions
//!   are compile-time assertions (`const { assert!(V::LANES <= MAX_LANES) }`), not comments.

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use core::fmt::Debug;
use core::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Not, Sub};

pub use portable::Scalar;
#[cfg(target_arch = "x86_64")]
pub use x86::{Avx2F32, Avx2F64, Avx512F32, Avx512F64};

/// The most lanes any [`Vector`] has (AVX-512 f32): the size of the drivers' stack buffers for
/// tails, asserted at compile time wherever a buffer is used.
pub(crate) const MAX_LANES: usize = 16;

/// The seal: a public trait in a private module, so the traits below can be named and used
/// outside this crate, but not implemented there.
mod sealed {
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

impl Sealed for f32 {}
impl Sealed for f64 {}

/// A lane mask produced by vector comparisons. Sealed: implemented only by this crate's masks.
pub trait Mask:
    Sealed + Copy + BitAnd<Output = Self> + BitOr<Output = Self> + Not<Output = Self>
{
    /// True if any lane is set.
    fn any(self) -> bool;
}

/// A floating-point element type the kernels are generated for: `f32` or `f64`.
///
/// Sealed: the vector math reads its constants ([`Element::MATH`]) and the drivers rely on
/// them, so no other type can implement it.
pub trait Element:
    Sealed
    + Copy
    + Debug
    + PartialOrd
    + Default
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// Name of the type (`"f32"` or `"f64"`).
    const NAME: &'static str;
    /// Zero.
    const ZERO: Self;
    /// One.
    const ONE: Self;
    /// The largest finite value.
    const MAX: Self;
    /// Positive infinity.
    const INFINITY: Self;
    /// The difference between 1 and the next larger value.
    const EPSILON: Self;
    /// The smallest positive normal value.
    const MIN_POSITIVE: Self;
    /// Constants of the vector math for this precision.
    const MATH: &'static crate::math::Table;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// True for NaN.
    fn is_nan(self) -> bool;
}

impl Element for f32 {
    const NAME: &'static str = "f32";
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const MAX: Self = f32::MAX;
    const INFINITY: Self = f32::INFINITY;
    const EPSILON: Self = f32::EPSILON;
    const MIN_POSITIVE: Self = f32::MIN_POSITIVE;
    const MATH: &'static crate::math::Table = &crate::math::TABLE_F32;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

impl Element for f64 {
    const NAME: &'static str = "f64";
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const MAX: Self = f64::MAX;
    const INFINITY: Self = f64::INFINITY;
    const EPSILON: Self = f64::EPSILON;
    const MIN_POSITIVE: Self = f64::MIN_POSITIVE;
    const MATH: &'static crate::math::Table = &crate::math::TABLE_F64;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

/// A SIMD vector of [`Element`]s.
///
/// Sealed: implemented only by this crate's vector types ([`Scalar`], and on x86-64 the AVX2
/// and AVX-512 types), because the drivers' `unsafe` code trusts the contract below.
///
/// # Contract for implementors
/// A value of an implementing type must only exist on a CPU that supports the instructions
/// its methods use. Implementations uphold this by creating values only in [`Vector::load`]
/// (whose caller promises CPU support) and from other values.
///
/// # Semantics shared by every implementation
/// - Arithmetic, `mul_add` and `sqrt` are IEEE-754 correctly rounded (`mul_add` fused).
/// - [`Vector::max`] / [`Vector::min`] return `other` when either operand is NaN (x86
///   semantics); `a.max(x)` therefore propagates a NaN `x`.
/// - Comparisons are ordered: false when either operand is NaN.
pub trait Vector:
    Sealed
    + Copy
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The element type.
    type Elem: Element;
    /// The comparison mask type.
    type Mask: Mask;
    /// Number of lanes, between 1 and 16 (asserted at compile time where it matters).
    const LANES: usize;

    /// Loads `LANES` elements from `ptr` (unaligned).
    ///
    /// # Safety
    /// `ptr` must be valid for reading `LANES` elements, and the CPU must support this
    /// vector type's instruction set.
    unsafe fn load(ptr: *const Self::Elem) -> Self;
    /// Stores `LANES` elements to `ptr` (unaligned).
    ///
    /// # Safety
    /// `ptr` must be valid for writing `LANES` elements.
    unsafe fn store(self, ptr: *mut Self::Elem);

    /// A vector of this type with every lane equal to `v`.
    fn splat_elem(self, v: Self::Elem) -> Self;
    /// A vector of this type with every lane equal to `v` rounded to the element type.
    #[inline(always)]
    fn splat(self, v: f64) -> Self {
        self.splat_elem(Self::Elem::from_f64(v))
    }
    /// A literal: `single` for `f32` vectors, `double` for `f64` vectors (each the literal
    /// rounded once from its decimal text).
    fn lit(self, single: f32, double: f64) -> Self;

    /// `self * a + b` with a single rounding.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// Maximum; returns `other` if either is NaN.
    fn max(self, other: Self) -> Self;
    /// Minimum; returns `other` if either is NaN.
    fn min(self, other: Self) -> Self;
    /// Absolute value (clears the sign bit).
    fn abs(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Rounds to the nearest integer, ties to even.
    fn round(self) -> Self;
    /// Copies the sign bit of `sign` onto `self`.
    fn copysign(self, sign: Self) -> Self;

    /// `self < other`.
    fn lt(self, other: Self) -> Self::Mask;
    /// `self <= other`.
    fn le(self, other: Self) -> Self::Mask;
    /// `self > other`.
    fn gt(self, other: Self) -> Self::Mask;
    /// `self >= other`.
    fn ge(self, other: Self) -> Self::Mask;
    /// `self == other`.
    fn eq(self, other: Self) -> Self::Mask;
    /// True in lanes holding NaN.
    fn is_nan(self) -> Self::Mask;
    /// True in the first `n` lanes.
    fn first_lanes(self, n: usize) -> Self::Mask;
    /// Lane-wise `if mask { a } else { b }`.
    fn select(mask: Self::Mask, a: Self, b: Self) -> Self;

    /// `2^self` for integral lanes in the normal exponent range of the element type
    /// (−126..=127 for f32, −1022..=1023 for f64).
    fn pow2i(self) -> Self;
    /// `self · 2^n` for integral `n` with |n| at most twice the exponent bias; results in the
    /// subnormal range are rounded at most twice, overflow gives ±inf. For any other `n`
    /// (larger, ±inf, NaN) the lane's value is unspecified, without panic or undefined
    /// behaviour: callers select such lanes away.
    fn ldexp(self, n: Self) -> Self;
    /// For positive, finite, normal lanes: `(m, e)` with `self = m · 2^e`, `1 ≤ m < 2`.
    fn frexp(self) -> (Self, Self);

    /// The lanes, summed in `f64` (exactly rounded per addition, in lane order).
    fn sum_f64(self) -> f64;
    /// `f` applied to each lane in turn (scalar code: for rare slow paths only).
    fn map_lanes(self, f: impl Fn(Self::Elem) -> Self::Elem) -> Self {
        const { assert!(Self::LANES <= MAX_LANES) };
        let mut a = [Self::Elem::ZERO; MAX_LANES];
        for (i, v) in a.iter_mut().enumerate().take(Self::LANES) {
            *v = f(self.lane(i));
        }
        // SAFETY: `a` holds MAX_LANES ≥ LANES elements (asserted above); `self` proves the CPU
        // supports the ISA.
        unsafe { Self::load(a.as_ptr()) }
    }
    /// Lane `i` (for tests and tails; slow).
    fn lane(self, i: usize) -> Self::Elem;
}
