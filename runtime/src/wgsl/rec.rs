//! A [`Vector`] that records WGSL instead of computing: each operation appends a `let` to a
//! thread-local tape and returns the name it bound. Running the runtime's vector math
//! (`crate::math`, generic over [`Vector`]) on it writes that math as WGSL, from the same code
//! and the same coefficients; running the ±inf guard's search on it writes the guard.
//!
//! One lane of `f32`. `Mask::any` is true: the math's `if mask.any()` shortcuts only skip work
//! whose lanes a select discards, so both sides are recorded and the select stays. The
//! operations follow the `Vector` contract with WGSL's primitives: `fma` for `mul_add` (not
//! taken as fused: [`Vector::FUSED`] is false), `round` (ties to even), bit patterns for `abs`,
//! `copysign`, NaN tests, `pow2i`, `ldexp` and `frexp` (as the one-lane `Scalar` does them), and
//! `select` for `max`/`min` with x86's NaN rule. Loads and stores never happen on it (the
//! shaders read and write their buffers themselves): those methods panic.

use crate::simd::{Mask, Sealed, Vector};
use core::ops::{Add, BitAnd, BitOr, Div, Mul, Neg, Not, Sub};
use std::cell::RefCell;

/// The tape: the names bound so far and the statements that bound them.
#[derive(Default)]
struct Tape {
    names: Vec<String>,
    lines: Vec<String>,
}

thread_local! {
    static TAPE: RefCell<Tape> = RefCell::new(Tape::default());
}

/// A recorded `f32` value: an index into the tape's names.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rec(usize);

/// A recorded `bool`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RecMask(usize);

/// Binds `expr` to a fresh name (`v…`) and returns its index.
fn bind(expr: String) -> usize {
    TAPE.with(|t| {
        let mut t = t.borrow_mut();
        let i = t.names.len();
        let name = format!("v{i}");
        t.lines.push(format!("    let {name} = {expr};"));
        t.names.push(name);
        i
    })
}

/// A name bound outside the tape (a function's argument).
fn named(name: &str) -> usize {
    TAPE.with(|t| {
        let mut t = t.borrow_mut();
        t.names.push(name.to_string());
        t.names.len() - 1
    })
}

fn name_of(i: usize) -> String {
    TAPE.with(|t| t.borrow().names[i].clone())
}

/// Records a WGSL function: `header` (`fn name(args) -> type`), then the statements `body`
/// recorded, then `return` of the expression `body` returns.
pub(crate) fn function(header: &str, body: impl FnOnce() -> String) -> String {
    let saved = TAPE.with(|t| t.replace(Tape::default()));
    let ret = body();
    let tape = TAPE.with(|t| t.replace(saved));
    let mut out = format!("{header} {{\n");
    for l in &tape.lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&format!("    return {ret};\n}}\n"));
    out
}

/// An `f32` WGSL literal for `v`: decimal where that is exact and normal, else its bits.
pub(crate) fn literal(v: f32) -> String {
    if v.is_finite() && (v == 0.0 || v.abs() >= f32::MIN_POSITIVE) {
        let s = format!("{v:?}");
        // `{:?}` prints the shortest decimal that reads back to `v`.
        format!("{s}f")
    } else {
        format!("bitcast<f32>({:#010x}u)", v.to_bits())
    }
}

impl Rec {
    /// The value of argument `name`.
    pub(crate) fn arg(name: &str) -> Rec {
        Rec(named(name))
    }
    /// `expr` (WGSL of type `f32`, or of any type the caller then only names), bound.
    pub(crate) fn expr(expr: String) -> Rec {
        Rec(bind(expr))
    }
    /// The name bound to this value.
    pub(crate) fn name(self) -> String {
        name_of(self.0)
    }
    fn un(self, f: impl FnOnce(&str) -> String) -> Rec {
        Rec(bind(f(&self.name())))
    }
    fn bin(self, o: Rec, f: impl FnOnce(&str, &str) -> String) -> Rec {
        Rec(bind(f(&self.name(), &o.name())))
    }
    /// `ag_lt(a, b)` or `ag_le(a, b)`: IEEE's ordered comparisons, by the bits.
    fn cmp(self, o: Rec, f: &str) -> RecMask {
        RecMask(bind(format!("{f}({}, {})", self.name(), o.name())))
    }
    /// This value's bits (`u32`).
    fn bits(&self) -> String {
        format!("bitcast<u32>({})", self.name())
    }
}

