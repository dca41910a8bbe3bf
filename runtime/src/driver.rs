//! Slice drivers: the kernel bodies instantiated per ISA inside `#[target_feature]` functions.
//!
//! Each pass is a [`Job`], written once, generic over the vector type (the pattern of pulp's
//! `WithSimd`). `crate::dispatch::run` picks the vector type for the ISA and calls the job
//! inside a function compiled for that ISA, so every `#[inline(always)]` vector method and
//! kernel body is compiled with the right instructions. Nothing here names an ISA.
//!
//! Loops: two vectors per iteration, then the tail (fewer than two vectors) through a stack
//! buffer, with the same two-vector body (a partial load and store: the function is applied
//! exactly once to each element, also in place). One inlined copy of the two-vector body per
//! loop, not three: the kernels are large once the formula is inlined, and each copy costs
//! compile time in every crate that defines an activation.
//!
//! Codegen units: each job type is defined in a module of its own (`forward`, `pair`, …, the
//! impls beside them here). `crate::dispatch::run` calls a job through a method of the job,
//! and rustc places a generic method's instances in the codegen unit of its self type's
//! module, so each job type's kernels (for every activation and ISA) form one unit, which LLVM
//! optimises in parallel with the others. With the kernels in one unit, the runtime crate took
//! 99 s in rustc on 2 cores, 58 s with them split (`-Ztime-passes`, the test build's features).

use crate::dispatch::{Float, Job, Storage};
use crate::formula::{self, Formula, MAX_PARAMS};
use crate::simd::{Element, MAX_LANES, PREFETCH_AHEAD, PREFETCH_FROM, Vector, prefetch};

/// How the elementwise loops move a storage type to and from its compute vectors: `f32` and
/// `f64` as themselves; `half::f16` and `half::bf16` widened to f32 lanes on load and rounded
/// back (nearest, ties to even) on store, in registers, with the ISA's conversion
/// instructions where it has them ([`Vector::load_f16`] and the others). The kernel between
/// the load and the store is the compute type's, so a half-precision result is the rounding
/// of the f32 kernel's result, bit for bit.
pub(crate) trait Io: Storage {
    /// The zero of the type (fills the tail buffers).
    const ZERO: Self;
    /// Whether stores round to bfloat16 (see [`Job::STORES_BF16`]).
    const STORES_BF16: bool = false;
    /// Loads `V::LANES` values from `p`.
    ///
    /// # Safety
    /// `p` readable for `V::LANES` values; the CPU supports `V`.
    unsafe fn load<V: Vector<Elem = Self::Compute>>(p: *const Self) -> V;
    /// Stores the lanes of `v` to `p`.
    ///
    /// # Safety
    /// `p` writable for `V::LANES` values.
    unsafe fn store<V: Vector<Elem = Self::Compute>>(v: V, p: *mut Self);
    /// Stores the lanes of `a` to `p` and those of `b` after them (the drivers' loops work on
    /// two vectors at a time; bfloat16 converts both in one instruction where the ISA can).
    ///
    /// # Safety
    /// `p` writable for `2·V::LANES` values.
    #[inline(always)]
    unsafe fn store2<V: Vector<Elem = Self::Compute>>(a: V, b: V, p: *mut Self) {
        // SAFETY: as the caller promised.
        unsafe {
            Self::store(a, p);
            Self::store(b, p.add(V::LANES));
        }
    }
}

impl<T: Float> Io for T {
    const ZERO: Self = <T as Element>::ZERO;
    #[inline(always)]
    unsafe fn load<V: Vector<Elem = T>>(p: *const T) -> V {
        // SAFETY: as the caller promised.
        unsafe { V::load(p) }
    }
    #[inline(always)]
    unsafe fn store<V: Vector<Elem = T>>(v: V, p: *mut T) {
        // SAFETY: as the caller promised.
        unsafe { v.store(p) }
    }
}

#[cfg(feature = "half")]
macro_rules! half_io {
    ($($t:ty => $load:ident, $store:ident, $bf16:literal $(, $store2:ident)?);+) => {$(
        impl Io for $t {
            const ZERO: Self = <$t>::ZERO;
            const STORES_BF16: bool = $bf16;
            #[inline(always)]
            unsafe fn load<V: Vector<Elem = f32>>(p: *const $t) -> V {
                // SAFETY: as the caller promised; the half types are `#[repr(transparent)]`
                // over `u16`.
                unsafe { V::$load(p.cast::<u16>()) }
            }
            #[inline(always)]
            unsafe fn store<V: Vector<Elem = f32>>(v: V, p: *mut $t) {
                // SAFETY: as in `load`.
                unsafe { v.$store(p.cast::<u16>()) }
            }
            $(
            #[inline(always)]
            unsafe fn store2<V: Vector<Elem = f32>>(a: V, b: V, p: *mut $t) {
                // SAFETY: as in `load`, for 2·LANES values.
                unsafe { a.$store2(b, p.cast::<u16>()) }
            }
            )?
        }
    )+};
}
#[cfg(feature = "half")]
half_io!(
    half::f16 => load_f16, store_f16, false;
    half::bf16 => load_bf16, store_bf16, true, store2_bf16
);

