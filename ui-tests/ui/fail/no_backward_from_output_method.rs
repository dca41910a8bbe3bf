use actigen::Swish;

fn main() {
    let mut dx = [0.0f32; 1];
    Swish::default().backward_from_output(&[1.0f32], &[1.0], &mut dx);
}
