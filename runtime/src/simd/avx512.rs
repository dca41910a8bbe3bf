//! AVX-512F: 16×f32 and 8×f64 implementations of [`Vector`].
//!
//! Every method is `#[inline(always)]` and is meant to be inlined into a function compiled
//! with `#[target_feature(enable = "avx512f")]` (the trampoline the ISA table generates in
//! `crate::dispatch`). The intrinsics used here need that feature on the CPU; the [`Vector`]
//! contract guarantees it: a value of these types is only created by `load` (whose caller
//! promises the CPU has the ISA) or from another value.
//!
//! [`Avx512F32`] and [`Avx512F64`] use only AVX-512F instructions (no DQ/BW/VL), so the path
//! runs on every AVX-512 CPU; [`Avx512Bf16F32`] (the `avx512bf16` row) differs only in its
//! bfloat16 stores, which use AVX512-BF16 and AVX512-DQ.

use super::{Mask, Sealed, Vector, lit32, lit64};
use core::arch::x86_64::*;
use core::ops::{BitAnd, BitOr, Neg, Not};

/// 16×f32 on AVX-512F.
#[derive(Clone, Copy, Debug)]
pub struct Avx512F32(__m512);
/// 16×f32 on AVX-512F with AVX512-BF16 and AVX512-DQ: [`Avx512F32`] but for its bfloat16
/// stores (`vcvtneps2bf16`).
#[derive(Clone, Copy, Debug)]
pub struct Avx512Bf16F32(__m512);
/// 8×f64 on AVX-512F.
#[derive(Clone, Copy, Debug)]
pub struct Avx512F64(__m512d);
/// Mask of the AVX-512 types: one bit per lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KMask<T>(T);

impl Sealed for Avx512F32 {}
impl Sealed for Avx512Bf16F32 {}
impl Sealed for Avx512F64 {}
impl<T> Sealed for KMask<T> {}

binops!(
    Avx512F64,
    _mm512_add_pd,
    _mm512_sub_pd,
    _mm512_mul_pd,
    _mm512_div_pd
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
        $(, extra = { $($extra:tt)* })?
    ) => {
        impl Vector for $ty {
            type Elem = $elem;
            type Mask = KMask<$mask>;
            const LANES: usize = $lanes;
            const FUSED: bool = true;
            const LDEXP_ONE_OP: bool = true;

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
            $($($extra)*)?
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
            fn unordered(self, other: Self) -> Self::Mask {
                // SAFETY: `self` proves AVX-512F.
                KMask(unsafe { $cmp::<_CMP_UNORD_Q>(self.0, other.0) })
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

/// The f32 vector types: one `avx512_vector!` call with the f32 intrinsics, the binary16
/// conversions (AVX-512F has them) and the bfloat16 load; `store_bf16` (and `store2_bf16`,
/// where the default does not do) are the caller's, in braces (rustfmt leaves a block alone).
macro_rules! avx512_f32 {
    ($ty:ident, { $($store_bf16:tt)* }) => {
        binops!($ty, _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_div_ps);
        impl Neg for $ty {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                // SAFETY: a value of this type proves the CPU has AVX-512F.
                $ty(unsafe {
                    _mm512_castsi512_ps(_mm512_xor_si512(
                        _mm512_castps_si512(self.0),
                        _mm512_set1_epi32(i32::MIN),
                    ))
                })
            }
        }
        avx512_vector!(
            $ty,
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
            ternlog = _mm512_ternarylogic_epi32,
            extra = {
                #[inline(always)]
                unsafe fn load_f16(ptr: *const u16) -> Self {
                    // SAFETY: the caller guarantees 16 readable u16s and AVX-512F.
                    $ty(unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(ptr.cast())) })
                }
                #[inline(always)]
                unsafe fn store_f16(self, ptr: *mut u16) {
                    // SAFETY: the caller guarantees 16 writable u16s; `self` proves AVX-512F.
                    unsafe {
                        _mm256_storeu_si256(ptr.cast(), _mm512_cvtps_ph::<ROUND_NEAREST>(self.0))
                    }
                }
                #[inline(always)]
                unsafe fn load_bf16(ptr: *const u16) -> Self {
                    // SAFETY: the caller guarantees 16 readable u16s and AVX-512F.
                    unsafe {
                        let wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(ptr.cast()));
                        $ty(_mm512_castsi512_ps(_mm512_slli_epi32::<16>(wide)))
                    }
                }
                $($store_bf16)*
            }
        );
    };
}