/// A one-input kernel, applied to two vectors at once (kernels with guards test both with one
/// branch). A trait, not a closure: closures are separate functions that LLVM may decline to
/// inline into the `#[target_feature]` caller, and then compiles without the ISA.
trait Unary<V: Vector> {
    fn apply2(&self, a: V, b: V) -> (V, V);
}

/// A two-input kernel, applied to two pairs of vectors at once (see [`Unary`]).
trait Binary<V: Vector> {
    fn apply2(&self, a0: V, b0: V, a1: V, b1: V) -> (V, V);
}

// The kernels hold the formula by value: a local copy cannot alias the output slice, so its
// parameters stay in registers across the loop instead of being reloaded after every store.
struct ForwardK<F>(F);
impl<F: Formula, V: Vector> Unary<V> for ForwardK<F> {
    #[inline(always)]
    fn apply2(&self, a: V, b: V) -> (V, V) {
        formula::forward2(&self.0, a, b)
    }
}

struct PartialK<F>(F, usize);
impl<F: Formula, V: Vector> Unary<V> for PartialK<F> {
    #[inline(always)]
    fn apply2(&self, a: V, b: V) -> (V, V) {
        let j = 1 + self.1;
        (formula::grads(&self.0, a)[j], formula::grads(&self.0, b)[j])
    }
}

/// What a two-input pass computes from two pairs `(a, b)`: `a` is x (or y), `b` is dy.
pub(crate) trait PairKernel {
    fn apply2<F: Formula, V: Vector>(f: &F, a0: V, b0: V, a1: V, b1: V) -> (V, V);
}

/// dx = dy · f′(x).
pub(crate) struct BackwardPass;
impl PairKernel for BackwardPass {
    #[inline(always)]
    fn apply2<F: Formula, V: Vector>(f: &F, x0: V, dy0: V, x1: V, dy1: V) -> (V, V) {
        let (d0, d1) = formula::derivative2(f, x0, x1);
        (dy0 * d0, dy1 * d1)
    }
}

/// dx = dy · f′ computed from y = f(x).
pub(crate) struct FromOutputPass;
impl PairKernel for FromOutputPass {
    #[inline(always)]
    fn apply2<F: Formula, V: Vector>(f: &F, y0: V, dy0: V, y1: V, dy1: V) -> (V, V) {
        let (d0, d1) = formula::derivative_from_output2(f, y0, y1);
        (dy0 * d0, dy1 * d1)
    }
}

/// out = dy · f″(x).
pub(crate) struct Grad2Pass;
impl PairKernel for Grad2Pass {
    #[inline(always)]
    fn apply2<F: Formula, V: Vector>(f: &F, x0: V, dy0: V, x1: V, dy1: V) -> (V, V) {
        let (d0, d1) = formula::second_derivative2(f, x0, x1);
        (dy0 * d0, dy1 * d1)
    }
}

struct PairK<F, K>(F, core::marker::PhantomData<K>);
impl<F: Formula, K: PairKernel, V: Vector> Binary<V> for PairK<F, K> {
    #[inline(always)]
    fn apply2(&self, a0: V, b0: V, a1: V, b1: V) -> (V, V) {
        K::apply2(&self.0, a0, b0, a1, b1)
    }
}

/// A mask for the loop index, all ones, that the optimiser cannot see through for vector types
/// that ask for it (`Vector::OPAQUE_LOOP`: the portable arrays). Masking the index makes the
/// loop's trip count one LLVM cannot compute, so its loop vectoriser leaves the loop alone:
/// otherwise it vectorises the arrays' lane-wise code *across* iterations (lane 0 of four
/// iterations in one register, a transpose at every load and store, 2–3× slower), where the
/// SLP vectoriser turns each body into straight-line vector code. One `and` per iteration.
#[inline(always)]
pub(crate) fn index_mask<V: Vector>() -> usize {
    if V::OPAQUE_LOOP {
        core::hint::black_box(usize::MAX)
    } else {
        usize::MAX
    }
}

/// Whether a loop over `n` elements of `S` prefetches ([`ahead`]): from [`PREFETCH_FROM`]
/// bytes per slice; below it the slices are usually in L1 or L2 already, and the prefetches
/// would only cost instructions. The loops test this flag on each iteration (a prefetch of
/// each block's lines once before the block instead, the kernel's loop left as it was, gained
/// less at n = 262144 and 4194304 and cost the backward up to 1.12×).
#[inline(always)]
fn far<S>(n: usize) -> bool {
    n.saturating_mul(core::mem::size_of::<S>()) >= PREFETCH_FROM
}

