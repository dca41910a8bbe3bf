//! AVX2+FMA and AVX-512F implementations of [`Vector`].
//!
//! Every method is `#[inline(always)]` and is meant to be inlined into a function compiled
//! with the matching `#[target_feature]` (see [`crate::driver`]). The intrinsics used here need
//! that feature on the CPU; the [`Vector`] contract guarantees it: a value of these types is only
//! created by `load` (whose caller promises the CPU has the ISA) or from another value.
//!
//! Only AVX-512F instructions are used in the AVX-512 types (no DQ/BW/VL), so the path runs on
//! every AVX-512 CPU.

use super::{Mask, Sealed, Vector};
use core::arch::x86_64::*;
use core::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Not, Sub};

/// 8×f32 on AVX2+FMA.
#[derive(Clone, Copy, Debug)]
pub struct Avx2F32(__m256);
/// 4×f64 on AVX2+FMA.
#[derive(Clone, Copy, Debug)]
pub struct Avx2F64(__m256d);
/// 16×f32 on AVX-512F.
#[derive(Clone, Copy, Debug)]
pub struct Avx512F32(__m512);
/// 8×f64 on AVX-512F.
#[derive(Clone, Copy, Debug)]
pub struct Avx512F64(__m512d);

/// Mask of [`Avx2F32`]: all-ones / all-zeros lanes.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Mask32(__m256);
/// Mask of [`Avx2F64`]: all-ones / all-zeros lanes.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Mask64(__m256d);
/// Mask of the AVX-512 types: one bit per lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KMask<T>(T);

impl Sealed for Avx2F32 {}
impl Sealed for Avx2F64 {}
impl Sealed for Avx512F32 {}
impl Sealed for Avx512F64 {}
impl Sealed for Avx2Mask32 {}
impl Sealed for Avx2Mask64 {}
impl<T> Sealed for KMask<T> {}

// Binary operators through one intrinsic each.
macro_rules! binops {
    ($ty:ident, $add:ident, $sub:ident, $mul:ident, $div:ident) => {
        impl Add for $ty {
            type Output = Self;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                // SAFETY: a value of this type proves the CPU has the ISA (see module docs).
                $ty(unsafe { $add(self.0, o.0) })
            }
        }
        impl Sub for $ty {
            type Output = Self;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                // SAFETY: as above.
                $ty(unsafe { $sub(self.0, o.0) })
            }
        }
        impl Mul for $ty {
            type Output = Self;
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                // SAFETY: as above.
                $ty(unsafe { $mul(self.0, o.0) })
            }
        }
        impl Div for $ty {
            type Output = Self;
            #[inline(always)]
            fn div(self, o: Self) -> Self {
                // SAFETY: as above.
                $ty(unsafe { $div(self.0, o.0) })
            }
        }
    };
}
binops!(
    Avx2F32,
    _mm256_add_ps,
    _mm256_sub_ps,
    _mm256_mul_ps,
    _mm256_div_ps
);
binops!(
    Avx2F64,
    _mm256_add_pd,
    _mm256_sub_pd,
    _mm256_mul_pd,
    _mm256_div_pd
);
binops!(
    Avx512F32,
    _mm512_add_ps,
    _mm512_sub_ps,
    _mm512_mul_ps,
    _mm512_div_ps
);
binops!(
    Avx512F64,
    _mm512_add_pd,
    _mm512_sub_pd,
    _mm512_mul_pd,
    _mm512_div_pd
);

// Masks of the AVX2 types: bitwise operations on the lane patterns.
macro_rules! avx2_mask {
    ($ty:ident, $and:ident, $or:ident, $xor:ident, $cmpeq_all:expr, $movemask:ident) => {
        impl BitAnd for $ty {
            type Output = Self;
            #[inline(always)]
            fn bitand(self, o: Self) -> Self {
                // SAFETY: masks only come from vectors, which prove the ISA.
                $ty(unsafe { $and(self.0, o.0) })
            }
        }
        impl BitOr for $ty {
            type Output = Self;
            #[inline(always)]
            fn bitor(self, o: Self) -> Self {
                // SAFETY: as above.
                $ty(unsafe { $or(self.0, o.0) })
            }
        }
        impl Not for $ty {
            type Output = Self;
            #[inline(always)]
            fn not(self) -> Self {
                // SAFETY: as above.
                $ty(unsafe { $xor(self.0, $cmpeq_all) })
            }
        }
        impl Mask for $ty {
            #[inline(always)]
            fn any(self) -> bool {
                // SAFETY: as above.
                unsafe { $movemask(self.0) != 0 }
            }
        }
    };
}
avx2_mask!(
    Avx2Mask32,
    _mm256_and_ps,
    _mm256_or_ps,
    _mm256_xor_ps,
    _mm256_castsi256_ps(_mm256_set1_epi32(-1)),
    _mm256_movemask_ps
);
avx2_mask!(
    Avx2Mask64,
    _mm256_and_pd,
    _mm256_or_pd,
    _mm256_xor_pd,
    _mm256_castsi256_pd(_mm256_set1_epi32(-1)),
    _mm256_movemask_pd
);

