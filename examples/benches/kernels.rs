//! Criterion benchmarks of the ten activations, forward and backward, f32, n = 262144, on the
//! active ISA (set `ACTIGEN_ISA` to choose). `cargo bench -p actigen-examples`.
//! The `bench` example prints the same measurements as a table or JSON lines.

use actigen::by_name;
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use std::time::Duration;

const N: usize = 262_144;
const ACTS: [&str; 10] = [
    "sigmoid", "tanh", "softsign", "relu", "softrelu", "leaky", "prelu", "elu", "selu", "swish",
];

fn kernels(c: &mut Criterion) {
    let x: Vec<f32> = (0..N)
        .map(|i| -10.0 + 20.0 * ((i * 7919) % N) as f32 / N as f32)
        .collect();
    let dy: Vec<f32> = (0..N).map(|i| ((i % 17) as f32 - 8.0) * 0.125).collect();
    let mut out = vec![0f32; N];
    let mut group = c.benchmark_group(format!("f32_n{N}_{}", actigen::active_isa()));
    group
        .throughput(Throughput::Elements(N as u64))
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for name in ACTS {
        let act = by_name(name, &[]).unwrap();
        group.bench_function(format!("{name}/fwd"), |b| {
            b.iter(|| act.forward(black_box(&x), black_box(&mut out)))
        });
        group.bench_function(format!("{name}/bwd"), |b| {
            b.iter(|| act.backward(black_box(&x), black_box(&dy), black_box(&mut out)))
        });
    }
    group.bench_function("copy/fwd", |b| {
        b.iter(|| black_box(&mut out).copy_from_slice(black_box(&x)))
    });
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