/// Prefetches the `count` elements that the loop reaches [`PREFETCH_AHEAD`] bytes after
/// element `i` of `p` (see [`prefetch`]).
#[inline(always)]
fn ahead<S>(p: *const S, i: usize, count: usize) {
    let at = p.wrapping_add(i).cast::<u8>().wrapping_add(PREFETCH_AHEAD);
    prefetch(at, count * core::mem::size_of::<S>());
}

/// Applies `k` to `n` elements from `src` into `dst` (which may equal `src`).
///
/// # Safety
/// `src` readable and `dst` writable for `n` elements; the CPU supports `V`.
#[inline(always)]
unsafe fn map<V: Vector, S: Io<Compute = V::Elem>, K: Unary<V>>(
    src: *const S,
    dst: *mut S,
    n: usize,
    k: K,
) {
    const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
    let l = V::LANES;
    let mut i = 0;
    let mask = index_mask::<V>();
    let far = far::<S>(n);
    // SAFETY (whole body): every access is below `n`, as checked by the loop conditions; the
    // tail (`rest` < 2·LANES elements) goes through stack buffers of 2·MAX_LANES ≥ 2·LANES
    // elements (asserted above).
    unsafe {
        while i + 2 * l <= n {
            if far {
                ahead(src, i, 2 * l);
                ahead(dst, i, 2 * l);
            }
            let (ra, rb) = k.apply2(S::load(src.add(i)), S::load(src.add(i + l)));
            S::store2(ra, rb, dst.add(i));
            i = (i + 2 * l) & mask;
        }
        if i < n {
            let rest = n - i;
            let mut buf = [S::ZERO; 2 * MAX_LANES];
            let p = buf.as_mut_ptr();
            core::ptr::copy_nonoverlapping(src.add(i), p, rest);
            let (ra, rb) = k.apply2(S::load(p), S::load(p.add(l)));
            S::store(ra, p);
            S::store(rb, p.add(l));
            core::ptr::copy_nonoverlapping(p, dst.add(i), rest);
        }
    }
}

/// `dst[i] = k(a[i], b[i])`.
///
/// # Safety
/// `a`, `b` readable and `dst` writable for `n` elements; the CPU supports `V`.
#[inline(always)]
unsafe fn zip<V: Vector, S: Io<Compute = V::Elem>, K: Binary<V>>(
    a: *const S,
    b: *const S,
    dst: *mut S,
    n: usize,
    k: K,
) {
    const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
    let l = V::LANES;
    let mut i = 0;
    let mask = index_mask::<V>();
    let far = far::<S>(n);
    // SAFETY (whole body): as in `map` (the same assertion above).
    unsafe {
        while i + 2 * l <= n {
            if far {
                ahead(a, i, 2 * l);
                ahead(b, i, 2 * l);
                ahead(dst, i, 2 * l);
            }
            let (a0, b0) = (S::load(a.add(i)), S::load(b.add(i)));
            let (a1, b1) = (S::load(a.add(i + l)), S::load(b.add(i + l)));
            let (r0, r1) = k.apply2(a0, b0, a1, b1);
            S::store2(r0, r1, dst.add(i));
            i = (i + 2 * l) & mask;
        }
        if i < n {
            let rest = n - i;
            let mut ba = [S::ZERO; 2 * MAX_LANES];
            let mut bb = [S::ZERO; 2 * MAX_LANES];
            let (pa, pb) = (ba.as_mut_ptr(), bb.as_mut_ptr());
            core::ptr::copy_nonoverlapping(a.add(i), pa, rest);
            core::ptr::copy_nonoverlapping(b.add(i), pb, rest);
            let (r0, r1) = k.apply2(
                S::load(pa),
                S::load(pb),
                S::load(pa.add(l)),
                S::load(pb.add(l)),
            );
            S::store(r0, pa);
            S::store(r1, pa.add(l));
            core::ptr::copy_nonoverlapping(pa, dst.add(i), rest);
        }
    }
}

pub(crate) use forward::Forward;

/// [`Forward`]'s own module (see "Codegen units" at the top of this file).
mod forward {
    /// y = f(x); `y` may equal `x` (in place).
    pub(crate) struct Forward<'a, F, T> {
        pub f: &'a F,
        pub x: *const T,
        pub y: *mut T,
        pub n: usize,
    }
}

impl<F: Formula, S: Io> Job<S::Compute> for Forward<'_, F, S> {
    const STORES_BF16: bool = S::STORES_BF16;
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = S::Compute>>(self) {
        // SAFETY: pointers valid for n elements (the job's contract).
        unsafe { map::<V, S, _>(self.x, self.y, self.n, ForwardK(*self.f)) }
    }
}

