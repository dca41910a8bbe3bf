//! The one error type of the slice API and of `by_name`.

use crate::dispatch::IsaError;
use core::fmt;

/// Errors of the slice API and of [`by_name`](crate::by_name).
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// Two slices that must have the same length do not.
    Length {
        /// The slice the others are measured against.
        expected_name: &'static str,
        /// Its length.
        expected: usize,
        /// The mismatched slice.
        found_name: &'static str,
        /// Its length.
        found: usize,
    },
    /// Two arrays that must have the same shape do not (the `ndarray` adapter).
    Shape {
        /// The array the others are measured against.
        expected_name: &'static str,
        /// Its shape.
        expected: Vec<usize>,
        /// The mismatched array.
        found_name: &'static str,
        /// Its shape.
        found: Vec<usize>,
    },
    /// The requested instruction set cannot be used.
    Isa(IsaError),
    /// `by_name` got a name it does not know.
    UnknownActivation {
        /// The name given.
        name: String,
        /// The accepted names.
        accepted: Vec<&'static str>,
    },
    /// [`register`](crate::builtin::register) got a name `by_name` already accepts.
    NameTaken {
        /// The name.
        name: &'static str,
    },
    /// A parameter the activation does not have.
    UnknownParam {
        /// The activation.
        activation: &'static str,
        /// The parameter given.
        param: String,
        /// The activation's parameters.
        accepted: &'static [&'static str],
    },
    /// The activation's derivative has no form in terms of its output.
    NoBackwardFromOutput {
        /// The activation.
        activation: &'static str,
    },
    /// A parameter outside its declared range.
    ParamOutOfRange {
        /// The parameter.
        param: String,
        /// Its value.
        value: f64,
        /// The range's lower end (inclusive).
        lo: f64,
        /// The range's upper end (exclusive).
        hi: f64,
    },
    /// A name of an activation with another number of inputs than the function that was
    /// asked to build it takes (`by_name("swiglu")`, `multi_by_name("relu")`).
    MultiInput {
        /// The name given.
        name: String,
        /// How many inputs that activation takes.
        inputs: usize,
    },
    /// A slice whose length does not fit a per-channel layout (or a layout with no channels
    /// or an empty `inner`).
    ChannelLayout {
        /// The slice's length.
        len: usize,
        /// The layout's number of channels.
        channels: usize,
        /// Channels-first: elements per channel in a row; channels-last: `None`.
        inner: Option<usize>,
    },
    /// A per-channel parameter named twice.
    ParamGivenTwice {
        /// The parameter.
        param: &'static str,
    },
    /// A NaN or infinite parameter value.
    NonFiniteParam {
        /// The parameter.
        param: String,
        /// Its value.
        value: f64,
    },
    /// The GPU path could not run (feature `gpu`): no adapter, a device request or a shader
    /// that failed, a buffer too small or without the usage it needs. Nothing was written.
    Gpu(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Length {
                expected_name,
                expected,
                found_name,
                found,
            } => write!(
                f,
                "length mismatch: `{expected_name}` has {expected} elements but `{found_name}` \
                 has {found}; nothing was written"
            ),
            Error::Shape {
                expected_name,
                expected,
                found_name,
                found,
            } => write!(
                f,
                "shape mismatch: `{expected_name}` has shape {expected:?} but `{found_name}` \
                 has {found:?}; nothing was written"
            ),
            Error::Isa(e) => e.fmt(f),
            Error::UnknownActivation { name, accepted } => write!(
                f,
                "unknown activation `{name}`; expected one of: {}",
                accepted.join(", ")
            ),
            Error::NameTaken { name } => write!(
                f,
                "the activation name `{name}` is taken (a built-in or registered name)"
            ),
            Error::UnknownParam {
                activation,
                param,
                accepted,
            } => {
                if accepted.is_empty() {
                    write!(f, "`{activation}` has no parameters, got `{param}`")
                } else {
                    write!(
                        f,
                        "`{activation}` has no parameter `{param}`; expected one of: {}",
                        accepted.join(", ")
                    )
                }
            }
            Error::NoBackwardFromOutput { activation } => write!(
                f,
                "`{activation}` has no backward from the output: its derivative cannot be \
                 written in terms of y = f(x)"
            ),
            Error::ParamOutOfRange {
                param,
                value,
                lo,
                hi,
            } => write!(
                f,
                "parameter `{param}` = {value} is outside its range {lo}..{hi}"
            ),
            Error::MultiInput { name, inputs: 1 } => write!(
                f,
                "`{name}` takes one input: build it with `actigen::by_name`"
            ),
            Error::MultiInput { name, inputs } => write!(
                f,
                "`{name}` takes {inputs} inputs: build it with `actigen::builtin::multi_by_name` \
                 (and use it through `actigen::MultiActivation`)"
            ),
            Error::ChannelLayout {
                len,
                channels,
                inner,
            } => match inner {
                Some(inner) => write!(
                    f,
                    "a slice of {len} elements is not [N, C = {channels}, inner = {inner}] \
                     (its length must be a nonzero multiple of C·inner, with C and inner at \
                     least 1); nothing was written"
                ),
                None => write!(
                    f,
                    "a slice of {len} elements is not [.., C = {channels}] (its length must \
                     be a multiple of C, with C at least 1); nothing was written"
                ),
            },
            Error::ParamGivenTwice { param } => write!(
                f,
                "per-channel parameter `{param}` is given twice; nothing was written"
            ),
            Error::NonFiniteParam { param, value } => {
                write!(f, "parameter `{param}` must be finite, got {value}")
            }
            Error::Gpu(what) => write!(f, "GPU: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<IsaError> for Error {
    fn from(e: IsaError) -> Self {
        Error::Isa(e)
    }
}
