//! The ten activations of the MXNet activation guide, each defined with `#[activation]`, with
//! MXNet's names, semantics and defaults; and [`by_name`].
//!
//! Kinks take the left-hand gradient (`if x > 0.0 { .. } else { .. }`): relu′(0) = 0,
//! leaky′(0) = prelu′(0) = alpha, selu′(0) = λα, as in MXNet, PyTorch and JAX.

use crate::formula::{Formula, MultiFormula};
use crate::{Activation, ActivationInfo, Error, MultiActivation};

/// The logistic sigmoid, σ(x) = 1/(1 + e⁻ˣ).
#[crate::activation(crate = crate, from_output)]
pub fn sigmoid(x: f32) -> f32 {
    sigmoid(x)
}

/// The hyperbolic tangent.
#[crate::activation(crate = crate, from_output)]
pub fn tanh(x: f32) -> f32 {
    x.tanh()
}

/// Softsign, x/(1 + |x|).
#[crate::activation(crate = crate, from_output)]
pub fn softsign(x: f32) -> f32 {
    x / (1.0 + x.abs())
}

/// The rectified linear unit, max(x, 0); relu′(0) = 0.
#[crate::activation(crate = crate, from_output)]
pub fn relu(x: f32) -> f32 {
    if x > 0.0 { x } else { 0.0 }
}

/// SoftReLU (softplus), ln(1 + eˣ).
#[crate::activation(crate = crate, from_output)]
pub fn softrelu(x: f32) -> f32 {
    softplus(x)
}

/// Leaky ReLU: x for x > 0, alpha·x otherwise (MXNet default alpha = 0.01).
#[crate::activation(crate = crate, from_output)]
pub fn leaky(
    x: f32,
    #[default(0.01)]
    #[range(0.0..)]
    alpha: f32,
) -> f32 {
    if x > 0.0 { x } else { alpha * x }
}

/// Parametric ReLU: leaky ReLU with a learnable alpha (gluon's initial value 0.25); its
/// gradient comes from `param_grads`. Alpha is unconstrained, as in gluon and PyTorch: training
/// may drive it below 0. So PReLU has no backward from the output (which needs alpha ≥ 0 to tell
/// the branches apart from y; [`Leaky`] has one).
#[crate::activation(crate = crate)]
pub fn prelu(x: f32, #[default(0.25)] alpha: f32) -> f32 {
    if x > 0.0 { x } else { alpha * x }
}

/// The exponential linear unit: x for x > 0, alpha·(eˣ − 1) otherwise (alpha = 1).
#[crate::activation(crate = crate, from_output)]
pub fn elu(
    x: f32,
    #[default(1.0)]
    #[range(0.0..)]
    alpha: f32,
) -> f32 {
    if x > 0.0 { x } else { alpha * x.exp_m1() }
}

/// The scaled ELU with the fixed constants of Klambauer et al.:
/// λ·x for x > 0, λ·α·(eˣ − 1) otherwise, α = 1.6732632423543772848…, λ = 1.0507009873554804934….
#[crate::activation(crate = crate, from_output)]
pub fn selu(x: f32) -> f32 {
    if x > 0.0 {
        1.050_700_987_355_480_493_4 * x
    } else {
        1.050_700_987_355_480_493_4 * 1.673_263_242_354_377_284_8 * x.exp_m1()
    }
}

/// Swish, x·σ(beta·x) (beta = 1 gives SiLU); beta is learnable.
#[crate::activation(crate = crate)]
pub fn swish(x: f32, #[default(1.0)] beta: f32) -> f32 {
    x * sigmoid(beta * x)
}

/// SwiGLU (Shazeer 2020; Llama, Mistral, Qwen): silu(gate)·up.
#[crate::activation(crate = crate)]
pub fn swiglu(gate: f32, up: f32) -> f32 {
    gate * sigmoid(gate) * up
}

/// GeGLU with the exact (erf) GELU, PyTorch's default: gelu(gate)·up,
/// gelu(g) = g·(1 + erf(g/√2))/2.
#[crate::activation(crate = crate)]
pub fn geglu(gate: f32, up: f32) -> f32 {
    0.5 * gate * (1.0 + erf(gate * std::f32::consts::FRAC_1_SQRT_2)) * up
}

