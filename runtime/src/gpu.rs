//! Activations on a GPU through wgpu (feature `gpu`): the WGSL shaders of [`crate::wgsl`],
//! built once per activation type and pass and cached, run on buffers you already have on the
//! device (`*_buffers`) or on host slices (copied there and back).
//!
//! ```no_run
//! use actigen::{Swish, gpu::Gpu};
//!
//! let gpu = Gpu::new()?; // the default adapter (Vulkan, Metal, DX12 or GL)
//! let x: Vec<f32> = (0..1000).map(|i| i as f32 / 100.0 - 5.0).collect();
//! let mut y = vec![0.0; x.len()];
//! gpu.forward(&Swish::default(), &x, &mut y)?;
//! let (mut dx, dy) = (vec![0.0; x.len()], vec![1.0; x.len()]);
//! let dbeta = gpu.backward(&Swish::default(), &x, &dy, &mut dx)?; // Σ dy·∂f/∂β, in f64
//! # Ok::<(), actigen::Error>(())
//! ```
//!
//! Results are `f32`, computed as the module docs of [`crate::wgsl`] say (the CPU's vector math
//! and guards, on the device's arithmetic). Parameter gradients are summed per workgroup of 256
//! elements on the device in `f32` (a fixed tree) and those sums added on the host in `f64`, in
//! order: the same inputs give the same gradients on the same device.
//!
//! Activations of several inputs (gated units) have `forward_multi`, `backward_multi` (which
//! returns the parameter gradients) and `grad2_multi`, the double backward `outⱼ = dy · Σₖ vₖ ·
//! ∂²f/∂xₖ∂xⱼ`, each as the CPU's [`MultiActivation`](crate::MultiActivation) pass of that name.
//!
//! The host-slice passes also take `half::f16` and `half::bf16` slices (feature `half`;
//! [`GpuElement`]), and the `*_buffers_as` passes binary16 and bfloat16 buffers ([`Storage`]):
//! stored two to a `u32`, computed in `f32`, each result the `f32` pass's rounded to nearest
//! even, on any adapter (no `shader-f16` needed).
//!
//! Errors (every one before anything is written): mismatched lengths ([`Error::Length`]), no
//! adapter or a failed device request, a buffer too small or without `STORAGE` usage
//! ([`Error::Gpu`]), and the passes an activation lacks ([`Error::NoBackwardFromOutput`],
//! [`Error::ParamOutOfRange`]).

use crate::error::Error;
use crate::formula::{Formula, MultiFormula};
use crate::wgsl::{MAX_GRID_X, Pass, Source, Storage, WORKGROUP_SIZE};
use std::any::TypeId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

/// The wgpu this module is built with (its `Buffer`, `Device` and `Queue` are the passes'):
/// use it to make and read buffers of the same version.
pub use wgpu;

/// A device and queue with a cache of compiled passes.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    name: String,
    pipelines: Mutex<HashMap<(TypeId, Pass, Storage), Arc<wgpu::ComputePipeline>>>,
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    #[cfg(feature = "half")]
    impl Sealed for half::f16 {}
    #[cfg(feature = "half")]
    impl Sealed for half::bf16 {}
}

/// An element type of the host-slice passes: `f32`, or `half::f16` and `half::bf16` (feature
/// `half`; stored on the device two to a `u32`, computed in `f32`, see [`Storage::F16`] and
/// [`Storage::Bf16`]). Sealed.
pub trait GpuElement: Copy + sealed::Sealed {
    /// How the shaders store it.
    const STORAGE: Storage;
    /// The values as the device buffer's bytes (padded to a multiple of 4).
    fn bytes(values: &[Self]) -> Cow<'_, [u8]>;
    /// The first `out.len()` values of a device buffer's bytes.
    fn read(bytes: &[u8], out: &mut [Self]);
}

impl GpuElement for f32 {
    const STORAGE: Storage = Storage::F32;
    fn bytes(values: &[f32]) -> Cow<'_, [u8]> {
        Cow::Borrowed(bytemuck::cast_slice(values))
    }
    fn read(bytes: &[u8], out: &mut [f32]) {
        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
}