/// The bfloat16 rounding of each lane of `v` (nearest, ties to even; a NaN keeps its top half
/// with the quiet bit set) in the low half of its 32-bit lane: `halfbits::f32_to_bf16`,
/// lane-wise, in AVX-512F integer arithmetic.
///
/// # Safety
/// The CPU must have AVX-512F.
#[inline(always)]
unsafe fn bf16_bits_by_integer(v: __m512) -> __m512i {
    // SAFETY: the caller guarantees AVX-512F.
    unsafe {
        let b = _mm512_castps_si512(v);
        let hi = _mm512_srli_epi32::<16>(b);
        let lsb = _mm512_and_si512(hi, _mm512_set1_epi32(1));
        let biased = _mm512_add_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(0x7fff)), lsb);
        let rounded = _mm512_srli_epi32::<16>(biased);
        // NaN lanes: the top half with the quiet bit set (a masked `or`).
        let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
        _mm512_mask_or_epi32(rounded, nan, hi, _mm512_set1_epi32(0x40))
    }
}

// AVX-512F: bfloat16 by integer arithmetic.
avx512_f32!(Avx512F32, {
    #[inline(always)]
    unsafe fn store_bf16(self, ptr: *mut u16) {
        // SAFETY: the caller guarantees 16 writable u16s; `self` proves AVX-512F.
        unsafe {
            _mm256_storeu_si256(
                ptr.cast(),
                _mm512_cvtepi32_epi16(bf16_bits_by_integer(self.0)),
            )
        }
    }
});

// AVX512-BF16: `vcvtneps2bf16` rounds to nearest even and quiets NaNs as the integer
// arithmetic does, but reads subnormal inputs as zero (where rounding gives a bfloat16
// subnormal): a vector holding one (AVX512-DQ's `vfpclassps`, rare in activations' outputs)
// takes the integer path.
avx512_f32!(Avx512Bf16F32, {
    #[inline(always)]
    unsafe fn store_bf16(self, ptr: *mut u16) {
        // SAFETY: the caller guarantees 16 writable u16s; `self` proves AVX-512F, AVX512-BF16
        // and AVX512-DQ (this type's row requires all three). `__m256bh` and `__m256i` are
        // both 32 bytes of plain bits.
        unsafe {
            let bits = if _mm512_fpclass_ps_mask::<SUBNORMAL>(self.0) == 0 {
                core::mem::transmute::<__m256bh, __m256i>(_mm512_cvtneps_pbh(self.0))
            } else {
                _mm512_cvtepi32_epi16(bf16_bits_by_integer(self.0))
            };
            _mm256_storeu_si256(ptr.cast(), bits)
        }
    }
    #[inline(always)]
    unsafe fn store2_bf16(self, next: Self, ptr: *mut u16) {
        // SAFETY: the caller guarantees 32 writable u16s; `self` proves AVX-512F, AVX512-BF16
        // and AVX512-DQ. `__m512bh` and `__m512i` are both 64 bytes of plain bits.
        unsafe {
            let subnormal = _mm512_fpclass_ps_mask::<SUBNORMAL>(self.0)
                | _mm512_fpclass_ps_mask::<SUBNORMAL>(next.0);
            if subnormal == 0 {
                // `vcvtne2ps2bf16` puts its second operand's lanes first.
                let bits = _mm512_cvtne2ps_pbh(next.0, self.0);
                _mm512_storeu_si512(ptr.cast(), core::mem::transmute::<__m512bh, __m512i>(bits))
            } else {
                self.store_bf16(ptr);
                next.store_bf16(ptr.add(16));
            }
        }
    }
});

/// `vfpclassps`'s class bit for subnormal (denormal) values.
const SUBNORMAL: i32 = 0x20;

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
