//! Many cores: long slices are cut into chunks of [`CHUNK`] elements, processed on the current
//! rayon pool (feature `rayon`, on by default).
//!
//! - **When.** A slice of at least [`THRESHOLD`] elements, when the current pool has more than
//!   one thread and [`set_parallel`] has not turned it off. Shorter slices run on the calling
//!   thread, with no task spawned. Every pass splits except `param_partials` (its output is
//!   laid out per parameter).
//! - **Where.** On the current rayon pool: the global one, or the one a caller installs
//!   (`pool.install(|| act.forward(&x, &mut y))` runs on `pool`).
//! - **Same results.** The chunk boundaries are fixed (multiples of `CHUNK` from the slice
//!   start), the elementwise passes do not depend on them, and parameter gradients are summed
//!   per chunk and the chunk sums added in chunk order, on one thread or many: results are
//!   bit-identical for every thread count, including parameter gradients.
//!
//! The per-chunk work reaches these functions as `&dyn Fn`: rayon's iterator machinery is then
//! compiled once per element type, not once per activation and pass (it would double the
//! compile time of a crate that defines activations).
//!
//! `CHUNK` and `THRESHOLD`: one chunk of the cheapest kernels (relu, 0.07 ns per element on
//! AVX-512) takes about 5 µs, several times a rayon task's cost (about 1 µs to steal and run);
//! a slice is split only when every thread of a two-thread pool gets at least one chunk.

use core::sync::atomic::{AtomicBool, Ordering};

/// Elements per chunk of the parallel drivers (and of the parameter-gradient sums).
pub const CHUNK: usize = 1 << 16;

/// The shortest slice the drivers split across threads.
pub const THRESHOLD: usize = 2 * CHUNK;