pub(crate) use pair::Pair;

/// [`Pair`]'s own module (see "Codegen units" at the top of this file).
mod pair {
    /// out = K(a, b) elementwise: backward, backward from the output, grad2.
    pub(crate) struct Pair<'a, F, T, K> {
        pub f: &'a F,
        pub a: *const T,
        pub b: *const T,
        pub out: *mut T,
        pub n: usize,
        pub kernel: core::marker::PhantomData<K>,
    }
}

impl<F: Formula, S: Io, K: PairKernel> Job<S::Compute> for Pair<'_, F, S, K> {
    const STORES_BF16: bool = S::STORES_BF16;
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = S::Compute>>(self) {
        let k = PairK::<F, K>(*self.f, core::marker::PhantomData);
        // SAFETY: pointers valid for n elements (the job's contract).
        unsafe { zip::<V, S, _>(self.a, self.b, self.out, self.n, k) }
    }
}

/// Parameter-gradient sums, in f64 from the first product and in one order on every ISA.
///
/// Element i's product `dy[i]·∂f/∂pⱼ(x[i])` is formed in f64 (exact for f32 inputs: 24 + 24
/// bits) and added to accumulator `i mod 16` of parameter j, in increasing i; the 16
/// accumulators are then summed in a fixed pairwise order. Every vector width (1, 4, 8 or 16
/// lanes) divides 16, so each ISA adds the same products in the same order: the result is
/// bit-identical across ISAs, and no f32 partial sum can overflow (PReLU's gradient at inputs
/// near ±3.4e38 was −inf on one path and −4e38 on another when blocks were summed in f32).
pub(crate) struct ParamSums {
    acc: [[f64; MAX_LANES]; MAX_PARAMS],
}

impl ParamSums {
    pub(crate) fn new() -> Self {
        ParamSums {
            acc: [[0.0; MAX_LANES]; MAX_PARAMS],
        }
    }

    /// Adds the first `live` lanes of `dy·g` for parameter `j`; `start` is the index of the
    /// vector's first element (a multiple of `V::LANES`).
    #[inline(always)]
    pub(crate) fn add<V: Vector>(&mut self, j: usize, dy: V, g: V, start: usize, live: usize) {
        const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES && MAX_LANES.is_multiple_of(V::LANES)) };
        let mut a = [V::Elem::ZERO; MAX_LANES];
        let mut b = [V::Elem::ZERO; MAX_LANES];
        // SAFETY: both buffers hold MAX_LANES ≥ LANES elements (asserted above).
        unsafe {
            dy.store(a.as_mut_ptr());
            g.store(b.as_mut_ptr());
        }
        // `start` is a multiple of LANES, which divides MAX_LANES: the lanes map to
        // accumulators `off .. off + LANES` without wrapping.
        let off = start % MAX_LANES;
        let acc = &mut self.acc[j][off..off + V::LANES];
        for ((s, &p), &q) in acc.iter_mut().zip(&a[..live]).zip(&b[..live]) {
            *s += p.to_f64() * q.to_f64();
        }
    }

    /// The sum for parameter `j`: the 16 accumulators added pairwise in a fixed order.
    pub(crate) fn total(&self, j: usize) -> f64 {
        let mut v = self.acc[j];
        let mut width = MAX_LANES;
        while width > 1 {
            width /= 2;
            for k in 0..width {
                v[k] += v[k + width];
            }
        }
        v[0]
    }
}

pub(crate) use backward_fused::BackwardFused;

/// [`BackwardFused`]'s own module (see "Codegen units" at the top of this file).
mod backward_fused {
    /// One pass: optional dx = dy · f′(x), and Σ dy·∂f/∂pⱼ into `sums` (see
    /// [`ParamSums`](super::ParamSums)).
    pub(crate) struct BackwardFused<'a, F, T> {
        pub f: &'a F,
        pub x: *const T,
        pub dy: *const T,
        pub dx: Option<*mut T>,
        pub n: usize,
        pub sums: &'a mut [f64],
    }
}

