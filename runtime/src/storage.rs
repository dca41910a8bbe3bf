//! The half-precision storage types (the [`Storage`](crate::Storage) trait is in `dispatch`).
//!
//! `f32` and `f64` are computed in themselves. With the `half` feature (on by default),
//! [`half::f16`] and [`half::bf16`] slices are computed in f32. Forward and backward run the
//! f32 kernel with half loads and stores: each vector is widened in registers (exactly) as it
//! is loaded and rounded back (to nearest, ties to even) as it is stored (`crate::driver::Io`).
//! The other passes (`grad2`, the output-based backward, the fused backward with parameter
//! gradients, the parameter partials) widen a block of inputs into an f32 buffer on the
//! stack, run the f32 pass on it, and round the results back. The conversions are
//! vector code per ISA (for binary16 F16C on the AVX2 path, AVX-512F on the AVX-512 path,
//! `fcvtl`/`fcvtn` on NEON; exact bit arithmetic otherwise: see
//! [`Vector::load_f16`](crate::simd::Vector::load_f16)). Either way
//! the half types' results are the half-precision rounding of the f32 kernel's, bit for bit.

#[cfg(feature = "half")]
pub(crate) use halves::{Half, narrow, widen};

/// The zero of storage type `T` (the adapters' output buffers: `vec![zero(); n]` of f32 or f64
/// is a zeroed allocation, with no pass over the elements).
#[cfg(any(feature = "ndarray", feature = "candle"))]
pub(crate) fn zero<T: crate::Storage>() -> T {
    T::from_compute(<T::Compute as crate::simd::Element>::ZERO)
}

#[cfg(feature = "half")]
mod halves {
    use crate::dispatch::{self, Isa, Storage};
    use crate::driver::{Narrow, Widen};
    use crate::simd::{Element, Sealed};

    impl Sealed for half::f16 {}
    impl Sealed for half::bf16 {}

    impl Storage for half::f16 {
        type Compute = f32;
        const DTYPE: &'static str = "f16";
        #[inline(always)]
        fn to_compute(self) -> f32 {
            f32::from_f16_bits(self.to_bits())
        }
        #[inline(always)]
        fn from_compute(v: f32) -> Self {
            half::f16::from_bits(v.to_f16_bits())
        }
    }

    impl Storage for half::bf16 {
        type Compute = f32;
        const DTYPE: &'static str = "bf16";
        #[inline(always)]
        fn to_compute(self) -> f32 {
            f32::from_bf16_bits(self.to_bits())
        }
        #[inline(always)]
        fn from_compute(v: f32) -> Self {
            half::bf16::from_bits(v.to_bf16_bits())
        }
    }

    /// The half-precision storage types (16 bits, computed in f32).
    pub(crate) trait Half: Storage<Compute = f32> {
        /// bfloat16 (else IEEE binary16).
        const BF16: bool;
    }
    impl Half for half::f16 {
        const BF16: bool = false;
    }
    impl Half for half::bf16 {
        const BF16: bool = true;
    }

    /// `dst = src` widened to f32 on `isa`, which the caller checked is supported.
    pub(crate) fn widen<H: Half>(isa: Isa, src: &[H], dst: &mut [f32]) {
        assert!(isa.is_supported() && src.len() == dst.len());
        let (s, d, n) = (src.as_ptr().cast::<u16>(), dst.as_mut_ptr(), src.len());
        // SAFETY: the ISA is supported (asserted); `half::f16` and `half::bf16` are
        // `#[repr(transparent)]` over `u16`, so `s` is readable for n u16s; `d` is writable
        // for n f32s.
        unsafe {
            if H::BF16 {
                dispatch::run(isa, Widen::<true> { src: s, dst: d, n })
            } else {
                dispatch::run(isa, Widen::<false> { src: s, dst: d, n })
            }
        }
    }

    /// `dst = src` rounded to `H` on `isa`, which the caller checked is supported.
    pub(crate) fn narrow<H: Half>(isa: Isa, src: &[f32], dst: &mut [H]) {
        assert!(isa.is_supported() && src.len() == dst.len());
        let (s, d, n) = (src.as_ptr(), dst.as_mut_ptr().cast::<u16>(), src.len());
        // SAFETY: as in `widen`, the other way round.
        unsafe {
            if H::BF16 {
                dispatch::run(isa, Narrow::<true> { src: s, dst: d, n })
            } else {
                dispatch::run(isa, Narrow::<false> { src: s, dst: d, n })
            }
        }
    }
}