/// The half types: their bits, two bytes each, little-endian.
macro_rules! half_element {
    ($t:ty, $storage:expr) => {
        #[cfg(feature = "half")]
        impl GpuElement for $t {
            const STORAGE: Storage = $storage;
            fn bytes(values: &[$t]) -> Cow<'_, [u8]> {
                let mut v: Vec<u8> = values
                    .iter()
                    .flat_map(|h| h.to_bits().to_le_bytes())
                    .collect();
                v.resize(v.len().next_multiple_of(4), 0);
                Cow::Owned(v)
            }
            fn read(bytes: &[u8], out: &mut [$t]) {
                for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *o = <$t>::from_bits(u16::from_le_bytes([b[0], b[1]]));
                }
            }
        }
    };
}
half_element!(half::f16, Storage::F16);
half_element!(half::bf16, Storage::Bf16);

/// The bytes of a buffer of `n` elements stored as `storage`.
fn storage_bytes(storage: Storage, n: usize) -> u64 {
    match storage {
        Storage::F32 => 4 * n as u64,
        Storage::F16 | Storage::Bf16 => 4 * n.div_ceil(2) as u64,
    }
}

impl core::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Gpu").field("adapter", &self.name).finish()
    }
}

/// An operand of a dispatch: a host slice's bytes to upload, or a device buffer.
enum Operand<'a> {
    Host(Cow<'a, [u8]>),
    Device(&'a wgpu::Buffer),
}

/// A host slice as an operand.
fn host<T: GpuElement>(s: &[T]) -> Operand<'_> {
    Operand::Host(T::bytes(s))
}

/// An output: a host slice to fill, or a device buffer to write.
type Output<'a, 'b, T> = (Option<&'a mut [T]>, Option<&'b wgpu::Buffer>);

