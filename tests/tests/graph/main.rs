//! The formula as data and what is built from it, in one test binary (the activations'
//! kernels are compiled once for the three): the graph against the kernels (`ir`), the WGSL
//! shaders validated (`wgsl`), and the GPU path against the CPU (`gpu`, on lavapipe in CI).

mod gpu;
mod ir;
mod wgsl;