impl<F: Formula, T: Float> Job<T> for BackwardFused<'_, F, T> {
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = T>>(self) {
        const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
        const { assert!(F::PARAM_NAMES.len() <= MAX_PARAMS) };
        let np = F::PARAM_NAMES.len();
        let l = V::LANES;
        let (f, n) = (&{ *self.f }, self.n);
        let mut sums = ParamSums::new();
        let mut i = 0;
        let mask = index_mask::<V>();
        // SAFETY: x, dy readable (and dx writable) for n elements; the tail (< LANES elements)
        // goes through stack buffers of MAX_LANES ≥ LANES elements (asserted above).
        unsafe {
            while i + l <= n {
                let x = V::load(self.x.add(i));
                let dy = V::load(self.dy.add(i));
                let g = formula::grads(f, x);
                for j in 0..np {
                    sums.add(j, dy, g[1 + j], i, l);
                }
                if let Some(p) = self.dx {
                    (dy * g[0]).store(p.add(i));
                }
                i = (i + l) & mask;
            }
            if i < n {
                let rest = n - i;
                let mut bx = [T::ZERO; MAX_LANES];
                let mut bd = [T::ZERO; MAX_LANES];
                core::ptr::copy_nonoverlapping(self.x.add(i), bx.as_mut_ptr(), rest);
                core::ptr::copy_nonoverlapping(self.dy.add(i), bd.as_mut_ptr(), rest);
                let (x, dy) = (V::load(bx.as_ptr()), V::load(bd.as_ptr()));
                let g = formula::grads(f, x);
                for j in 0..np {
                    sums.add(j, dy, g[1 + j], i, rest);
                }
                if let Some(p) = self.dx {
                    (dy * g[0]).store(bx.as_mut_ptr());
                    core::ptr::copy_nonoverlapping(bx.as_ptr(), p.add(i), rest);
                }
            }
        }
        for (j, sum) in self.sums.iter_mut().enumerate().take(np) {
            *sum = sums.total(j);
        }
    }
}

pub(crate) use param_partials::ParamPartials;

/// [`ParamPartials`]'s own module (see "Codegen units" at the top of this file).
mod param_partials {
    /// out[j·n + i] = ∂f/∂pⱼ at x[i].
    pub(crate) struct ParamPartials<'a, F, T> {
        pub f: &'a F,
        pub x: *const T,
        pub out: *mut T,
        pub n: usize,
    }
}

impl<F: Formula, T: Float> Job<T> for ParamPartials<'_, F, T> {
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = T>>(self) {
        let np = F::PARAM_NAMES.len();
        let (f, n) = (self.f, self.n);
        for j in 0..np {
            // SAFETY: x readable for n elements, out writable for np·n (job contract).
            unsafe {
                map::<V, T, _>(self.x, self.out.add(j * n), n, PartialK(*f, j));
            }
        }
    }
}

/// Widens `n` half-precision values (their bits) to f32: bfloat16 if `BF16`, else binary16.
/// The tail goes through stack buffers, so every element is converted by the same vector code.
#[cfg(feature = "half")]
pub(crate) struct Widen<const BF16: bool> {
    pub src: *const u16,
    pub dst: *mut f32,
    pub n: usize,
}

#[cfg(feature = "half")]
impl<const BF16: bool> Job<f32> for Widen<BF16> {
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = f32>>(self) {
        const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
        #[inline(always)]
        unsafe fn one<V: Vector<Elem = f32>, const BF16: bool>(src: *const u16, dst: *mut f32) {
            // SAFETY: the caller passes LANES readable u16s and LANES writable f32s.
            unsafe {
                let v = if BF16 {
                    V::load_bf16(src)
                } else {
                    V::load_f16(src)
                };
                v.store(dst);
            }
        }
        let (l, n) = (V::LANES, self.n);
        let mut i = 0;
        // SAFETY: src readable and dst writable for n elements (the job's contract); the tail
        // (< LANES) goes through buffers of MAX_LANES ≥ LANES elements (asserted above).
        unsafe {
            while i + l <= n {
                one::<V, BF16>(self.src.add(i), self.dst.add(i));
                i += l;
            }
            if i < n {
                let mut b16 = [0u16; MAX_LANES];
                let mut b32 = [0f32; MAX_LANES];
                core::ptr::copy_nonoverlapping(self.src.add(i), b16.as_mut_ptr(), n - i);
                one::<V, BF16>(b16.as_ptr(), b32.as_mut_ptr());
                core::ptr::copy_nonoverlapping(b32.as_ptr(), self.dst.add(i), n - i);
            }
        }
    }
}

/// Rounds `n` f32 values to half precision (nearest, ties to even), stored as bits: bfloat16
/// if `BF16`, else binary16.
#[cfg(feature = "half")]
pub(crate) struct Narrow<const BF16: bool> {
    pub src: *const f32,
    pub dst: *mut u16,
    pub n: usize,
}

