//! Exact bit arithmetic for the half-precision storage formats (IEEE binary16 and bfloat16):
//! widening is exact, narrowing rounds to nearest with ties to even, once. The lane-by-lane
//! default of [`Vector::load_f16`](super::Vector::load_f16) and friends, used by the paths
//! without conversion instructions (portable, NEON, the one-lane scalar), and the reference
//! the hardware conversions are tested against.

/// A half-precision format: `man` stored mantissa bits, exponent bias `bias` (1 sign bit, and
/// `15 - man` exponent bits).
#[derive(Clone, Copy)]
struct Format {
    man: u32,
    bias: i32,
}

const F16: Format = Format { man: 10, bias: 15 };
const BF16: Format = Format { man: 7, bias: 127 };

/// `2^k` for `|k| ≤ 1022`, exactly.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((1023 + k) as u64) << 52)
}

/// The value of half-precision `bits` in `fmt`, exactly.
fn widen(bits: u16, fmt: Format) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp_all = (1u32 << (15 - fmt.man)) - 1;
    let e = (u32::from(bits) >> fmt.man) & exp_all;
    let m = f64::from(u32::from(bits) & ((1 << fmt.man) - 1));
    let man = fmt.man as i32;
    if e == 0 {
        sign * m * pow2(1 - fmt.bias - man)
    } else if e == exp_all {
        if m == 0.0 {
            sign * f64::INFINITY
        } else {
            f64::NAN.copysign(sign)
        }
    } else {
        sign * (pow2(man) + m) * pow2(e as i32 - fmt.bias - man)
    }
}

/// `x` rounded to `fmt` (nearest, ties to even; overflow to ±inf, underflow through the
/// subnormals to ±0; NaN to a quiet NaN of the same sign), as bits.
fn narrow(x: f64, fmt: Format) -> u16 {
    let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
    let man = fmt.man;
    let exp_all = (1u16 << (15 - man)) - 1;
    let inf = sign | (exp_all << man);
    if x.is_nan() {
        return inf | (1 << (man - 1));
    }
    let a = x.abs();
    if a == 0.0 {
        return sign;
    }
    let (emin, emax) = (1 - fmt.bias, fmt.bias);
    if a.is_infinite() {
        return inf;
    }
    // The exponent of `a` (subnormal f64s give −1023), at least the format's smallest.
    let e = (((a.to_bits() >> 52) as i32) - 1023).max(emin);
    if e > emax {
        return inf;
    }
    // `a` in units of the last place at exponent `e`: scaling by a power of two is exact.
    let m = (a * pow2(man as i32 - e)).round_ties_even() as u32;
    let (e, m) = if m == 1 << (man + 1) {
        (e + 1, m >> 1)
    } else {
        (e, m)
    };
    if e > emax {
        inf
    } else if m < 1 << man {
        sign | m as u16 // subnormal or zero (e is emin here)
    } else {
        sign | (((e + fmt.bias) as u16) << man) | (m - (1 << man)) as u16
    }
}

/// binary16 `bits` as an f64 (exact).
pub(crate) fn f16_to_f64(bits: u16) -> f64 {
    widen(bits, F16)
}

/// `x` rounded to binary16, as bits.
pub(crate) fn f64_to_f16(x: f64) -> u16 {
    narrow(x, F16)
}

/// bfloat16 `bits` as an f64 (exact).
pub(crate) fn bf16_to_f64(bits: u16) -> f64 {
    widen(bits, BF16)
}

/// `x` rounded to bfloat16, as bits.
pub(crate) fn f64_to_bf16(x: f64) -> u16 {
    narrow(x, BF16)
}

/// bfloat16 `bits` as an f32: the upper half of its bits (exact).
#[inline(always)]
pub(crate) fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// `x` rounded to bfloat16 in integer arithmetic (branch-free: LLVM vectorises loops of it):
/// add `0x7fff` plus the lowest kept bit, keep the upper half; NaN becomes a quiet NaN. Equal to
/// `f64_to_bf16(x as f64)` for every f32 (tested exhaustively).
#[inline(always)]
pub(crate) fn f32_to_bf16(x: f32) -> u16 {
    let b = x.to_bits();
    let rounded = (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16;
    let quiet_nan = ((b >> 16) as u16) | 0x40;
    if b & 0x7fff_ffff > 0x7f80_0000 {
        quiet_nan
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_round_trips_and_known_values() {
        for bits in 0..=u16::MAX {
            let v = f16_to_f64(bits);
            if v.is_nan() {
                assert!(f16_to_f64(f64_to_f16(v)).is_nan());
            } else {
                assert_eq!(f64_to_f16(v), bits, "{bits:#06x}");
            }
        }
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f64_to_f16(65520.0), 0x7c00); // halfway to 2^16 rounds to inf (even)
        assert_eq!(f64_to_f16(65519.99), 0x7bff);
        assert_eq!(f64_to_f16(2f64.powi(-25)), 0x0000); // halfway to the smallest: to even 0
        assert_eq!(f64_to_f16(2f64.powi(-25) * 1.0001), 0x0001);
        assert_eq!(f64_to_f16(1.0 + 2f64.powi(-11)), 0x3c00); // tie to even
        assert_eq!(f64_to_f16(1.0 + 3.0 * 2f64.powi(-11)), 0x3c02); // tie to even (up)
        assert_eq!(f64_to_f16(-0.0), 0x8000);
    }

    #[test]
    fn bf16_integer_rounding_matches_the_reference() {
        // Every exponent with a spread of mantissas, including all ties and carries.
        for hi in 0..=u16::MAX as u32 {
            for lo in [0u32, 1, 0x7fff, 0x8000, 0x8001, 0xffff, 0x1234, 0xc000] {
                let x = f32::from_bits((hi << 16) | lo);
                let (got, want) = (f32_to_bf16(x), f64_to_bf16(x as f64));
                if x.is_nan() {
                    assert!(bf16_to_f32(got).is_nan() && bf16_to_f64(want).is_nan());
                } else {
                    assert_eq!(got, want, "{x:e}");
                }
            }
            let (a, b) = (bf16_to_f32(hi as u16), bf16_to_f64(hi as u16));
            assert!(a.to_bits() == (b as f32).to_bits() || (a.is_nan() && b.is_nan()));
        }
    }
}
