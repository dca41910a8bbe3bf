//! The parallel drivers (issue 10): long slices split across the current rayon pool give
//! results bit-identical to one thread, for every length around the chunk boundaries and every
//! thread count, including parameter gradients; short slices are not split.

use actigen::half::bf16;
use actigen::parallel::{CHUNK, THRESHOLD, splits};
use actigen::simd::Element;
use actigen::{Activation, DynActivation, Isa, Storage, by_name};
use actigen_tests::{Rng, pool};

/// The bits of a slice (through f64: exact for every storage type).
fn bits<T: Storage>(v: &[T]) -> Vec<u64> {
    v.iter()
        .map(|v| v.to_compute().to_f64().to_bits())
        .collect()
}

/// Bits of every result of every pass, for comparison.
fn all_passes<T: Storage>(
    act: &(dyn DynActivation + 'static),
    isa: Isa,
    x: &[T],
    dy: &[T],
) -> Vec<Vec<u64>>
where
    dyn DynActivation: Activation<T>,
{
    let mut out = Vec::new();
    let mut buf = x.to_vec();
    act.try_forward_on(isa, x, &mut buf).unwrap();
    let y = buf.clone();
    out.push(bits(&buf));
    act.try_forward_in_place_on(isa, &mut buf).unwrap();
    out.push(bits(&buf));
    act.try_backward_on(isa, x, dy, &mut buf).unwrap();
    out.push(bits(&buf));
    let mut dy_dx = dy.to_vec();
    act.try_backward_in_place_on(isa, x, &mut dy_dx).unwrap();
    out.push(bits(&dy_dx));
    act.try_grad2_on(isa, x, dy, &mut buf).unwrap();
    out.push(bits(&buf));
    if act
        .try_backward_from_output_on(isa, &y, dy, &mut buf)
        .is_ok()
    {
        out.push(bits(&buf));
    }
    let mut g = vec![0.0; act.param_names().len()];
    let mut dx = x.to_vec();
    act.try_backward_fused_on(isa, x, dy, Some(&mut dx), &mut g)
        .unwrap();
    out.push(bits(&dx));
    out.push(bits(&g));
    act.try_backward_fused_on(isa, x, dy, None, &mut g).unwrap();
    out.push(bits(&g));
    out
}

#[test]
fn any_thread_count_gives_the_single_thread_bits() {
    let mut rng = Rng(3);
    let max = 5 * CHUNK + 3;
    let x32: Vec<f32> = (0..max).map(|_| rng.uniform_f32(-30.0, 30.0)).collect();
    let dy32: Vec<f32> = (0..max).map(|_| rng.uniform_f32(-1.0, 1.0)).collect();
    let x64: Vec<f64> = x32.iter().map(|&v| v as f64 * 1.000_000_3).collect();
    let dy64: Vec<f64> = dy32.iter().map(|&v| v as f64).collect();
    let xb: Vec<bf16> = x32.iter().map(|&v| bf16::from_f32(v)).collect();
    let dyb: Vec<bf16> = dy32.iter().map(|&v| bf16::from_f32(v)).collect();
    let acts = [
        by_name("swish", &[("beta", 1.25)]).unwrap(),
        by_name("prelu", &[("alpha", 0.2)]).unwrap(),
        by_name("elu", &[]).unwrap(),
    ];
    let isa = actigen::active_isa();
    let one = pool(1);
    for n in [0, 1, 1000, THRESHOLD - 1, THRESHOLD, THRESHOLD + 17, max] {
        for act in &acts {
            let single = one.install(|| {
                (
                    all_passes(&**act, isa, &x32[..n], &dy32[..n]),
                    all_passes(&**act, isa, &x64[..n], &dy64[..n]),
                    all_passes(&**act, isa, &xb[..n], &dyb[..n]),
                )
            });
            for threads in [2, 3, 4] {
                let many = pool(threads).install(|| {
                    assert_eq!(splits(n), n >= THRESHOLD, "n = {n}, {threads} threads");
                    (
                        all_passes(&**act, isa, &x32[..n], &dy32[..n]),
                        all_passes(&**act, isa, &x64[..n], &dy64[..n]),
                        all_passes(&**act, isa, &xb[..n], &dyb[..n]),
                    )
                });
                assert!(
                    many == single,
                    "{} n = {n}, {threads} threads: results differ from one thread",
                    act.name()
                );
            }
        }
    }
}

#[test]
fn one_thread_pools_and_short_slices_do_not_split() {
    assert!(!pool(1).install(|| splits(10 * THRESHOLD)));
    assert!(!pool(4).install(|| splits(THRESHOLD - 1)));
    assert!(pool(4).install(|| splits(THRESHOLD)));
}