#[cfg(feature = "half")]
impl<const BF16: bool> Job<f32> for Narrow<BF16> {
    const STORES_BF16: bool = BF16;
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = f32>>(self) {
        const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
        #[inline(always)]
        unsafe fn one<V: Vector<Elem = f32>, const BF16: bool>(src: *const f32, dst: *mut u16) {
            // SAFETY: the caller passes LANES readable f32s and LANES writable u16s.
            unsafe {
                let v = V::load(src);
                if BF16 {
                    v.store_bf16(dst)
                } else {
                    v.store_f16(dst)
                }
            }
        }
        let (l, n) = (V::LANES, self.n);
        let mut i = 0;
        // SAFETY: as in `Widen`.
        unsafe {
            // bfloat16 two vectors at a time (one conversion of both where the ISA has it).
            if BF16 {
                while i + 2 * l <= n {
                    let (a, b) = (V::load(self.src.add(i)), V::load(self.src.add(i + l)));
                    a.store2_bf16(b, self.dst.add(i));
                    i += 2 * l;
                }
            }
            while i + l <= n {
                one::<V, BF16>(self.src.add(i), self.dst.add(i));
                i += l;
            }
            if i < n {
                let mut b32 = [0f32; MAX_LANES];
                let mut b16 = [0u16; MAX_LANES];
                core::ptr::copy_nonoverlapping(self.src.add(i), b32.as_mut_ptr(), n - i);
                one::<V, BF16>(b32.as_ptr(), b16.as_mut_ptr());
                core::ptr::copy_nonoverlapping(b16.as_ptr(), self.dst.add(i), n - i);
            }
        }
    }
}

/// Loads one vector from each of `K` inputs at element `i` (a loop, not a closure: see
/// [`Unary`]).
///
/// # Safety
/// Every `x[k]` readable for `V::LANES` values from `i`; the CPU supports `V`.
#[inline(always)]
unsafe fn load_k<V: Vector, S: Io<Compute = V::Elem>, const K: usize>(
    x: &[*const S; K],
    i: usize,
) -> [V; K] {
    // SAFETY: as the caller promised.
    unsafe {
        let mut v = [S::load::<V>(x[0].add(i)); K];
        for k in 1..K {
            v[k] = S::load(x[k].add(i));
        }
        v
    }
}

/// Copies the last `rest` (< LANES) elements of each input, from `i`, into zero-padded stack
/// buffers.
///
/// # Safety
/// Every `x[k]` readable for `rest` values from `i`; `rest ≤ MAX_LANES`.
#[inline(always)]
unsafe fn tail_k<S: Io, const K: usize>(
    x: &[*const S; K],
    i: usize,
    rest: usize,
) -> [[S; MAX_LANES]; K] {
    let mut b = [[S::ZERO; MAX_LANES]; K];
    for (buf, p) in b.iter_mut().zip(x) {
        // SAFETY: as the caller promised; the buffer holds MAX_LANES ≥ rest values.
        unsafe { core::ptr::copy_nonoverlapping(p.add(i), buf.as_mut_ptr(), rest) };
    }
    b
}

pub(crate) use multi_forward::MultiForward;

/// [`MultiForward`]'s own module (see "Codegen units" at the top of this file).
mod multi_forward {
    /// y = f(x₀, …, x_{K−1}) for a K-input formula; `y` may equal an input.
    pub(crate) struct MultiForward<'a, F, S, const K: usize> {
        pub f: &'a F,
        pub x: [*const S; K],
        pub y: *mut S,
        pub n: usize,
    }
}

impl<F: formula::MultiFormula<K>, S: Io, const K: usize> Job<S::Compute>
    for MultiForward<'_, F, S, K>
{
    const STORES_BF16: bool = S::STORES_BF16;
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = S::Compute>>(self) {
        const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
        let (f, l, n) = (&{ *self.f }, V::LANES, self.n);
        let mut i = 0;
        let mask = index_mask::<V>();
        // SAFETY: inputs readable and y writable for n elements (the job's contract); every
        // block is read before it is written (in place is allowed); the tail (< LANES)
        // goes through stack buffers of MAX_LANES ≥ LANES elements (asserted above).
        unsafe {
            // Two blocks per iteration (one NaN test for both), then at most one more.
            while i + 2 * l <= n {
                let (r0, r1) = formula::multi_forward2(
                    f,
                    load_k::<V, S, K>(&self.x, i),
                    load_k::<V, S, K>(&self.x, i + l),
                );
                S::store2(r0, r1, self.y.add(i));
                i = (i + 2 * l) & mask;
            }
            if i + l <= n {
                let r = formula::multi_forward(f, load_k::<V, S, K>(&self.x, i));
                S::store(r, self.y.add(i));
                i += l;
            }
            if i < n {
                let rest = n - i;
                let b = tail_k(&self.x, i, rest);
                let mut p = [b[0].as_ptr(); K];
                for k in 1..K {
                    p[k] = b[k].as_ptr();
                }
                let r = formula::multi_forward(f, load_k::<V, S, K>(&p, 0));
                let mut out = [S::ZERO; MAX_LANES];
                S::store(r, out.as_mut_ptr());
                core::ptr::copy_nonoverlapping(out.as_ptr(), self.y.add(i), rest);
            }
        }
    }
}