impl Gpu {
    /// The default adapter of the default backends (`WGPU_BACKEND` and the other wgpu
    /// environment variables apply), with the largest buffer limits it offers.
    ///
    /// # Errors
    /// [`Error::Gpu`] when there is no adapter or the device request fails.
    pub fn new() -> Result<Gpu, Error> {
        // Without shader debug info unless `WGPU_DEBUG` asks for it: wgpu's debug builds turn
        // it on, and naga's SPIR-V writer then finds each expression's line by counting the
        // source's lines from its start, quadratic in the length of a shader (the test
        // command's GPU and WGSL tests: 35 s, most of it in that count). Generated shaders
        // gain nothing from it.
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.flags.remove(wgpu::InstanceFlags::DEBUG);
        let instance = wgpu::Instance::new(desc.with_env());
        let adapter = pollster::block_on(instance.request_adapter(&Default::default()))
            .map_err(|e| Error::Gpu(format!("no adapter: {e}")))?;
        let info = adapter.get_info();
        let supported = adapter.limits();
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: supported.max_storage_buffer_binding_size,
            max_buffer_size: supported.max_buffer_size,
            max_storage_buffers_per_shader_stage: supported
                .max_storage_buffers_per_shader_stage
                .min(16),
            ..wgpu::Limits::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("actigen"),
            required_limits: limits,
            ..Default::default()
        }))
        .map_err(|e| Error::Gpu(format!("device request on {}: {e}", info.name)))?;
        Ok(Gpu::with_name(device, queue, info.name))
    }

    /// A device and queue you already have (a framework's). Its limits bound the buffers the
    /// passes accept.
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Gpu {
        Gpu::with_name(device, queue, String::from("(given device)"))
    }

    fn with_name(device: wgpu::Device, queue: wgpu::Queue, name: String) -> Gpu {
        Gpu {
            device,
            queue,
            name,
            pipelines: Mutex::new(HashMap::new()),
        }
    }

    /// The adapter's name (`"llvmpipe (LLVM 15.0.6, 256 bits)"`, `"NVIDIA H200"`).
    pub fn adapter_name(&self) -> &str {
        &self.name
    }

    /// The device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The compiled pass, built on first use.
    fn pipeline(
        &self,
        key: TypeId,
        src: &Source,
        pass: Pass,
        storage: Storage,
    ) -> Result<Arc<wgpu::ComputePipeline>, Error> {
        if let Some(p) = self.lock().get(&(key, pass, storage)) {
            return Ok(p.clone());
        }
        let code = src.wgsl_as(pass, storage)?;
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(src.name),
                source: wgpu::ShaderSource::Wgsl(code.into()),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(src.name),
                layout: None,
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("{} {pass:?}: {e}", src.name)));
        }
        let p = Arc::new(pipeline);
        self.lock().insert((key, pass, storage), p.clone());
        Ok(p)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(TypeId, Pass, Storage), Arc<wgpu::ComputePipeline>>>
    {
        // A panic elsewhere while holding the lock leaves the map valid.
        self.pipelines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `pass` over `n` elements: `inputs` read, `outputs` written (host slices are
    /// uploaded and read back). Returns the parameter gradients for [`Pass::Backward`] (empty
    /// otherwise). Every check comes before the first write.
    #[allow(clippy::too_many_arguments)]
    fn run<T: GpuElement>(
        &self,
        (key, src, params): (TypeId, &Source, &[f32]),
        pass: Pass,
        storage: Storage,
        inputs: &[Operand],
        outputs: &mut [Output<'_, '_, T>],
        n: usize,
    ) -> Result<Vec<f64>, Error> {
        // Host outputs are read back as stored.
        debug_assert!(outputs.iter().all(|o| o.0.is_none()) || storage == T::STORAGE);
        let p = src.ir.params;
        let sums = pass == Pass::Backward && p > 0;
        if n == 0 {
            return Ok(vec![0.0; if sums { p } else { 0 }]);
        }
        let n32 =
            u32::try_from(n).map_err(|_| Error::Gpu(format!("{n} elements: at most 2³² − 1")))?;
        let bytes = storage_bytes(storage, n);
        // Entries of the shader's arrays: elements, or pairs of f16.
        let entries32 = u32::try_from(bytes / 4).expect("at most n");
        let check = |b: &wgpu::Buffer, what: &str| {
            if b.size() < bytes {
                return Err(Error::Gpu(format!(
                    "buffer `{what}` holds {} bytes, the pass needs {bytes}",
                    b.size()
                )));
            }
            if !b.usage().contains(wgpu::BufferUsages::STORAGE) {
                return Err(Error::Gpu(format!("buffer `{what}` lacks STORAGE usage")));
            }
            Ok(())
        };
        for (i, op) in inputs.iter().enumerate() {
            if let Operand::Device(b) = op {
                check(b, &format!("input {i}"))?;
            }
        }
        for (i, (_, b)) in outputs.iter().enumerate() {
            if let Some(b) = b {
                check(b, &format!("output {i}"))?;
            }
        }
        let max = self.device.limits().max_storage_buffer_binding_size;
        if bytes > max {
            return Err(Error::Gpu(format!(
                "{n} elements: the device binds at most {max} bytes per buffer"
            )));
        }
        let pipeline = self.pipeline(key, src, pass, storage)?;
        let groups = entries32.div_ceil(WORKGROUP_SIZE);
        let gx = groups.min(MAX_GRID_X);
        let gy = groups.div_ceil(gx);

        let d = &self.device;
        let usage = wgpu::BufferUsages::STORAGE;
        let init = |label: &str, contents: &[u8], usage| {
            d.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
        };
        let info = init("info", bytemuck::cast_slice(&[entries32, 0u32, n32]), usage);
        let param_buf = (p > 0).then(|| init("params", bytemuck::cast_slice(params), usage));
        let uploaded: Vec<Option<wgpu::Buffer>> = inputs
            .iter()
            .map(|op| match op {
                Operand::Host(s) => Some(init("input", s, usage)),
                Operand::Device(_) => None,
            })
            .collect();
        let out_bufs: Vec<Option<wgpu::Buffer>> = outputs
            .iter()
            .map(|(_, b)| match b {
                Some(_) => None,
                None => Some(d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("output"),
                    size: bytes,
                    usage: usage | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })),
            })
            .collect();
        let sums_bytes = 4 * (groups as u64) * p as u64;
        let sums_buf = sums.then(|| {
            d.create_buffer(&wgpu::BufferDescriptor {
                label: Some("sums"),
                size: sums_bytes,
                usage: usage | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: info.as_entire_binding(),
        }];
        if let Some(b) = &param_buf {
            entries.push(wgpu::BindGroupEntry {
                binding: 1,
                resource: b.as_entire_binding(),
            });
        }
        let mut binding = 2;
        for (op, up) in inputs.iter().zip(&uploaded) {
            let b = match (op, up) {
                (Operand::Device(b), _) => *b,
                (_, Some(b)) => b,
                (Operand::Host(_), None) => unreachable!("uploaded above"),
            };
            entries.push(wgpu::BindGroupEntry {
                binding,
                resource: b.as_entire_binding(),
            });
            binding += 1;
        }
        for ((_, given), made) in outputs.iter().zip(&out_bufs) {
            let b = given.or(made.as_ref()).expect("one of the two");
            entries.push(wgpu::BindGroupEntry {
                binding,
                resource: b.as_entire_binding(),
            });
            binding += 1;
        }
        if let Some(b) = &sums_buf {
            entries.push(wgpu::BindGroupEntry {
                binding,
                resource: b.as_entire_binding(),
            });
        }
        let scope = d.push_error_scope(wgpu::ErrorFilter::Validation);
        let group = d.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(src.name),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut encoder = d.create_command_encoder(&Default::default());
        {
            let mut cpass = encoder.begin_compute_pass(&Default::default());
            cpass.set_pipeline(&pipeline);
            cpass.set_bind_group(0, &group, &[]);
            cpass.dispatch_workgroups(gx, gy, 1);
        }
        // Read-back copies of what the host wants.
        let mut readback = Vec::new();
        for ((host, _), made) in outputs.iter().zip(&out_bufs) {
            if let (Some(_), Some(b)) = (host, made) {
                let staging = d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("readback"),
                    size: bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                encoder.copy_buffer_to_buffer(b, 0, &staging, 0, bytes);
                readback.push(Some(staging));
            } else {
                readback.push(None);
            }
        }
        let sums_staging = sums_buf.as_ref().map(|b| {
            let staging = d.create_buffer(&wgpu::BufferDescriptor {
                label: Some("sums readback"),
                size: sums_bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            encoder.copy_buffer_to_buffer(b, 0, &staging, 0, sums_bytes);
            staging
        });
        self.queue.submit([encoder.finish()]);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Gpu(format!("{} {pass:?}: {e}", src.name)));
        }
        // Map everything, wait once, then copy out.
        let maps: Vec<&wgpu::Buffer> = readback.iter().flatten().chain(&sums_staging).collect();
        for b in &maps {
            b.map_async(wgpu::MapMode::Read, .., |_| {});
        }
        d.poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))?;
        let read = |b: &wgpu::Buffer| -> Result<Vec<u8>, Error> {
            let view = b
                .get_mapped_range(..)
                .map_err(|e| Error::Gpu(format!("reading back: {e}")))?;
            let v = view.to_vec();
            drop(view);
            b.unmap();
            Ok(v)
        };
        let mut values = Vec::new();
        for staging in &readback {
            values.push(match staging {
                Some(b) => Some(read(b)?),
                None => None,
            });
        }
        let grads = match &sums_staging {
            Some(b) => {
                let bytes = read(b)?;
                let mut s = vec![0.0f32; bytes.len() / 4];
                f32::read(&bytes, &mut s);
                let mut g = vec![0.0f64; p];
                for row in s.chunks_exact(p) {
                    for (acc, &v) in g.iter_mut().zip(row) {
                        *acc += v as f64;
                    }
                }
                g
            }
            None => Vec::new(),
        };
        // Every read succeeded: now write the host outputs.
        for ((host, _), v) in outputs.iter_mut().zip(values) {
            if let (Some(h), Some(v)) = (host, v) {
                T::read(&v, h);
            }
        }
        Ok(grads)
    }

    /// `y = f(x)` on host slices.
    ///
    /// # Errors
    /// See the module docs.
    pub fn forward<F: Formula, T: GpuElement>(
        &self,
        f: &F,
        x: &[T],
        y: &mut [T],
    ) -> Result<(), Error> {
        lengths(&[("x", x.len()), ("y", y.len())])?;
        let (src, params) = one(f);
        let n = x.len();
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Forward,
            T::STORAGE,
            &[host(x)],
            &mut [(Some(y), None)],
            n,
        )
        .map(drop)
    }

    /// `dx = dy · f′(x)` on host slices; returns the parameter gradients `Σ dy·∂f/∂pⱼ`
    /// (empty without parameters).
    ///
    /// # Errors
    /// See the module docs.
    pub fn backward<F: Formula, T: GpuElement>(
        &self,
        f: &F,
        x: &[T],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<Vec<f64>, Error> {
        lengths(&[("x", x.len()), ("dy", dy.len()), ("dx", dx.len())])?;
        let (src, params) = one(f);
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Backward,
            T::STORAGE,
            &[host(x), host(dy)],
            &mut [(Some(dx), None)],
            x.len(),
        )
    }

    /// `out = dy · f″(x)` on host slices.
    ///
    /// # Errors
    /// See the module docs.
    pub fn grad2<F: Formula, T: GpuElement>(
        &self,
        f: &F,
        x: &[T],
        dy: &[T],
        out: &mut [T],
    ) -> Result<(), Error> {
        lengths(&[("x", x.len()), ("dy", dy.len()), ("out", out.len())])?;
        let (src, params) = one(f);
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Grad2,
            T::STORAGE,
            &[host(x), host(dy)],
            &mut [(Some(out), None)],
            x.len(),
        )
        .map(drop)
    }

    /// `dx = dy · f′` from the output `y = f(x)`, on host slices.
    ///
    /// # Errors
    /// As the CPU's `try_backward_from_output`, and see the module docs.
    pub fn backward_from_output<F: Formula, T: GpuElement>(
        &self,
        f: &F,
        y: &[T],
        dy: &[T],
        dx: &mut [T],
    ) -> Result<(), Error> {
        lengths(&[("y", y.len()), ("dy", dy.len()), ("dx", dx.len())])?;
        crate::activation::check_from_output(f)?;
        let (src, params) = one(f);
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::BackwardFromOutput,
            T::STORAGE,
            &[host(y), host(dy)],
            &mut [(Some(dx), None)],
            y.len(),
        )
        .map(drop)
    }

    /// `y = f(x₀, …)` for a K-input activation, on host slices.
    ///
    /// # Errors
    /// See the module docs.
    pub fn forward_multi<F: MultiFormula<K>, T: GpuElement, const K: usize>(
        &self,
        f: &F,
        x: [&[T]; K],
        y: &mut [T],
    ) -> Result<(), Error> {
        let mut lens = input_lengths::<F, T, K>(x);
        lens.push(("y", y.len()));
        lengths(&lens)?;
        let (src, params) = multi(f);
        let inputs: Vec<Operand> = x.iter().map(|s| host(s)).collect();
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Forward,
            T::STORAGE,
            &inputs,
            &mut [(Some(y), None)],
            x[0].len(),
        )
        .map(drop)
    }

    /// `dxₖ = dy · ∂f/∂xₖ` for every input of a K-input activation, on host slices; returns
    /// the parameter gradients.
    ///
    /// # Errors
    /// See the module docs.
    pub fn backward_multi<F: MultiFormula<K>, T: GpuElement, const K: usize>(
        &self,
        f: &F,
        x: [&[T]; K],
        dy: &[T],
        dx: [&mut [T]; K],
    ) -> Result<Vec<f64>, Error> {
        let mut lens = input_lengths::<F, T, K>(x);
        lens.push(("dy", dy.len()));
        lens.extend(dx.iter().map(|s| ("dx", s.len())));
        lengths(&lens)?;
        let (src, params) = multi(f);
        let mut inputs: Vec<Operand> = x.iter().map(|s| host(s)).collect();
        inputs.push(host(dy));
        let mut outputs: Vec<Output<'_, '_, T>> = dx.into_iter().map(|s| (Some(s), None)).collect();
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Backward,
            T::STORAGE,
            &inputs,
            &mut outputs,
            x[0].len(),
        )
    }

    /// The double backward of a K-input activation on host slices: `outⱼ = dy · Σₖ vₖ ·
    /// ∂²f/∂xₖ∂xⱼ`, as the CPU's [`MultiActivation::grad2`](crate::MultiActivation::grad2).
    ///
    /// # Errors
    /// See the module docs.
    pub fn grad2_multi<F: MultiFormula<K>, T: GpuElement, const K: usize>(
        &self,
        f: &F,
        x: [&[T]; K],
        dy: &[T],
        v: [&[T]; K],
        out: [&mut [T]; K],
    ) -> Result<(), Error> {
        let mut lens = input_lengths::<F, T, K>(x);
        lens.push(("dy", dy.len()));
        lens.extend(v.iter().map(|s| ("v", s.len())));
        lens.extend(out.iter().map(|s| ("out", s.len())));
        lengths(&lens)?;
        let (src, params) = multi(f);
        let mut inputs: Vec<Operand> = x.iter().map(|s| host(s)).collect();
        inputs.push(host(dy));
        inputs.extend(v.iter().map(|s| host(s)));
        let mut outputs: Vec<Output<'_, '_, T>> =
            out.into_iter().map(|s| (Some(s), None)).collect();
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Grad2,
            T::STORAGE,
            &inputs,
            &mut outputs,
            x[0].len(),
        )
        .map(drop)
    }

    /// [`Gpu::forward`] on device buffers of at least `n` `f32`s (`STORAGE` usage): `y` is
    /// written by the GPU; the call returns once the work is submitted and done.
    ///
    /// # Errors
    /// See the module docs.
    pub fn forward_buffers<F: Formula>(
        &self,
        f: &F,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        n: usize,
    ) -> Result<(), Error> {
        self.forward_buffers_as(f, Storage::F32, x, y, n)
    }

    /// [`Gpu::forward_buffers`] with the buffers stored as `storage` (for [`Storage::F16`], ⌈n/2⌉
    /// `u32`s each, two binary16 values per `u32`: see [`Storage::F16`]).
    ///
    /// # Errors
    /// See the module docs.
    pub fn forward_buffers_as<F: Formula>(
        &self,
        f: &F,
        storage: Storage,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        n: usize,
    ) -> Result<(), Error> {
        let (src, params) = one(f);
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Forward,
            storage,
            &[Operand::Device(x)],
            &mut [(None::<&mut [f32]>, Some(y))],
            n,
        )
        .map(drop)
    }

    /// [`Gpu::backward`] on device buffers of at least `n` `f32`s; returns the parameter
    /// gradients.
    ///
    /// # Errors
    /// See the module docs.
    pub fn backward_buffers<F: Formula>(
        &self,
        f: &F,
        x: &wgpu::Buffer,
        dy: &wgpu::Buffer,
        dx: &wgpu::Buffer,
        n: usize,
    ) -> Result<Vec<f64>, Error> {
        self.backward_buffers_as(f, Storage::F32, x, dy, dx, n)
    }

    /// [`Gpu::backward_buffers`] with the buffers stored as `storage` (for [`Storage::F16`], ⌈n/2⌉
    /// `u32`s each, two binary16 values per `u32`: see [`Storage::F16`]).
    ///
    /// # Errors
    /// See the module docs.
    pub fn backward_buffers_as<F: Formula>(
        &self,
        f: &F,
        storage: Storage,
        x: &wgpu::Buffer,
        dy: &wgpu::Buffer,
        dx: &wgpu::Buffer,
        n: usize,
    ) -> Result<Vec<f64>, Error> {
        let (src, params) = one(f);
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Backward,
            storage,
            &[Operand::Device(x), Operand::Device(dy)],
            &mut [(None::<&mut [f32]>, Some(dx))],
            n,
        )
    }
}

