//! The vector layer: one trait, one file per instruction set.
//!
//! Design (after memchr's `vector.rs` and pulp's ISA tokens):
//! - [`Vector`] is implemented for the portable 4×f32 / 2×f64 arrays ([`PortableF32`],
//!   [`PortableF64`]; safe code LLVM vectorises for the baseline), for AVX2+FMA and AVX-512F on
//!   x86-64, for NEON on aarch64, and for the one-lane [`Scalar`] of the scalar API. Kernels
//!   and the vector math are written once, generic over it. Which ISA uses which type is one
//!   row of the table in `crate::dispatch`.
//! - A vector value can only be created from memory by [`Vector::load`] (an `unsafe fn` whose
//!   contract includes "the CPU has this ISA"), or from another vector of the same type
//!   ([`Vector::splat`], arithmetic). Owning a value therefore proves the CPU supports its
//!   instructions, which is why every other method is safe to call.
//! - All `unsafe` code of the crate lives in this module, the ISA trampolines and the
//!   (private) slice drivers.
//! - [`Element`], [`Vector`] and [`Mask`] are **sealed**: they carry safety obligations (a
//!   vector value proves CPU support; `LANES` sizes the drivers' stack buffers) that a safe
//!   implementation elsewhere could break, so only this crate implements them. Size assumptions
//!   are compile-time assertions (`const { assert!(V::LANES <= MAX_LANES) }`), not comments.

// Binary operators through one intrinsic each (used by the ISA files below).
#[allow(unused_macros)]
macro_rules! binops {
    ($ty:ident, $add:ident, $sub:ident, $mul:ident, $div:ident) => {
        impl ::core::ops::Add for $ty {
            type Output = Self;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                // SAFETY: a value of this type proves the CPU has the ISA (see module docs).
                $ty(unsafe { $add(self.0, o.0) })
            }
        }
        impl ::core::ops::Sub for $ty {
            type Output = Self;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                // SAFETY: as above.
                $ty(unsafe { $sub(self.0, o.0) })
            }
        }
        impl ::core::ops::Mul for $ty {
            type Output = Self;
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                // SAFETY: as above.
                $ty(unsafe { $mul(self.0, o.0) })
            }
        }
        impl ::core::ops::Div for $ty {
            type Output = Self;
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                // SAFETY: as above.
                $ty(unsafe { $div(self.0, o.0) })
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "aarch64")]
mod neon;
pub(crate) mod halfbits;
mod portable;
mod scalar;

use core::fmt::Debug;
use core::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Not, Sub};

#[cfg(target_arch = "x86_64")]
pub use avx2::{Avx2F32, Avx2F64, Avx2Mask32, Avx2Mask64};
#[cfg(target_arch = "x86_64")]
pub use avx512::{Avx512Bf16F32, Avx512F32, Avx512F64, KMask};
#[cfg(target_arch = "aarch64")]
pub use neon::{NeonF32, NeonF64, NeonMask32, NeonMask64};
pub use portable::{PortableF32, PortableF64, PortableMask32, PortableMask64};
pub use scalar::{Scalar, ScalarMask};

/// `single`: the f32 form of a literal (see [`Vector::lit`]).
#[inline(always)]
fn lit32(single: f32, _double: f64) -> f32 {
    single
}
/// `double`: the f64 form of a literal (see [`Vector::lit`]).
#[inline(always)]
fn lit64(_single: f32, double: f64) -> f64 {
    double
}

/// The most lanes any [`Vector`] has (AVX-512 f32): the size of the drivers' stack buffers for
/// tails, asserted at compile time wherever a buffer is used.
pub(crate) const MAX_LANES: usize = 16;

/// How far ahead of a streaming loop's position the drivers ask for cache lines
/// ([`prefetch`]): 2 KiB, 16 to 64 iterations of their two-vector loops.
pub(crate) const PREFETCH_AHEAD: usize = 2048;

/// The slice size in bytes from which the drivers' loops prefetch: 64 KiB, more than the L1
/// data cache of the CPUs we measure (32–48 KiB).
pub(crate) const PREFETCH_FROM: usize = 64 * 1024;