/// The per-chunk work of [`each3`]: two inputs, one output.
type Each3<'f, A, B, C> = dyn Fn(&[A], &[B], &mut [C]) + Sync + 'f;
/// The per-chunk work of [`sum_chunks`]: x, dy, optional dx, the chunk's parameter sums.
type FusedChunk<'f, A, C> = dyn Fn(&[A], &[A], Option<&mut [C]>, &mut [f64]) + Sync + 'f;

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the parallel drivers on (the default, with the `rayon` feature) or off for the whole
/// process. Results do not depend on it.
pub fn set_parallel(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether slices of `n` elements are split across the current pool's threads.
pub fn splits(n: usize) -> bool {
    #[cfg(feature = "rayon")]
    {
        n >= THRESHOLD && ENABLED.load(Ordering::Relaxed) && rayon::current_num_threads() > 1
    }
    #[cfg(not(feature = "rayon"))]
    {
        let _ = n;
        false
    }
}

/// `f(x, y)` over the whole slices, or over matching chunks in parallel.
pub(crate) fn each2<A: Sync, B: Send>(a: &[A], b: &mut [B], f: &(dyn Fn(&[A], &mut [B]) + Sync)) {
    #[cfg(feature = "rayon")]
    if splits(a.len()) {
        use rayon::prelude::*;
        a.par_chunks(CHUNK)
            .zip(b.par_chunks_mut(CHUNK))
            .for_each(|(a, b)| f(a, b));
        return;
    }
    f(a, b)
}

/// `f(a, b, c)` over the whole slices, or over matching chunks in parallel.
pub(crate) fn each3<A: Sync, B: Sync, C: Send>(
    a: &[A],
    b: &[B],
    c: &mut [C],
    f: &Each3<'_, A, B, C>,
) {
    #[cfg(feature = "rayon")]
    if splits(a.len()) {
        use rayon::prelude::*;
        a.par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .zip(c.par_chunks_mut(CHUNK))
            .for_each(|((a, b), c)| f(a, b, c));
        return;
    }
    f(a, b, c)
}

/// `f(b)` over the whole slice, or over its chunks in parallel.
pub(crate) fn each1<B: Send>(b: &mut [B], f: &(dyn Fn(&mut [B]) + Sync)) {
    #[cfg(feature = "rayon")]
    if splits(b.len()) {
        use rayon::prelude::*;
        b.par_chunks_mut(CHUNK).for_each(f);
        return;
    }
    f(b)
}

/// `f(start, piece)` for consecutive pieces of `out` of `piece` elements each (the last may be
/// shorter), `start` being the piece's offset in `out`: on the current pool when `out` is long
/// enough (see [`splits`]), else in order on this thread. The results come back in piece
/// order either way, so a caller that adds them in that order gets one result for every
/// thread count.
pub(crate) fn map_pieces<T: Send, R: Send>(
    out: &mut [T],
    piece: usize,
    f: &(dyn Fn(usize, &mut [T]) -> R + Sync),
) -> Vec<R> {
    let piece = piece.max(1);
    #[cfg(feature = "rayon")]
    if splits(out.len()) {
        use rayon::prelude::*;
        return out
            .par_chunks_mut(piece)
            .enumerate()
            .map(|(i, p)| f(i * piece, p))
            .collect();
    }
    out.chunks_mut(piece)
        .enumerate()
        .map(|(i, p)| f(i * piece, p))
        .collect()
}

/// [`map_pieces`] for `M` outputs of `n` elements each, cut at the same boundaries:
/// `f(start, pieces)` per piece, the results in piece order.
pub(crate) fn map_pieces_of<T: Send, R: Send, const M: usize>(
    n: usize,
    outputs: [&mut [T]; M],
    piece: usize,
    f: &(dyn Fn(usize, [&mut [T]; M]) -> R + Sync),
) -> Vec<R> {
    let piece = piece.max(1);
    let mut cuts = outputs.map(|o| o.chunks_mut(piece));
    let items: Vec<(usize, [&mut [T]; M])> = (0..n.div_ceil(piece))
        .map(|c| {
            let outs = cuts
                .each_mut()
                .map(|p| p.next().expect("every output has n elements"));
            (c * piece, outs)
        })
        .collect();
    #[cfg(feature = "rayon")]
    if splits(n) {
        use rayon::prelude::*;
        return items.into_par_iter().map(|(s, o)| f(s, o)).collect();
    }
    items.into_iter().map(|(s, o)| f(s, o)).collect()
}

/// The fused backward's shape: `f(x, dy, dx, sums)` per chunk of `CHUNK` elements (on one
/// thread, or in parallel), each chunk's parameter sums added into `total` in chunk order: the
/// same additions on one thread or many.
pub(crate) fn sum_chunks<A: Sync, C: Send>(
    x: &[A],
    dy: &[A],
    dx: Option<&mut [C]>,
    total: &mut [f64],
    f: &FusedChunk<'_, A, C>,
) {
    let np = total.len();
    let one = |x: &[A], dy: &[A], dx: Option<&mut [C]>| {
        let mut s = [0.0; crate::formula::MAX_PARAMS];
        f(x, dy, dx, &mut s[..np]);
        s
    };
    #[cfg(feature = "rayon")]
    if splits(x.len()) {
        use rayon::prelude::*;
        let (xs, dys) = (x.par_chunks(CHUNK), dy.par_chunks(CHUNK));
        let sums: Vec<_> = match dx {
            Some(dx) => xs
                .zip(dys)
                .zip(dx.par_chunks_mut(CHUNK))
                .map(|((x, dy), dx)| one(x, dy, Some(dx)))
                .collect(),
            None => xs.zip(dys).map(|(x, dy)| one(x, dy, None)).collect(),
        };
        for s in sums {
            add(total, &s[..np]);
        }
        return;
    }
    let (xs, dys) = (x.chunks(CHUNK), dy.chunks(CHUNK));
    match dx {
        Some(dx) => {
            for ((x, dy), dx) in xs.zip(dys).zip(dx.chunks_mut(CHUNK)) {
                add(total, &one(x, dy, Some(dx))[..np]);
            }
        }
        None => {
            for (x, dy) in xs.zip(dys) {
                add(total, &one(x, dy, None)[..np]);
            }
        }
    }
}

fn add(total: &mut [f64], s: &[f64]) {
    for (t, v) in total.iter_mut().zip(s) {
        *t += v;
    }
}

/// The per-chunk work of [`chunks`]: the chunk's start, its pieces of the `M` outputs, and the
/// chunk's parameter sums to fill.
type ChunkFn<'f, T, const M: usize> = dyn Fn(usize, [&mut [T]; M], &mut [f64]) + Sync + 'f;

/// The K-input passes' shape: `f(start, outputs, sums)` per chunk of `CHUNK` elements of
/// `0..n` (on one thread, or in parallel), with each output cut at the same boundaries, and
/// each chunk's parameter sums (`total.len()` of them) added into `total` in chunk order: the
/// same additions on one thread or many. Inputs are read by `f` through its captures, sliced
/// at `start`.
pub(crate) fn chunks<T: Send, const M: usize>(
    n: usize,
    outputs: [&mut [T]; M],
    total: &mut [f64],
    f: &ChunkFn<'_, T, M>,
) {
    let np = total.len();
    let one = |start: usize, outs: [&mut [T]; M]| {
        let mut s = [0.0; crate::formula::MAX_PARAMS];
        f(start, outs, &mut s[..np]);
        s
    };
    #[cfg(feature = "rayon")]
    if splits(n) {
        use rayon::prelude::*;
        let mut pieces = outputs.map(|o| o.chunks_mut(CHUNK));
        let items: Vec<(usize, [&mut [T]; M])> = (0..n.div_ceil(CHUNK))
            .map(|c| {
                let outs = pieces
                    .each_mut()
                    .map(|p| p.next().expect("every output has n elements"));
                (c * CHUNK, outs)
            })
            .collect();
        let sums: Vec<_> = items.into_par_iter().map(|(s, o)| one(s, o)).collect();
        for s in sums {
            add(total, &s[..np]);
        }
        return;
    }
    let mut outputs = outputs;
    for start in (0..n).step_by(CHUNK) {
        let end = n.min(start + CHUNK);
        let outs = outputs.each_mut().map(|o| &mut o[start..end]);
        add(total, &one(start, outs)[..np]);
    }
}