macro_rules! kmask {
    ($t:ty) => {
        impl BitAnd for KMask<$t> {
            type Output = Self;
            #[inline(always)]
            fn bitand(self, o: Self) -> Self {
                KMask(self.0 & o.0)
            }
        }
        impl BitOr for KMask<$t> {
            type Output = Self;
            #[inline(always)]
            fn bitor(self, o: Self) -> Self {
                KMask(self.0 | o.0)
            }
        }
        impl Not for KMask<$t> {
            type Output = Self;
            #[inline(always)]
            fn not(self) -> Self {
                KMask(!self.0)
            }
        }
        impl Mask for KMask<$t> {
            #[inline(always)]
            fn any(self) -> bool {
                self.0 != 0
            }
        }
    };
}
kmask!(u16);
kmask!(u8);

impl Neg for Avx2F32 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: a value of this type proves the CPU has AVX2.
        Avx2F32(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
    }
}
impl Neg for Avx2F64 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: a value of this type proves the CPU has AVX2.
        Avx2F64(unsafe { _mm256_xor_pd(self.0, _mm256_set1_pd(-0.0)) })
    }
}
impl Neg for Avx512F32 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: a value of this type proves the CPU has AVX-512F.
        Avx512F32(unsafe {
            _mm512_castsi512_ps(_mm512_xor_si512(
                _mm512_castps_si512(self.0),
                _mm512_set1_epi32(i32::MIN),
            ))
        })
    }
}
impl Neg for Avx512F64 {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        // SAFETY: a value of this type proves the CPU has AVX-512F.
        Avx512F64(unsafe {
            _mm512_castsi512_pd(_mm512_xor_si512(
                _mm512_castpd_si512(self.0),
                _mm512_set1_epi64(i64::MIN),
            ))
        })
    }
}

const ROUND_NEAREST: i32 = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;