/// Asks the CPU to bring the cache lines of the `bytes` bytes from `p` into its L1 cache
/// (`prefetcht0`, one per 64 bytes, on x86-64; nothing elsewhere). The drivers' loops call it
/// with the address [`PREFETCH_AHEAD`] bytes past the block they load or store: on large
/// slices the hardware prefetchers alone left the loads and the stores' ownership requests
/// waiting on memory. `p` may point anywhere, past the slice's end included: it is computed
/// with wrapping arithmetic and never dereferenced, and a prefetch never faults.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let mut off = 0;
        while off < bytes {
            // SAFETY: `prefetcht0` is SSE (x86-64's baseline) and only a hint: it reads
            // nothing into the program and does not fault, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off).cast()) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

/// `LANES` values converted lane by lane from the `u16`s at `ptr`.
///
/// # Safety
/// As [`Vector::load`], for `LANES` `u16`s.
#[inline(always)]
unsafe fn load_lanes<V: Vector>(ptr: *const u16, f: impl Fn(u16) -> V::Elem) -> V {
    const { assert!(V::LANES <= MAX_LANES) };
    let mut buf = [V::Elem::ZERO; MAX_LANES];
    for (i, b) in buf.iter_mut().enumerate().take(V::LANES) {
        // SAFETY: i < LANES, and `ptr` is readable for LANES u16s (the caller's promise).
        *b = f(unsafe { ptr.add(i).read_unaligned() });
    }
    // SAFETY: `buf` holds MAX_LANES ≥ LANES elements; the ISA as the caller promised.
    unsafe { V::load(buf.as_ptr()) }
}

/// Stores the lanes of `v` converted lane by lane to the `u16`s at `ptr`.
///
/// # Safety
/// `ptr` must be valid for writing `LANES` `u16`s.
#[inline(always)]
unsafe fn store_lanes<V: Vector>(v: V, ptr: *mut u16, f: impl Fn(V::Elem) -> u16) {
    const { assert!(V::LANES <= MAX_LANES) };
    let mut buf = [V::Elem::ZERO; MAX_LANES];
    // SAFETY: `buf` holds MAX_LANES ≥ LANES elements; a value of `V` proves its ISA.
    unsafe { v.store(buf.as_mut_ptr()) };
    for (i, &x) in buf.iter().enumerate().take(V::LANES) {
        // SAFETY: i < LANES, and `ptr` is writable for LANES u16s (the caller's promise).
        unsafe { ptr.add(i).write_unaligned(f(x)) };
    }
}

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
    const MATH: &'static crate::tables::Table;
    /// The one-lane vector of this element ([`Scalar`]): the scalar API's, and the one the
    /// ±inf guard's slow path runs on whatever the kernel's vector type (one copy of that long
    /// code per formula and element type, not per ISA).
    type One: Vector<Elem = Self>;
    /// `self` as a one-lane vector.
    fn one(self) -> Self::One;
    /// This value rounded to IEEE binary16 (nearest, ties to even), as its bits.
    fn to_f16_bits(self) -> u16;
    /// The value of IEEE binary16 `bits` (exact).
    fn from_f16_bits(bits: u16) -> Self;
    /// This value rounded to bfloat16 (nearest, ties to even), as its bits.
    fn to_bf16_bits(self) -> u16;
    /// The value of bfloat16 `bits` (exact).
    fn from_bf16_bits(bits: u16) -> Self;
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
    const MATH: &'static crate::tables::Table = &crate::tables::TABLE_F32;
    type One = Scalar<f32>;
    #[inline(always)]
    fn one(self) -> Scalar<f32> {
        Scalar(self)
    }
    #[inline(always)]
    fn to_f16_bits(self) -> u16 {
        halfbits::f64_to_f16(self as f64)
    }
    #[inline(always)]
    fn from_f16_bits(bits: u16) -> Self {
        halfbits::f16_to_f64(bits) as f32
    }
    #[inline(always)]
    fn to_bf16_bits(self) -> u16 {
        halfbits::f32_to_bf16(self)
    }
    #[inline(always)]
    fn from_bf16_bits(bits: u16) -> Self {
        halfbits::bf16_to_f32(bits)
    }
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
    const MATH: &'static crate::tables::Table = &crate::tables::TABLE_F64;
    type One = Scalar<f64>;
    #[inline(always)]
    fn one(self) -> Scalar<f64> {
        Scalar(self)
    }
    #[inline(always)]
    fn to_f16_bits(self) -> u16 {
        halfbits::f64_to_f16(self)
    }
    #[inline(always)]
    fn from_f16_bits(bits: u16) -> Self {
        halfbits::f16_to_f64(bits)
    }
    #[inline(always)]
    fn to_bf16_bits(self) -> u16 {
        halfbits::f64_to_bf16(self)
    }
    #[inline(always)]
    fn from_bf16_bits(bits: u16) -> Self {
        halfbits::bf16_to_f64(bits)
    }
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
/// Sealed: implemented only by this crate's vector types (see the module docs), because the
/// drivers' `unsafe` code trusts the contract below.
///
/// # Contract for implementors
/// A value of an implementing type must only exist on a CPU that supports the instructions
/// its methods use. Implementations uphold this by creating values only in [`Vector::load`]
/// (whose caller promises CPU support) and from other values.
///
/// # Semantics shared by every implementation
/// - Arithmetic and `sqrt` are IEEE-754 correctly rounded. `mul_add` is fused (one rounding)
///   where [`Vector::FUSED`] is true: every path but the portable one on targets without
///   hardware FMA (x86-64 baseline, wasm32), where it rounds twice.
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
    /// Whether [`Vector::mul_add`] rounds once (fused multiply-add).
    const FUSED: bool;
    /// Whether [`Vector::ldexp`] is one instruction without a range test (AVX-512's
    /// `vscalef`): the fast sigmoid forms then keep their exponential unclamped; elsewhere they
    /// clamp it at `sigmoid_one` and scale by one normal power of two
    /// ([`Vector::round_pow2`]; the same values).
    const LDEXP_ONE_OP: bool = false;
    /// Whether the drivers hide their loop's trip count from LLVM (`crate::driver`'s index
    /// mask): true for the portable arrays, whose lane-wise code LLVM's loop vectoriser would
    /// otherwise vectorise across loop iterations instead of within a vector (see the portable
    /// module).
    const OPAQUE_LOOP: bool = false;

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

    /// Loads `LANES` IEEE binary16 values (their bits) from `ptr`, widened exactly. The default
    /// converts lane by lane ([`Element::from_f16_bits`]); the AVX2, AVX-512 and NEON f32
    /// vectors use the conversion instructions (F16C `vcvtph2ps`, AVX-512F, `fcvtl`).
    ///
    /// # Safety
    /// As [`Vector::load`], for `LANES` `u16`s.
    #[inline(always)]
    unsafe fn load_f16(ptr: *const u16) -> Self {
        // SAFETY: as the caller promised.
        unsafe { load_lanes(ptr, Self::Elem::from_f16_bits) }
    }
    /// Stores the lanes rounded to IEEE binary16 (nearest, ties to even) as bits to `ptr`.
    ///
    /// # Safety
    /// `ptr` must be valid for writing `LANES` `u16`s.
    #[inline(always)]
    unsafe fn store_f16(self, ptr: *mut u16) {
        // SAFETY: as the caller promised.
        unsafe { store_lanes(self, ptr, Self::Elem::to_f16_bits) }
    }
    /// Loads `LANES` bfloat16 values (their bits) from `ptr`, widened exactly.
    ///
    /// # Safety
    /// As [`Vector::load`], for `LANES` `u16`s.
    #[inline(always)]
    unsafe fn load_bf16(ptr: *const u16) -> Self {
        // SAFETY: as the caller promised.
        unsafe { load_lanes(ptr, Self::Elem::from_bf16_bits) }
    }
    /// Stores the lanes rounded to bfloat16 (nearest, ties to even) as bits to `ptr`.
    ///
    /// # Safety
    /// `ptr` must be valid for writing `LANES` `u16`s.
    #[inline(always)]
    unsafe fn store_bf16(self, ptr: *mut u16) {
        // SAFETY: as the caller promised.
        unsafe { store_lanes(self, ptr, Self::Elem::to_bf16_bits) }
    }
    /// Stores the lanes of `self`, then those of `next`, rounded to bfloat16, as bits to `ptr`
    /// (`2·LANES` of them): two [`Vector::store_bf16`]s, or one conversion of both vectors
    /// where the ISA has it (AVX512-BF16's `vcvtne2ps2bf16`, one instruction and one store for
    /// 32 lanes; the drivers' loops store two vectors at a time).
    ///
    /// # Safety
    /// `ptr` must be valid for writing `2·LANES` `u16`s.
    #[inline(always)]
    unsafe fn store2_bf16(self, next: Self, ptr: *mut u16) {
        // SAFETY: as the caller promised: LANES u16s at ptr and LANES more after them.
        unsafe {
            self.store_bf16(ptr);
            next.store_bf16(ptr.add(Self::LANES));
        }
    }

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

    /// `self * a + b`, with a single rounding where [`Vector::FUSED`] is true.
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
    /// [`Vector::round`] for lanes with |x| ≤ 2²² (f32) or 2⁵¹ (f64), up to the sign of a zero
    /// result; other lanes (±inf and NaN included) get unspecified values, without panic or
    /// undefined behaviour. The vector math's range reductions use it: on the portable path it
    /// is two additions instead of eight operations.
    #[inline(always)]
    fn round_small(self) -> Self {
        self.round()
    }
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
    /// True in lanes where `self` or `other` holds NaN: one unordered comparison on x86 (the
    /// guards test an input and a result, or two results, at once).
    #[inline(always)]
    fn unordered(self, other: Self) -> Self::Mask {
        self.is_nan() | other.is_nan()
    }
    /// True in the first `n` lanes.
    fn first_lanes(self, n: usize) -> Self::Mask;
    /// Lane-wise `if mask { a } else { b }`.
    fn select(mask: Self::Mask, a: Self, b: Self) -> Self;

    /// `2^self` for integral lanes in the normal exponent range of the element type
    /// (−126..=127 for f32, −1022..=1023 for f64).
    fn pow2i(self) -> Self;
    /// `(n, 2^(n + k))` with `n = self.round_small()`, for lanes where `n + k` is in
    /// [`Vector::pow2i`]'s range (other lanes: unspecified values, no panic): a range
    /// reduction's integer and its scale. The same values as the two operations; the portable
    /// path forms both from one sum (its rounding adds 1.5·2^mantissa-bits, and that sum's bits
    /// hold `n`), one floating-point addition less where those are what the kernels wait on.
    #[inline(always)]
    fn round_pow2(self, k: i32) -> (Self, Self) {
        let n = self.round_small();
        let scale = if k == 0 {
            n
        } else {
            n + self.splat(f64::from(k))
        };
        (n, scale.pow2i())
    }
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
    /// `self`, unchanged, as a barrier to compilers that reassociate floating-point
    /// arithmetic: the vector math marks with it the values whose rounding its next steps
    /// rely on (`x − ((1 + x) − 1)`, `a·b − fl(a·b)`). The identity on every CPU path (Rust
    /// and LLVM never reassociate); the WGSL recorder makes the value opaque to the shader
    /// compiler (GPU compilers may reassociate unless told otherwise, and WGSL cannot tell them).
    #[inline(always)]
    fn keep(self) -> Self {
        self
    }
    /// sin (or with `cos`, cos) of each lane, computed in `f64` by std: the vector math's
    /// sin and cos for arguments beyond their range reduction (`Table::trig_limit`; rare).
    #[inline(always)]
    fn trig_far(self, cos: bool) -> Self {
        let f = if cos { f64::cos } else { f64::sin };
        self.map_lanes(|v| Self::Elem::from_f64(f(v.to_f64())))
    }
}