/// GeGLU with the tanh form of GELU (Gemma; PyTorch's `approximate="tanh"`):
/// g·(1 + tanh(√(2/π)·(g + 0.044715·g³)))/2 · up.
///
/// The cubic reads the gate clamped to ±100, where tanh is already ±1 in f32 and f64 (its
/// argument is ±35,850): the values are those of the textbook form, and g³ cannot overflow,
/// which made ∂/∂gate 0·inf = NaN for |gate| > 2e12 (the clamp's derivative is 0 beyond
/// ±100, where the true term, of order e^(−71,700), is 0 in both precisions too).
#[crate::activation(crate = crate)]
pub fn geglu_tanh(gate: f32, up: f32) -> f32 {
    let p = gate.clamp(-100.0, 100.0);
    0.5 * gate * (1.0 + (0.797_884_560_802_865_4 * (p + 0.044_715 * p.powi(3))).tanh()) * up
}

/// ReGLU: relu(gate)·up (relu′(0) = 0, as for [`Relu`]).
#[crate::activation(crate = crate)]
pub fn reglu(gate: f32, up: f32) -> f32 {
    (if gate > 0.0 { gate } else { 0.0 }) * up
}

/// gpt-oss's clamped SwiGLU: g·σ(alpha·g)·(u + 1) with g = min(gate, limit) and
/// u = clamp(up, −limit, limit) (alpha = 1.702, limit = 7). At a clamp's bound the gradient
/// passes (as PyTorch's `clamp`), except at up = −limit exactly, where it is 0.
#[crate::activation(crate = crate)]
pub fn swiglu_oai(
    gate: f32,
    up: f32,
    #[default(1.702)] alpha: f32,
    #[default(7.0)]
    #[range(0.0..)]
    limit: f32,
) -> f32 {
    let g = gate.min(limit);
    let u = up.clamp(-limit, limit);
    g * sigmoid(alpha * g) * (u + 1.0)
}

/// The gated linear unit of Dauphin et al. (PyTorch's `glu`): value·σ(gate).
#[crate::activation(crate = crate)]
pub fn glu(value: f32, gate: f32) -> f32 {
    value * sigmoid(gate)
}

/// Snake (Liu Ziyin et al. 2020; BigVGAN's audio vocoder): x + sin²(a·x)/a, with BigVGAN's
/// 1e−9 added to the denominator; `a` is learned per channel there (see
/// [`crate::channels`]).
#[crate::activation(crate = crate)]
pub fn snake(x: f32, #[default(1.0)] a: f32) -> f32 {
    x + (a * x).sin().powi(2) / (a + 1e-9)
}

/// SnakeBeta (BigVGAN): x + sin²(alpha·x)/beta, the frequency and the magnitude apart, with
/// BigVGAN's 1e−9 added to the denominator.
#[crate::activation(crate = crate)]
pub fn snake_beta(x: f32, #[default(1.0)] alpha: f32, #[default(1.0)] beta: f32) -> f32 {
    x + (alpha * x).sin().powi(2) / (beta + 1e-9)
}

/// xIELU (Huang & Schlag 2025; the Apertus models), as Hugging Face transformers'
/// `XIELUActivation` computes it: with αp = softplus(alpha_p) and αn = beta + softplus(alpha_n),
/// αp·x² + beta·x for x > 0, else (e^min(x, eps) − 1 − x)·αn + beta·x. `alpha_p` and `alpha_n`
/// are the learned (pre-softplus) values; their defaults give the initial αp = 0.8 and
/// αn = 0.8 (softplus⁻¹(0.8) and softplus⁻¹(0.3)). `beta` = 0.5 and `eps` = −1e−6 are fixed
/// there.
#[crate::activation(crate = crate)]
pub fn xielu(
    x: f32,
    #[default(0.203_382_32)] alpha_p: f32,
    #[default(-1.050_225_6)] alpha_n: f32,
    #[default(0.5)] beta: f32,
    #[default(-1e-6)] eps: f32,
) -> f32 {
    if x > 0.0 {
        softplus(alpha_p) * x * x + beta * x
    } else {
        (x.min(eps).exp_m1() - x) * (beta + softplus(alpha_n)) + beta * x
    }
}