impl Vector for Avx2F32 {
    type Elem = f32;
    type Mask = Avx2Mask32;
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn load(ptr: *const f32) -> Self {
        // SAFETY: the caller guarantees 8 readable elements and AVX2 support.
        Avx2F32(unsafe { _mm256_loadu_ps(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f32) {
        // SAFETY: the caller guarantees 8 writable elements; `self` proves AVX2.
        unsafe { _mm256_storeu_ps(ptr, self.0) }
    }
    #[inline(always)]
    fn splat_elem(self, v: f32) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F32(unsafe { _mm256_set1_ps(v) })
    }
    #[inline(always)]
    fn lit(self, single: f32, _double: f64) -> Self {
        self.splat_elem(single)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        // SAFETY: `self` proves AVX2 and FMA: values are made only by `load`, whose caller
        // promises the `Isa::Avx2` path, and `Isa::Avx2::is_supported` checks both features.
        Avx2F32(unsafe { _mm256_fmadd_ps(self.0, a.0, b.0) })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F32(unsafe { _mm256_max_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F32(unsafe { _mm256_min_ps(self.0, o.0) })
    }
    #[inline(always)]
    fn abs(self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F32(unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), self.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F32(unsafe { _mm256_sqrt_ps(self.0) })
    }
    #[inline(always)]
    fn round(self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F32(unsafe { _mm256_round_ps::<ROUND_NEAREST>(self.0) })
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        // SAFETY: `self` proves AVX2.
        unsafe {
            let s = _mm256_set1_ps(-0.0);
            Avx2F32(_mm256_or_ps(
                _mm256_andnot_ps(s, self.0),
                _mm256_and_ps(s, sign.0),
            ))
        }
    }
    #[inline(always)]
    fn lt(self, o: Self) -> Avx2Mask32 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask32(unsafe { _mm256_cmp_ps::<_CMP_LT_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn le(self, o: Self) -> Avx2Mask32 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask32(unsafe { _mm256_cmp_ps::<_CMP_LE_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn gt(self, o: Self) -> Avx2Mask32 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask32(unsafe { _mm256_cmp_ps::<_CMP_GT_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn ge(self, o: Self) -> Avx2Mask32 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask32(unsafe { _mm256_cmp_ps::<_CMP_GE_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn eq(self, o: Self) -> Avx2Mask32 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask32(unsafe { _mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn is_nan(self) -> Avx2Mask32 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask32(unsafe { _mm256_cmp_ps::<_CMP_UNORD_Q>(self.0, self.0) })
    }
    #[inline(always)]
    fn first_lanes(self, n: usize) -> Avx2Mask32 {
        let n = n.min(8) as i32;
        // SAFETY: `self` proves AVX2.
        Avx2Mask32(unsafe {
            _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                _mm256_set1_epi32(n),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            ))
        })
    }
    #[inline(always)]
    fn select(m: Avx2Mask32, a: Self, b: Self) -> Self {
        // SAFETY: masks and vectors of this type prove AVX2.
        Avx2F32(unsafe { _mm256_blendv_ps(b.0, a.0, m.0) })
    }
    #[inline(always)]
    fn pow2i(self) -> Self {
        // SAFETY: `self` proves AVX2.
        unsafe {
            let n = _mm256_cvtps_epi32(self.0);
            let biased = _mm256_add_epi32(n, _mm256_set1_epi32(127));
            Avx2F32(_mm256_castsi256_ps(_mm256_slli_epi32::<23>(biased)))
        }
    }
    #[inline(always)]
    fn ldexp(self, n: Self) -> Self {
        // One normal power of two where every |n| ≤ 126 (the common case: one rounding, and a
        // fraction of the work); otherwise two steps.
        if n.abs().gt(self.splat(126.0)).any() {
            // SAFETY: `self` proves AVX2.
            let half = Avx2F32(unsafe { _mm256_floor_ps(_mm256_mul_ps(n.0, _mm256_set1_ps(0.5))) });
            self * half.pow2i() * (n - half).pow2i()
        } else {
            self * n.pow2i()
        }
    }
    #[inline(always)]
    fn frexp(self) -> (Self, Self) {
        // SAFETY: `self` proves AVX2.
        unsafe {
            let bits = _mm256_castps_si256(self.0);
            let e = _mm256_sub_epi32(_mm256_srli_epi32::<23>(bits), _mm256_set1_epi32(127));
            let m = _mm256_or_si256(
                _mm256_and_si256(bits, _mm256_set1_epi32(0x007f_ffff)),
                _mm256_set1_epi32(0x3f80_0000),
            );
            (
                Avx2F32(_mm256_castsi256_ps(m)),
                Avx2F32(_mm256_cvtepi32_ps(e)),
            )
        }
    }
    #[inline(always)]
    fn sum_f64(self) -> f64 {
        let mut a = [0f32; 8];
        // SAFETY: `a` has room for 8 elements.
        unsafe { self.store(a.as_mut_ptr()) };
        a.iter().map(|&v| v as f64).sum()
    }
    #[inline(always)]
    fn lane(self, i: usize) -> f32 {
        let mut a = [0f32; 8];
        // SAFETY: `a` has room for 8 elements.
        unsafe { self.store(a.as_mut_ptr()) };
        a[i]
    }
}

/// 2^52 + 2^51: adding it to an integral f64 of small magnitude puts the integer in the low
/// mantissa bits.
const MAGIC_F64: f64 = 6_755_399_441_055_744.0;

impl Vector for Avx2F64 {
    type Elem = f64;
    type Mask = Avx2Mask64;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn load(ptr: *const f64) -> Self {
        // SAFETY: the caller guarantees 4 readable elements and AVX2 support.
        Avx2F64(unsafe { _mm256_loadu_pd(ptr) })
    }
    #[inline(always)]
    unsafe fn store(self, ptr: *mut f64) {
        // SAFETY: the caller guarantees 4 writable elements; `self` proves AVX2.
        unsafe { _mm256_storeu_pd(ptr, self.0) }
    }
    #[inline(always)]
    fn splat_elem(self, v: f64) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F64(unsafe { _mm256_set1_pd(v) })
    }
    #[inline(always)]
    fn lit(self, _single: f32, double: f64) -> Self {
        self.splat_elem(double)
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        // SAFETY: `self` proves AVX2+FMA.
        Avx2F64(unsafe { _mm256_fmadd_pd(self.0, a.0, b.0) })
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F64(unsafe { _mm256_max_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F64(unsafe { _mm256_min_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn abs(self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F64(unsafe { _mm256_andnot_pd(_mm256_set1_pd(-0.0), self.0) })
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F64(unsafe { _mm256_sqrt_pd(self.0) })
    }
    #[inline(always)]
    fn round(self) -> Self {
        // SAFETY: `self` proves AVX2.
        Avx2F64(unsafe { _mm256_round_pd::<ROUND_NEAREST>(self.0) })
    }
    #[inline(always)]
    fn copysign(self, sign: Self) -> Self {
        // SAFETY: `self` proves AVX2.
        unsafe {
            let s = _mm256_set1_pd(-0.0);
            Avx2F64(_mm256_or_pd(
                _mm256_andnot_pd(s, self.0),
                _mm256_and_pd(s, sign.0),
            ))
        }
    }
    #[inline(always)]
    fn lt(self, o: Self) -> Avx2Mask64 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask64(unsafe { _mm256_cmp_pd::<_CMP_LT_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn le(self, o: Self) -> Avx2Mask64 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask64(unsafe { _mm256_cmp_pd::<_CMP_LE_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn gt(self, o: Self) -> Avx2Mask64 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask64(unsafe { _mm256_cmp_pd::<_CMP_GT_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn ge(self, o: Self) -> Avx2Mask64 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask64(unsafe { _mm256_cmp_pd::<_CMP_GE_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn eq(self, o: Self) -> Avx2Mask64 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask64(unsafe { _mm256_cmp_pd::<_CMP_EQ_OQ>(self.0, o.0) })
    }
    #[inline(always)]
    fn is_nan(self) -> Avx2Mask64 {
        // SAFETY: `self` proves AVX2.
        Avx2Mask64(unsafe { _mm256_cmp_pd::<_CMP_UNORD_Q>(self.0, self.0) })
    }
    #[inline(always)]
    fn first_lanes(self, n: usize) -> Avx2Mask64 {
        let n = n.min(4) as i64;
        // SAFETY: `self` proves AVX2.
        Avx2Mask64(unsafe {
            _mm256_castsi256_pd(_mm256_cmpgt_epi64(
                _mm256_set1_epi64x(n),
                _mm256_setr_epi64x(0, 1, 2, 3),
            ))
        })
    }
    #[inline(always)]
    fn select(m: Avx2Mask64, a: Self, b: Self) -> Self {
        // SAFETY: masks and vectors of this type prove AVX2.
        Avx2F64(unsafe { _mm256_blendv_pd(b.0, a.0, m.0) })
    }
    #[inline(always)]
    fn pow2i(self) -> Self {
        // AVX2 has no f64 -> i64 conversion: integral n plus 2^52+2^51 holds n in its low
        // mantissa bits, so bits(n + MAGIC) - bits(MAGIC) = n as i64.
        // SAFETY: `self` proves AVX2.
        unsafe {
            let shifted = _mm256_castpd_si256(_mm256_add_pd(self.0, _mm256_set1_pd(MAGIC_F64)));
            let bias = MAGIC_F64.to_bits() as i64 - 1023;
            let biased = _mm256_sub_epi64(shifted, _mm256_set1_epi64x(bias));
            Avx2F64(_mm256_castsi256_pd(_mm256_slli_epi64::<52>(biased)))
        }
    }
    #[inline(always)]
    fn ldexp(self, n: Self) -> Self {
        // As for f32: one step where every |n| ≤ 1022.
        if n.abs().gt(self.splat(1022.0)).any() {
            // SAFETY: `self` proves AVX2.
            let half = Avx2F64(unsafe { _mm256_floor_pd(_mm256_mul_pd(n.0, _mm256_set1_pd(0.5))) });
            self * half.pow2i() * (n - half).pow2i()
        } else {
            self * n.pow2i()
        }
    }
    #[inline(always)]
    fn frexp(self) -> (Self, Self) {
        // SAFETY: `self` proves AVX2.
        unsafe {
            let bits = _mm256_castpd_si256(self.0);
            // The biased exponent k, as the f64 2^52 + k, minus 2^52 + 1023.
            let two52 = _mm256_set1_pd(4_503_599_627_370_496.0);
            let k = _mm256_or_si256(_mm256_srli_epi64::<52>(bits), _mm256_castpd_si256(two52));
            let e = _mm256_sub_pd(
                _mm256_castsi256_pd(k),
                _mm256_set1_pd(4_503_599_627_370_496.0 + 1023.0),
            );
            let m = _mm256_or_si256(
                _mm256_and_si256(bits, _mm256_set1_epi64x(0x000f_ffff_ffff_ffff)),
                _mm256_set1_epi64x(0x3ff0_0000_0000_0000),
            );
            (Avx2F64(_mm256_castsi256_pd(m)), Avx2F64(e))
        }
    }
    #[inline(always)]
    fn sum_f64(self) -> f64 {
        let mut a = [0f64; 4];
        // SAFETY: `a` has room for 4 elements.
        unsafe { self.store(a.as_mut_ptr()) };
        a.iter().sum()
    }
    #[inline(always)]
    fn lane(self, i: usize) -> f64 {
        let mut a = [0f64; 4];
        // SAFETY: `a` has room for 4 elements.
        unsafe { self.store(a.as_mut_ptr()) };
        a[i]
    }
}

// The AVX-512 types share everything but the intrinsic suffixes.
macro_rules! avx512_vector {
    (
        $ty:ident, $elem:ty, $mask:ty, $lanes:expr, $lit:ident,
        loadu = $loadu:ident, storeu = $storeu:ident, set1 = $set1:ident,
        fmadd = $fmadd:ident, max = $max:ident, min = $min:ident, abs = $abs:ident,
        sqrt = $sqrt:ident, roundscale = $roundscale:ident, cmp = $cmp:ident,
        blend = $blend:ident, scalef = $scalef:ident, getexp = $getexp:ident,
        getmant = $getmant:ident, cast_si = $cast_si:ident, cast_from_si = $cast_from_si:ident,
        set1_int = $set1_int:ident, sign_bits = $sign_bits:expr, ternlog = $ternlog:ident
    ) => {
        impl Vector for $ty {
            type Elem = $elem;
            type Mask = KMask<$mask>;
            const LANES: usize = $lanes;

            #[inline(always)]
            unsafe fn load(ptr: *const $elem) -> Self {
                // SAFETY: the caller guarantees LANES readable elements and AVX-512F support.
                $ty(unsafe { $loadu(ptr) })
            }
            #[inline(always)]
            unsafe fn store(self, ptr: *mut $elem) {
                // SAFETY: the caller guarantees LANES writable elements; `self` proves AVX-512F.
                unsafe { $storeu(ptr, self.0) }
            }
            #[inline(always)]
            fn splat_elem(self, v: $elem) -> Self {
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $set1(v) })
            }
            #[inline(always)]
            fn lit(self, single: f32, double: f64) -> Self {
                self.splat_elem($lit(single, double))
            }
            #[inline(always)]
            fn mul_add(self, a: Self, b: Self) -> Self {
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $fmadd(self.0, a.0, b.0) })
            }
            #[inline(always)]
            fn max(self, o: Self) -> Self {
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $max(self.0, o.0) })
            }
            #[inline(always)]
            fn min(self, o: Self) -> Self {
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $min(self.0, o.0) })
            }
            #[inline(always)]
            fn abs(self) -> Self {
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $abs(self.0) })
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $sqrt(self.0) })
            }
            #[inline(always)]
            fn round(self) -> Self {
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $roundscale::<ROUND_NEAREST>(self.0) })
            }
            #[inline(always)]
            fn copysign(self, sign: Self) -> Self {
                // One vpternlog: bitwise `mask ? sign : self` (truth table 0xCA).
                // SAFETY: `self` proves AVX-512F.
                unsafe {
                    let s = $set1_int($sign_bits);
                    let v = $ternlog::<0xCA>(s, $cast_si(sign.0), $cast_si(self.0));
                    $ty($cast_from_si(v))
                }
            }
            #[inline(always)]
            fn lt(self, o: Self) -> Self::Mask {
                // SAFETY: `self` proves AVX-512F.
                KMask(unsafe { $cmp::<_CMP_LT_OQ>(self.0, o.0) })
            }
            #[inline(always)]
            fn le(self, o: Self) -> Self::Mask {
                // SAFETY: `self` proves AVX-512F.
                KMask(unsafe { $cmp::<_CMP_LE_OQ>(self.0, o.0) })
            }
            #[inline(always)]
            fn gt(self, o: Self) -> Self::Mask {
                // SAFETY: `self` proves AVX-512F.
                KMask(unsafe { $cmp::<_CMP_GT_OQ>(self.0, o.0) })
            }
            #[inline(always)]
            fn ge(self, o: Self) -> Self::Mask {
                // SAFETY: `self` proves AVX-512F.
                KMask(unsafe { $cmp::<_CMP_GE_OQ>(self.0, o.0) })
            }
            #[inline(always)]
            fn eq(self, o: Self) -> Self::Mask {
                // SAFETY: `self` proves AVX-512F.
                KMask(unsafe { $cmp::<_CMP_EQ_OQ>(self.0, o.0) })
            }
            #[inline(always)]
            fn is_nan(self) -> Self::Mask {
                // SAFETY: `self` proves AVX-512F.
                KMask(unsafe { $cmp::<_CMP_UNORD_Q>(self.0, self.0) })
            }
            #[inline(always)]
            fn first_lanes(self, n: usize) -> Self::Mask {
                if n >= $lanes {
                    KMask(<$mask>::MAX)
                } else {
                    KMask(((1u32 << n) - 1) as $mask)
                }
            }
            #[inline(always)]
            fn select(m: Self::Mask, a: Self, b: Self) -> Self {
                // SAFETY: vectors of this type prove AVX-512F.
                $ty(unsafe { $blend(m.0, b.0, a.0) })
            }
            #[inline(always)]
            fn pow2i(self) -> Self {
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $scalef($set1(1.0), self.0) })
            }
            #[inline(always)]
            fn ldexp(self, n: Self) -> Self {
                // vscalef rounds once, subnormal results included.
                // SAFETY: `self` proves AVX-512F.
                $ty(unsafe { $scalef(self.0, n.0) })
            }
            #[inline(always)]
            fn frexp(self) -> (Self, Self) {
                // SAFETY: `self` proves AVX-512F.
                unsafe {
                    (
                        $ty($getmant::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_SRC>(self.0)),
                        $ty($getexp(self.0)),
                    )
                }
            }
            #[inline(always)]
            fn sum_f64(self) -> f64 {
                let mut a = [0 as $elem; $lanes];
                // SAFETY: `a` has room for LANES elements.
                unsafe { self.store(a.as_mut_ptr()) };
                a.iter().map(|&v| v as f64).sum()
            }
            #[inline(always)]
            fn lane(self, i: usize) -> $elem {
                let mut a = [0 as $elem; $lanes];
                // SAFETY: `a` has room for LANES elements.
                unsafe { self.store(a.as_mut_ptr()) };
                a[i]
            }
        }
    };
}

#[inline(always)]
fn lit32(single: f32, _double: f64) -> f32 {
    single
}
#[inline(always)]
fn lit64(_single: f32, double: f64) -> f64 {
    double
}

avx512_vector!(
    Avx512F32,
    f32,
    u16,
    16,
    lit32,
    loadu = _mm512_loadu_ps,
    storeu = _mm512_storeu_ps,
    set1 = _mm512_set1_ps,
    fmadd = _mm512_fmadd_ps,
    max = _mm512_max_ps,
    min = _mm512_min_ps,
    abs = _mm512_abs_ps,
    sqrt = _mm512_sqrt_ps,
    roundscale = _mm512_roundscale_ps,
    cmp = _mm512_cmp_ps_mask,
    blend = _mm512_mask_blend_ps,
    scalef = _mm512_scalef_ps,
    getexp = _mm512_getexp_ps,
    getmant = _mm512_getmant_ps,
    cast_si = _mm512_castps_si512,
    cast_from_si = _mm512_castsi512_ps,
    set1_int = _mm512_set1_epi32,
    sign_bits = i32::MIN,
    ternlog = _mm512_ternarylogic_epi32
);
avx512_vector!(
    Avx512F64,
    f64,
    u8,
    8,
    lit64,
    loadu = _mm512_loadu_pd,
    storeu = _mm512_storeu_pd,
    set1 = _mm512_set1_pd,
    fmadd = _mm512_fmadd_pd,
    max = _mm512_max_pd,
    min = _mm512_min_pd,
    abs = _mm512_abs_pd,
    sqrt = _mm512_sqrt_pd,
    roundscale = _mm512_roundscale_pd,
    cmp = _mm512_cmp_pd_mask,
    blend = _mm512_mask_blend_pd,
    scalef = _mm512_scalef_pd,
    getexp = _mm512_getexp_pd,
    getmant = _mm512_getmant_pd,
    cast_si = _mm512_castpd_si512,
    cast_from_si = _mm512_castsi512_pd,
    set1_int = _mm512_set1_epi64,
    sign_bits = i64::MIN,
    ternlog = _mm512_ternarylogic_epi64
);