impl RecMask {
    /// `expr` (WGSL of type `bool`), bound.
    pub(crate) fn expr(expr: String) -> RecMask {
        RecMask(bind(expr))
    }
    /// The name bound to this mask.
    pub(crate) fn name(self) -> String {
        name_of(self.0)
    }
}

impl Sealed for Rec {}
impl Sealed for RecMask {}

impl BitAnd for RecMask {
    type Output = RecMask;
    fn bitand(self, o: RecMask) -> RecMask {
        RecMask::expr(format!("{} & {}", self.name(), o.name()))
    }
}
impl BitOr for RecMask {
    type Output = RecMask;
    fn bitor(self, o: RecMask) -> RecMask {
        RecMask::expr(format!("{} | {}", self.name(), o.name()))
    }
}
impl Not for RecMask {
    type Output = RecMask;
    fn not(self) -> RecMask {
        RecMask::expr(format!("!{}", self.name()))
    }
}
impl Mask for RecMask {
    /// True: both sides of a shortcut are recorded (see the module docs).
    fn any(self) -> bool {
        true
    }
}

macro_rules! rec_op {
    ($tr:ident, $m:ident, $op:literal) => {
        impl $tr for Rec {
            type Output = Rec;
            fn $m(self, o: Rec) -> Rec {
                self.bin(o, |a, b| format!(concat!("{} ", $op, " {}"), a, b))
            }
        }
    };
}
rec_op!(Add, add, "+");
rec_op!(Sub, sub, "-");
rec_op!(Mul, mul, "*");

impl Div for Rec {
    type Output = Rec;
    /// `ag_div`: Vulkan defines `a / b` only for |b| in [2⁻¹²⁶, 2¹²⁶] (lavapipe gave 0 for
    /// inf/inf), so the prelude's division scales `b` into that range and handles the special
    /// values as IEEE does.
    fn div(self, o: Rec) -> Rec {
        self.bin(o, |a, b| format!("ag_div({a}, {b})"))
    }
}

impl Neg for Rec {
    type Output = Rec;
    fn neg(self) -> Rec {
        self.un(|a| format!("-{a}"))
    }
}

impl Vector for Rec {
    type Elem = f32;
    type Mask = RecMask;
    const LANES: usize = 1;
    /// False: WGSL's `fma` need not be fused (Vulkan allows a multiply and an add, and
    /// lavapipe's is not), so the math takes its paths that need no fused multiply-add
    /// (Dekker's exact product, polynomials in pairs), as on the portable CPU path.
    const FUSED: bool = false;