impl Gpu {
    /// [`Gpu::forward_multi`] on device buffers of at least `n` `f32`s.
    ///
    /// # Errors
    /// See the module docs.
    pub fn forward_multi_buffers<F: MultiFormula<K>, const K: usize>(
        &self,
        f: &F,
        x: [&wgpu::Buffer; K],
        y: &wgpu::Buffer,
        n: usize,
    ) -> Result<(), Error> {
        self.forward_multi_buffers_as(f, Storage::F32, x, y, n)
    }

    /// [`Gpu::forward_multi_buffers`] with the buffers stored as `storage` (for [`Storage::F16`], ⌈n/2⌉
    /// `u32`s each, two binary16 values per `u32`: see [`Storage::F16`]).
    ///
    /// # Errors
    /// See the module docs.
    pub fn forward_multi_buffers_as<F: MultiFormula<K>, const K: usize>(
        &self,
        f: &F,
        storage: Storage,
        x: [&wgpu::Buffer; K],
        y: &wgpu::Buffer,
        n: usize,
    ) -> Result<(), Error> {
        let (src, params) = multi(f);
        let inputs: Vec<Operand> = x.iter().map(|b| Operand::Device(b)).collect();
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Forward,
            storage,
            &inputs,
            &mut [(None::<&mut [f32]>, Some(y))],
            n,
        )
        .map(drop)
    }

    /// [`Gpu::backward_multi`] on device buffers of at least `n` `f32`s; returns the
    /// parameter gradients.
    ///
    /// # Errors
    /// See the module docs.
    pub fn backward_multi_buffers<F: MultiFormula<K>, const K: usize>(
        &self,
        f: &F,
        x: [&wgpu::Buffer; K],
        dy: &wgpu::Buffer,
        dx: [&wgpu::Buffer; K],
        n: usize,
    ) -> Result<Vec<f64>, Error> {
        self.backward_multi_buffers_as(f, Storage::F32, x, dy, dx, n)
    }

    /// [`Gpu::backward_multi_buffers`] with the buffers stored as `storage` (for [`Storage::F16`], ⌈n/2⌉
    /// `u32`s each, two binary16 values per `u32`: see [`Storage::F16`]).
    ///
    /// # Errors
    /// See the module docs.
    pub fn backward_multi_buffers_as<F: MultiFormula<K>, const K: usize>(
        &self,
        f: &F,
        storage: Storage,
        x: [&wgpu::Buffer; K],
        dy: &wgpu::Buffer,
        dx: [&wgpu::Buffer; K],
        n: usize,
    ) -> Result<Vec<f64>, Error> {
        let (src, params) = multi(f);
        let mut inputs: Vec<Operand> = x.iter().map(|b| Operand::Device(b)).collect();
        inputs.push(Operand::Device(dy));
        let mut outputs: Vec<Output<'_, '_, f32>> = dx.iter().map(|b| (None, Some(*b))).collect();
        self.run(
            (TypeId::of::<F>(), &src, &params),
            Pass::Backward,
            storage,
            &inputs,
            &mut outputs,
            n,
        )
    }

    /// A device buffer holding `values` as their type is stored (`f32`, or `half::f16` two to a
    /// `u32`; `STORAGE`, `COPY_SRC` and `COPY_DST` usage), for the `*_buffers` passes.
    pub fn buffer<T: GpuElement>(&self, values: &[T]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("actigen"),
                contents: &T::bytes(values),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// Copies `n` `f32`s from `src` to `dst` on the device and waits: the device's copy
    /// bandwidth, the floor the passes are measured against (`bench --gpu`).
    ///
    /// # Errors
    /// [`Error::Gpu`] if the device cannot be waited for.
    pub fn copy(&self, src: &wgpu::Buffer, dst: &wgpu::Buffer, n: usize) -> Result<(), Error> {
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(src, 0, dst, 0, 4 * n as u64);
        self.queue.submit([encoder.finish()]);
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(drop)
            .map_err(|e| Error::Gpu(format!("waiting for the device: {e}")))
    }
}

/// The source and parameter values of a one-input activation.
fn one<F: Formula>(f: &F) -> (Source, Vec<f32>) {
    let p = (0..F::PARAM_NAMES.len()).map(|i| f.param_at(i)).collect();
    (Source::of::<F>(), p)
}

/// The same for a K-input activation.
fn multi<F: MultiFormula<K>, const K: usize>(f: &F) -> (Source, Vec<f32>) {
    let p = (0..F::PARAM_NAMES.len()).map(|i| f.param_at(i)).collect();
    (Source::of_multi::<F, K>(), p)
}

/// Every length equal to the first.
/// The inputs' names and lengths, for [`lengths`].
fn input_lengths<F: MultiFormula<K>, T, const K: usize>(
    x: [&[T]; K],
) -> Vec<(&'static str, usize)> {
    F::INPUT_NAMES
        .iter()
        .copied()
        .zip(x.iter().map(|s| s.len()))
        .collect()
}

fn lengths(lens: &[(&'static str, usize)]) -> Result<(), Error> {
    let (expected_name, expected) = lens[0];
    for &(found_name, found) in &lens[1..] {
        if found != expected {
            return Err(Error::Length {
                expected_name,
                expected,
                found_name,
                found,
            });
        }
    }
    Ok(())
}
