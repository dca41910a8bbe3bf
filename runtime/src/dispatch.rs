//! Instruction-set detection, cached once, with an environment override.
//!
//! The first kernel call detects the CPU (or reads `ACTIGEN_ISA=scalar|avx2|avx512`) and stores
//! the choice in a static `AtomicU8`; later calls cost one relaxed load. An override naming an
//! ISA this CPU lacks is an error ([`IsaError`]), never a silent fallback: a benchmark or test
//! forced onto a path must run that path or say why it cannot.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};

/// The instruction sets actigen has kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// The portable one-lane path (any CPU).
    Scalar,
    /// AVX2 with FMA: 8×f32 / 4×f64.
    Avx2,
    /// AVX-512F: 16×f32 / 8×f64.
    Avx512,
}

/// The environment variable that forces an instruction set.
pub const ISA_ENV: &str = "ACTIGEN_ISA";

impl Isa {
    /// Every ISA, slowest first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// The name used by `ACTIGEN_ISA` and in benchmark output.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Parses a name as accepted by `ACTIGEN_ISA`.
    pub fn from_name(name: &str) -> Option<Isa> {
        Isa::ALL.into_iter().find(|i| i.name() == name.trim())
    }

    /// Whether this CPU can run the path.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest path this CPU supports.
    pub fn best_supported() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|i| i.is_supported())
            .unwrap_or(Isa::Scalar)
    }

    fn to_u8(self) -> u8 {
        match self {
            Isa::Scalar => 1,
            Isa::Avx2 => 2,
            Isa::Avx512 => 3,
        }
    }
    fn from_u8(v: u8) -> Option<Isa> {
        match v {
            1 => Some(Isa::Scalar),
            2 => Some(Isa::Avx2),
            3 => Some(Isa::Avx512),
            _ => None,
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an instruction set cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IsaError {
    /// `ACTIGEN_ISA` holds a name that is not an ISA.
    UnknownName(String),
    /// The requested ISA is not supported by this CPU.
    Unsupported(Isa),
    /// `ACTIGEN_ISA` is set but not valid Unicode (shown lossily).
    NotUnicode(String),
}

impl fmt::Display for IsaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IsaError::UnknownName(n) => write!(
                f,
                "{ISA_ENV}={n:?} is not an instruction set; expected one of scalar, avx2, avx512"
            ),
            IsaError::NotUnicode(n) => write!(
                f,
                "{ISA_ENV}={n:?} is not valid Unicode; expected one of scalar, avx2, avx512"
            ),
            IsaError::Unsupported(isa) => write!(
                f,
                "the {isa} path was requested but this CPU does not support it (supported: {})",
                supported_list()
            ),
        }
    }
}

impl std::error::Error for IsaError {}

fn supported_list() -> String {
    Isa::ALL
        .into_iter()
        .filter(|i| i.is_supported())
        .map(Isa::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// 0: not yet chosen; otherwise `Isa::to_u8`.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

/// Chooses the ISA: `ACTIGEN_ISA` when set (an error if unknown, unsupported or not Unicode;
/// never a silent fallback), else the best
/// supported one. The choice is cached after the first successful call.
pub fn try_active_isa() -> Result<Isa, IsaError> {
    if let Some(isa) = Isa::from_u8(CHOSEN.load(Ordering::Relaxed)) {
        return Ok(isa);
    }
    let isa = match std::env::var(ISA_ENV) {
        Ok(name) if !name.trim().is_empty() => {
            let isa = Isa::from_name(&name).ok_or(IsaError::UnknownName(name))?;
            if !isa.is_supported() {
                return Err(IsaError::Unsupported(isa));
            }
            isa
        }
        Err(std::env::VarError::NotUnicode(raw)) => {
            return Err(IsaError::NotUnicode(raw.to_string_lossy().into_owned()));
        }
        _ => Isa::best_supported(),
    };
    CHOSEN.store(isa.to_u8(), Ordering::Relaxed);
    Ok(isa)
}

/// The ISA every slice kernel runs on.
///
/// # Panics
/// If `ACTIGEN_ISA` names an unknown ISA or one this CPU lacks; see [`try_active_isa`] for the
/// non-panicking form.
pub fn active_isa() -> Isa {
    match try_active_isa() {
        Ok(isa) => isa,
        Err(e) => panic!("actigen: {e}"),
    }
}