    /// Never called: the shaders load their buffers themselves.
    unsafe fn load(_ptr: *const f32) -> Self {
        unreachable!("a recorded vector is never loaded")
    }
    /// Never called: the shaders store to their buffers themselves.
    unsafe fn store(self, _ptr: *mut f32) {
        unreachable!("a recorded vector is never stored")
    }
    fn splat_elem(self, v: f32) -> Self {
        Rec::expr(literal(v))
    }
    fn lit(self, single: f32, _double: f64) -> Self {
        Rec::expr(literal(single))
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        Rec::expr(format!(
            "ag_opaque(fma({}, {}, {}))",
            self.name(),
            a.name(),
            b.name()
        ))
    }
    fn max(self, o: Self) -> Self {
        // `other` unless `self > other`: `other` where either is NaN.
        self.bin(o, |a, b| format!("select({b}, {a}, ag_lt({b}, {a}))"))
    }
    fn min(self, o: Self) -> Self {
        self.bin(o, |a, b| format!("select({b}, {a}, ag_lt({a}, {b}))"))
    }
    fn abs(self) -> Self {
        Rec::expr(format!("bitcast<f32>({} & 0x7fffffffu)", self.bits()))
    }
    fn sqrt(self) -> Self {
        self.un(|a| format!("sqrt({a})"))
    }
    fn round(self) -> Self {
        self.un(|a| format!("round({a})"))
    }
    fn copysign(self, sign: Self) -> Self {
        Rec::expr(format!(
            "bitcast<f32>(({} & 0x7fffffffu) | ({} & 0x80000000u))",
            self.bits(),
            sign.bits()
        ))
    }
    fn lt(self, o: Self) -> RecMask {
        self.cmp(o, "ag_lt")
    }
    fn le(self, o: Self) -> RecMask {
        self.cmp(o, "ag_le")
    }
    fn gt(self, o: Self) -> RecMask {
        o.cmp(self, "ag_lt")
    }
    fn ge(self, o: Self) -> RecMask {
        o.cmp(self, "ag_le")
    }
    fn eq(self, o: Self) -> RecMask {
        self.cmp(o, "ag_eq")
    }
    fn is_nan(self) -> RecMask {
        // By the bits: a compiler may assume `x != x` false.
        RecMask::expr(format!("ag_nan({})", self.name()))
    }
    fn first_lanes(self, n: usize) -> RecMask {
        RecMask::expr(if n >= 1 { "true" } else { "false" }.to_string())
    }
    fn select(mask: RecMask, a: Self, b: Self) -> Self {
        Rec::expr(format!(
            "select({}, {}, {})",
            b.name(),
            a.name(),
            mask.name()
        ))
    }
    fn pow2i(self) -> Self {
        Rec::expr(format!("ag_pow2i({})", self.name()))
    }
    fn ldexp(self, n: Self) -> Self {
        Rec::expr(format!("ag_ldexp({}, {})", self.name(), n.name()))
    }
    fn frexp(self) -> (Self, Self) {
        let bits = self.bits();
        let m = Rec::expr(format!(
            "bitcast<f32>(({bits} & 0x007fffffu) | 0x3f800000u)"
        ));
        let e = Rec::expr(format!("f32(i32({bits} >> 23u) - 127)"));
        (m, e)
    }
    /// Never called: the shaders reduce the parameter gradients themselves.
    fn sum_f64(self) -> f64 {
        unreachable!("a recorded vector has no value")
    }
    /// Never called: a recorded vector has no lanes to read.
    fn lane(self, _i: usize) -> f32 {
        unreachable!("a recorded vector has no value")
    }
    /// Opaque to the shader compiler: its bits XOR a zero read from a buffer.
    fn keep(self) -> Self {
        self.un(|a| format!("ag_opaque({a})"))
    }
    /// NaN: beyond the vector math's reduction range (|x| > 65,536 in `f32`) the CPU reduces
    /// in `f64`, which WGSL lacks, and GPUs' own `sin`/`cos` return arbitrary values there
    /// (lavapipe's took the ±inf guard's search to a false limit). NaN says "unknown".
    fn trig_far(self, _cos: bool) -> Self {
        Rec::expr(literal(f32::NAN))
    }
}

/// The helpers the recorded code calls: the evaluation barrier (see `Vector::keep`); IEEE's
/// ordered comparisons on the bits (WGSL lets a compiler assume no NaN or infinity, and Mesa
/// then rewrites `!(a <= b)` as `a > b`, which differs at NaN: the ±inf guard's reliability
/// tests, `!(|v| <= MAX)`, went wrong on lavapipe); and `pow2i` and `ldexp` as the one-lane
/// `Scalar` computes them (two normal powers of two; out-of-contract arguments clamped,
/// giving unspecified values without undefined behaviour).
pub(crate) const PRELUDE: &str = "\
var<private> ag_zero: u32;

fn ag_opaque(v: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(v) ^ ag_zero);
}