/// An activation usable on both `f32` and `f64` slices, as returned by [`by_name`].
#[cfg(not(feature = "half"))]
pub trait DynActivation: Activation<f32> + Activation<f64> {}
#[cfg(not(feature = "half"))]
impl<A: Activation<f32> + Activation<f64>> DynActivation for A {}
/// An activation usable on `f32`, `f64`, `f16` and `bf16` slices, as returned by [`by_name`].
#[cfg(feature = "half")]
pub trait DynActivation:
    Activation<f32> + Activation<f64> + Activation<half::f16> + Activation<half::bf16>
{
}
#[cfg(feature = "half")]
impl<A> DynActivation for A where
    A: Activation<f32> + Activation<f64> + Activation<half::f16> + Activation<half::bf16>
{
}

/// The built-in names [`by_name`] accepts (MXNet's ten, their aliases, then the activations
/// whose parameters are often per channel: Snake, SnakeBeta, xIELU); [`names`] adds the
/// registered ones.
pub const NAMES: [&str; 16] = [
    "sigmoid",
    "tanh",
    "softsign",
    "relu",
    "softrelu",
    "leaky",
    "prelu",
    "elu",
    "selu",
    "swish",
    "softplus",
    "leaky_relu",
    "silu",
    "snake",
    "snake_beta",
    "xielu",
];

/// A two-input activation usable on `f32`, `f64` (and with the `half` feature `f16` and
/// `bf16`) slices, as returned by [`multi_by_name`].
#[cfg(not(feature = "half"))]
pub trait DynMultiActivation: MultiActivation<f32, 2> + MultiActivation<f64, 2> {}
#[cfg(not(feature = "half"))]
impl<A: MultiActivation<f32, 2> + MultiActivation<f64, 2>> DynMultiActivation for A {}
/// A two-input activation usable on `f32`, `f64`, `f16` and `bf16` slices, as returned by
/// [`multi_by_name`].
#[cfg(feature = "half")]
pub trait DynMultiActivation:
    MultiActivation<f32, 2>
    + MultiActivation<f64, 2>
    + MultiActivation<half::f16, 2>
    + MultiActivation<half::bf16, 2>
{
}
#[cfg(feature = "half")]
impl<A> DynMultiActivation for A where
    A: MultiActivation<f32, 2>
        + MultiActivation<f64, 2>
        + MultiActivation<half::f16, 2>
        + MultiActivation<half::bf16, 2>
{
}

/// The built-in two-input (gated) activations [`multi_by_name`] accepts.
pub const MULTI_NAMES: [&str; 6] = [
    "swiglu",
    "geglu",
    "geglu_tanh",
    "reglu",
    "swiglu_oai",
    "glu",
];

/// The two-input (gated) activation called `name` (see [`MULTI_NAMES`]), with the given
/// parameters set and the others at their defaults. A one-input name is an
/// [`Error::MultiInput`] pointing to [`by_name`].
///
/// ```
/// use actigen::{ActivationInfo, MultiActivation, builtin::multi_by_name};
/// let act = multi_by_name("swiglu_oai", &[("limit", 5.0)]).unwrap();
/// assert_eq!(act.params(), vec![1.702, 5.0]);
/// let mut y = [0.0f32; 1];
/// act.forward([&[10.0f32][..], &[0.0][..]], &mut y); // the gate clamped at 5
/// assert!((y[0] - 5.0 / (1.0 + (-1.702f32 * 5.0).exp())).abs() < 1e-5);
/// assert!(multi_by_name("relu", &[]).is_err());
/// ```
pub fn multi_by_name(
    name: &str,
    params: &[(&str, f64)],
) -> Result<Box<dyn DynMultiActivation>, Error> {
    fn build<F: MultiFormula<2> + Default + DynMultiActivation>(
        params: &[(&str, f64)],
    ) -> Result<Box<dyn DynMultiActivation>, Error> {
        let mut f = F::default();
        for &(name, value) in params {
            ActivationInfo::set_param(&mut f, name, value)?;
        }
        Ok(Box::new(f))
    }
    match name {
        "swiglu" => build::<Swiglu>(params),
        "geglu" => build::<Geglu>(params),
        "geglu_tanh" => build::<GegluTanh>(params),
        "reglu" => build::<Reglu>(params),
        "swiglu_oai" => build::<SwigluOai>(params),
        "glu" => build::<Glu>(params),
        _ if names().contains(&name) => Err(Error::MultiInput {
            name: name.to_string(),
            inputs: 1,
        }),
        _ => Err(Error::UnknownActivation {
            name: name.to_string(),
            accepted: MULTI_NAMES.to_vec(),
        }),
    }
}