/// One full block of a K-input backward: the parameter terms `dy·∂f/∂pⱼ` into `sums`, and
/// `dx[k] = dy·∂f/∂x_k` when `dx` is given. A function, not a closure: a closure in the kernel
/// was not inlined into the ISA's `#[target_feature]` body (the backward ran 10× slower).
///
/// # Safety
/// Every `dx[k]` writable for `V::LANES` elements from `i`.
#[inline(always)]
unsafe fn multi_block<V: Vector<Elem = S::Compute>, S: Io, const K: usize>(
    sums: &mut ParamSums,
    np: usize,
    dx: Option<[*mut S; K]>,
    i: usize,
    dy: V,
    g: &formula::MultiGrads<V>,
) {
    for j in 0..np {
        sums.add(j, dy, g[K + j], i, V::LANES);
    }
    if let Some(dx) = dx {
        for k in 0..K {
            // SAFETY: as the caller promised.
            unsafe { S::store(dy * g[k], dx[k].add(i)) };
        }
    }
}

pub(crate) use multi_backward::MultiBackward;

/// [`MultiBackward`]'s own module (see "Codegen units" at the top of this file).
mod multi_backward {
    /// One pass of a K-input formula's backward: `dx[k] = dy · ∂f/∂x_k` for every input when `dx`
    /// is given (each may equal its input: in place), and `Σ dy·∂f/∂pⱼ` into `sums` (see
    /// [`ParamSums`](super::ParamSums)).
    pub(crate) struct MultiBackward<'a, F, S, const K: usize> {
        pub f: &'a F,
        pub x: [*const S; K],
        pub dy: *const S,
        pub dx: Option<[*mut S; K]>,
        pub n: usize,
        pub sums: &'a mut [f64],
    }
}

impl<F: formula::MultiFormula<K>, S: Io, const K: usize> Job<S::Compute>
    for MultiBackward<'_, F, S, K>
{
    const STORES_BF16: bool = S::STORES_BF16;
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = S::Compute>>(self) {
        // No parameter sums when none were asked for (`sums` empty), and then no parameter
        // partials either (the guards do not look at them: see `formula::multi_grads`): they
        // cost swiglu_oai's backward more than its gradients. (A formula without parameters
        // has one loop.)
        if const { F::PARAM_NAMES.is_empty() } || self.sums.is_empty() {
            // SAFETY: the job's contract, passed on.
            unsafe { self.blocks::<V, false>() }
        } else {
            // SAFETY: as above.
            unsafe { self.blocks::<V, true>() }
        }
    }
}

impl<F: formula::MultiFormula<K>, S: Io, const K: usize> MultiBackward<'_, F, S, K> {
    /// The pass, with the parameter sums when `P`.
    ///
    /// # Safety
    /// The job's contract (see [`Job::run`]).
    #[inline(always)]
    unsafe fn blocks<V: Vector<Elem = S::Compute>, const P: bool>(self) {
        const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
        let np = if P { F::PARAM_NAMES.len() } else { 0 };
        let (f, l, n) = (&{ *self.f }, V::LANES, self.n);
        let mut sums = ParamSums::new();
        let mut i = 0;
        let mask = index_mask::<V>();
        // SAFETY: inputs and dy readable, dx writable for n elements (the job's contract);
        // each block of every input is read before any gradient of it is written (in place is
        // allowed); the tail (< LANES) goes through stack buffers of MAX_LANES ≥ LANES
        // elements (asserted above).
        unsafe {
            // Two blocks per iteration (one NaN test for both), then at most one more; the
            // parameter terms are added block by block in order, as with one per iteration.
            while i + 2 * l <= n {
                let (x0, x1) = (
                    load_k::<V, S, K>(&self.x, i),
                    load_k::<V, S, K>(&self.x, i + l),
                );
                let (dy0, dy1) = (S::load::<V>(self.dy.add(i)), S::load(self.dy.add(i + l)));
                let (g0, g1) = formula::multi_grads2::<F, V, K, P>(f, x0, x1);
                multi_block::<V, S, K>(&mut sums, np, self.dx, i, dy0, &g0);
                multi_block::<V, S, K>(&mut sums, np, self.dx, i + l, dy1, &g1);
                i = (i + 2 * l) & mask;
            }
            if i + l <= n {
                let x = load_k::<V, S, K>(&self.x, i);
                let dy = S::load::<V>(self.dy.add(i));
                let g = formula::multi_grads::<F, V, K, P>(f, x);
                multi_block::<V, S, K>(&mut sums, np, self.dx, i, dy, &g);
                i += l;
            }
            if i < n {
                let rest = n - i;
                let b = tail_k(&self.x, i, rest);
                let mut p = [b[0].as_ptr(); K];
                for k in 1..K {
                    p[k] = b[k].as_ptr();
                }
                let x = load_k::<V, S, K>(&p, 0);
                let mut bd = [S::ZERO; MAX_LANES];
                core::ptr::copy_nonoverlapping(self.dy.add(i), bd.as_mut_ptr(), rest);
                let dy = S::load::<V>(bd.as_ptr());
                let g = formula::multi_grads::<F, V, K, P>(f, x);
                for j in 0..np {
                    sums.add(j, dy, g[K + j], i, rest);
                }
                if let Some(dx) = self.dx {
                    for k in 0..K {
                        let mut out = [S::ZERO; MAX_LANES];
                        S::store(dy * g[k], out.as_mut_ptr());
                        core::ptr::copy_nonoverlapping(out.as_ptr(), dx[k].add(i), rest);
                    }
                }
            }
        }
        for (j, sum) in self.sums.iter_mut().enumerate().take(np) {
            *sum = sums.total(j);
        }
    }
}

