use actigen::gpu::Gpu;
use actigen::{Activation, activation};
#[activation]
fn ratio(x: f32) -> f32 {
    x * x.exp() / (x.exp() + 1.0)
}
#[activation]
fn q1(x: f32) -> f32 {
    x.exp() / (x.exp() + 1.0)
}
#[activation]
fn q2(x: f32) -> f32 {
    x.exp()
}
#[activation]
fn q3(x: f32) -> f32 {
    x * x.exp()
}
#[test]
fn scratch() {
    let gpu = Gpu::new().unwrap();
    let x: Vec<f32> = vec![224.79883, 100.0, 88.0, 10.0];
    macro_rules! run {
        ($t:expr) => {{
            let mut g = vec![0.0f32; x.len()];
            gpu.forward(&$t, &x, &mut g).unwrap();
            let mut c = vec![0.0f32; x.len()];
            $t.forward(&x, &mut c);
            println!("{}: gpu {:?} cpu {:?}", stringify!($t), g, c);
        }};
    }
    run!(Ratio);
    run!(Q1);
    run!(Q2);
    run!(Q3);
    let ir = <Ratio as actigen::Formula>::IR;
    for (i, n) in ir.nodes.iter().enumerate() {
        if i <= ir.forward {
            println!("{i}: {n:?}");
        }
    }
}