fn build<F: Formula + Default>(params: &[(&str, f64)]) -> Result<Box<dyn DynActivation>, Error> {
    let mut f = F::default();
    for &(name, value) in params {
        ActivationInfo::set_param(&mut f, name, value)?;
    }
    // The defaults of the parameters not given are in range too.
    crate::activation::check_ranges(&f)?;
    Ok(Box::new(f))
}

/// Builds a boxed activation with the given parameters (what [`register`] stores).
type Build = fn(&[(&str, f64)]) -> Result<Box<dyn DynActivation>, Error>;

/// The activations registered with [`register`], in registration order.
static REGISTERED: std::sync::RwLock<Vec<(&'static str, Build)>> =
    std::sync::RwLock::new(Vec::new());

fn registered() -> std::sync::RwLockReadGuard<'static, Vec<(&'static str, Build)>> {
    // A panic while the lock was held cannot leave the list half-written (one `push`).
    REGISTERED
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Registers the activation type `F` (a built-in or your own `#[activation]`) under `name`, so
/// that [`by_name`] builds it, with parameters by name, for every program that takes
/// activation names from there. An error ([`Error::NameTaken`]) if `by_name` already accepts
/// the name; nothing is registered then.
///
/// ```
/// use actigen::{ActivationInfo, activation, builtin::register, by_name};
///
/// #[activation]
/// fn gelu_tanh(x: f32) -> f32 {
///     0.5 * x * (1.0 + (0.797_884_6 * (x + 0.044_715 * x * x * x)).tanh())
/// }
///
/// register::<GeluTanh>("gelu_tanh").unwrap();
/// let act = by_name("gelu_tanh", &[]).unwrap();
/// assert_eq!(act.name(), "gelu_tanh");
/// assert!(register::<GeluTanh>("gelu_tanh").is_err());
/// ```
pub fn register<F: Formula + Default>(name: &'static str) -> Result<(), Error> {
    let mut list = REGISTERED
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if NAMES.contains(&name) || MULTI_NAMES.contains(&name) || list.iter().any(|(n, _)| *n == name)
    {
        return Err(Error::NameTaken { name });
    }
    list.push((name, build::<F>));
    Ok(())
}

/// Every name [`by_name`] accepts: [`NAMES`], then the registered ones in registration order.
pub fn names() -> Vec<&'static str> {
    let mut all = NAMES.to_vec();
    all.extend(registered().iter().map(|(n, _)| *n));
    all
}

/// The activation called `name` in MXNet (`sigmoid tanh softsign relu softrelu leaky prelu elu
/// selu swish`, or the aliases `softplus leaky_relu silu`), `snake`, `snake_beta` or `xielu`
/// ([`Snake`], [`SnakeBeta`], [`Xielu`]), or registered with [`register`], with the given
/// parameters set and the others at their defaults.
///
/// ```
/// use actigen::Activation;
/// let leaky = actigen::by_name("leaky", &[("alpha", 0.1)]).unwrap();
/// let mut y = [0.0f32; 2];
/// leaky.forward(&[-1.0f32, 2.0], &mut y);
/// assert_eq!(y, [-0.1, 2.0]);
/// assert!(actigen::by_name("gelu", &[]).is_err());
/// ```
pub fn by_name(name: &str, params: &[(&str, f64)]) -> Result<Box<dyn DynActivation>, Error> {
    match name {
        "sigmoid" => build::<Sigmoid>(params),
        "tanh" => build::<Tanh>(params),
        "softsign" => build::<Softsign>(params),
        "relu" => build::<Relu>(params),
        "softrelu" | "softplus" => build::<Softrelu>(params),
        "leaky" | "leaky_relu" => build::<Leaky>(params),
        "prelu" => build::<Prelu>(params),
        "elu" => build::<Elu>(params),
        "selu" => build::<Selu>(params),
        "swish" | "silu" => build::<Swish>(params),
        "snake" => build::<Snake>(params),
        "snake_beta" => build::<SnakeBeta>(params),
        "xielu" => build::<Xielu>(params),
        _ if MULTI_NAMES.contains(&name) => Err(Error::MultiInput {
            name: name.to_string(),
            inputs: 2,
        }),
        _ => {
            let found = registered().iter().find(|(n, _)| *n == name).map(|r| r.1);
            match found {
                Some(build) => build(params),
                None => Err(Error::UnknownActivation {
                    name: name.to_string(),
                    accepted: names(),
                }),
            }
        }
    }
}