pub(crate) use multi_second::MultiSecond;

/// [`MultiSecond`]'s own module (see "Codegen units" at the top of this file).
mod multi_second {
    /// One pass of a K-input formula's second-order backward: `out[j] = dy · Σ_k v[k] ·
    /// ∂²f/∂x_k∂x_j`, each element's Hessian of f applied to `v` (the gradient of `Σ v·dx` for
    /// the backward's `dx = dy·∇f`, which is what double backward needs), times dy.
    pub(crate) struct MultiSecond<'a, F, S, const K: usize> {
        pub f: &'a F,
        pub x: [*const S; K],
        pub dy: *const S,
        pub v: [*const S; K],
        pub out: [*mut S; K],
        pub n: usize,
    }
}

/// `dy · H·v` for one block (see [`MultiSecond`]), the sum over k in order. A function, not a
/// closure (see [`multi_block`]).
#[inline(always)]
fn hessian_times<F: formula::MultiFormula<K>, V: Vector, const K: usize>(
    f: &F,
    x: [V; K],
    v: [V; K],
    dy: V,
) -> [V; K] {
    let h = formula::multi_second(f, x);
    let mut out = [dy; K];
    for (j, o) in out.iter_mut().enumerate() {
        let mut acc = v[0] * h[formula::second_index(K, 0, j)];
        for k in 1..K {
            acc = acc + v[k] * h[formula::second_index(K, k, j)];
        }
        *o = dy * acc;
    }
    out
}

impl<F: formula::MultiFormula<K>, S: Io, const K: usize> Job<S::Compute>
    for MultiSecond<'_, F, S, K>
{
    const STORES_BF16: bool = S::STORES_BF16;
    type Output = ();
    #[inline(always)]
    unsafe fn run<V: Vector<Elem = S::Compute>>(self) {
        const { assert!(V::LANES >= 1 && V::LANES <= MAX_LANES) };
        let (f, l, n) = (&{ *self.f }, V::LANES, self.n);
        let mut i = 0;
        let mask = index_mask::<V>();
        // SAFETY: x, v and dy readable, out writable for n elements (the job's contract; the
        // outputs do not overlap the inputs); the tail (< LANES) goes through stack buffers
        // of MAX_LANES ≥ LANES elements (asserted above).
        unsafe {
            while i + l <= n {
                let x = load_k::<V, S, K>(&self.x, i);
                let v = load_k::<V, S, K>(&self.v, i);
                let dy = S::load::<V>(self.dy.add(i));
                let out = hessian_times(f, x, v, dy);
                for (o, p) in out.iter().zip(&self.out) {
                    S::store(*o, p.add(i));
                }
                i = (i + l) & mask;
            }
            if i < n {
                let rest = n - i;
                let (bx, bv) = (tail_k(&self.x, i, rest), tail_k(&self.v, i, rest));
                let (mut px, mut pv) = ([bx[0].as_ptr(); K], [bv[0].as_ptr(); K]);
                for k in 1..K {
                    px[k] = bx[k].as_ptr();
                    pv[k] = bv[k].as_ptr();
                }
                let (x, v) = (load_k::<V, S, K>(&px, 0), load_k::<V, S, K>(&pv, 0));
                let mut bd = [S::ZERO; MAX_LANES];
                core::ptr::copy_nonoverlapping(self.dy.add(i), bd.as_mut_ptr(), rest);
                let dy = S::load::<V>(bd.as_ptr());
                let out = hessian_times(f, x, v, dy);
                for (o, p) in out.iter().zip(&self.out) {
                    let mut b = [S::ZERO; MAX_LANES];
                    S::store(*o, b.as_mut_ptr());
                    core::ptr::copy_nonoverlapping(b.as_ptr(), p.add(i), rest);
                }
            }
        }
    }
}