// a / b as IEEE 754 defines it, from a division Vulkan defines for |b| in [2^-126, 2^126].
fn ag_div(a: f32, b: f32) -> f32 {
    let ub = bitcast<u32>(b) & 0x7fffffffu;
    let ua = bitcast<u32>(a) & 0x7fffffffu;
    let sign = (bitcast<u32>(a) ^ bitcast<u32>(b)) & 0x80000000u;
    if (ua > 0x7f800000u || ub > 0x7f800000u || (ua == ub && (ub == 0u || ub == 0x7f800000u))) {
        return bitcast<f32>(0x7fc00000u);
    }
    if (ub == 0x7f800000u || ua == 0u) {
        return bitcast<f32>(sign);
    }
    if (ua == 0x7f800000u || ub == 0u) {
        return bitcast<f32>(sign | 0x7f800000u);
    }
    if (ub > 0x7e800000u) {
        // |b| > 2^126: both quartered (exact unless a is subnormal, where the quotient
        // underflows to 0 anyway).
        return ag_opaque(a * 0.25f) / ag_opaque(b * 0.25f);
    }
    if (ub < 0x00800000u) {
        // b subnormal: both scaled by 2^24 (an overflow of a is the quotient's).
        return ag_opaque(a * 16777216.0f) / ag_opaque(b * 16777216.0f);
    }
    return a / b;
}

fn ag_nan(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// A key ordered as the floats, with -0 = +0.
fn ag_key(v: f32) -> i32 {
    let b = bitcast<i32>(v);
    return select(b, -(b & 0x7fffffff), b < 0);
}

fn ag_lt(a: f32, b: f32) -> bool {
    return !(ag_nan(a) || ag_nan(b)) && ag_key(a) < ag_key(b);
}

fn ag_le(a: f32, b: f32) -> bool {
    return !(ag_nan(a) || ag_nan(b)) && ag_key(a) <= ag_key(b);
}

fn ag_eq(a: f32, b: f32) -> bool {
    return !(ag_nan(a) || ag_nan(b)) && ag_key(a) == ag_key(b);
}

fn ag_pow2i(n: f32) -> f32 {
    return bitcast<f32>(u32(i32(n) + 127) << 23u);
}

// x·2ⁿ rounded once (to nearest, ties to even) by integer arithmetic on the bits: a compiler
// that sees the scaling as multiplications by powers of two may merge them with later
// multiplications (lavapipe computed e^−103.95·2 from the unrounded e^−103.95, and e^−104·1e38
// as 6.8e−8, where e^−104 rounds to 0). Zero, subnormal, infinite and NaN x, and n outside
// ±508 (out of contract), take the two multiplications.
fn ag_ldexp(x: f32, n: f32) -> f32 {
    let m = clamp(n, -508.0f, 508.0f);
    let bits = bitcast<u32>(x);
    let sign = bits & 0x80000000u;
    let e = i32((bits >> 23u) & 0xffu);
    let h = floor(m * 0.5f);
    let slow = ag_opaque(ag_opaque(x * ag_pow2i(h)) * ag_pow2i(m - h));
    if (e == 0 || e == 255) {
        return slow;
    }
    let ne = e + i32(m);
    if (ne >= 255) {
        return bitcast<f32>(sign | 0x7f800000u);
    }
    if (ne >= 1) {
        return bitcast<f32>(sign | (u32(ne) << 23u) | (bits & 0x007fffffu));
    }
    // Subnormal or zero: the 24-bit significand shifted right by 1 − ne, rounded.
    let shift = u32(1 - ne);
    if (shift > 25u) {
        return bitcast<f32>(sign);
    }
    let sig = (bits & 0x007fffffu) | 0x00800000u;
    let kept = sig >> shift;
    let rest = sig - (kept << shift);
    let half = 1u << (shift - 1u);
    let up = rest > half || (rest == half && (kept & 1u) == 1u);
    return bitcast<f32>(sign | (kept + select(0u, 1u, up)));
}
";
