#!/usr/bin/env python3
"""References for the formula accuracy suite (issue 12): 27 formulas of the three kinds that
break floating point (cancellation, removable singularities, overflow of an intermediate),
evaluated at 512 f32 inputs with mpmath (60 significant digits plus |x|/2 below |x| = 2000,
raised three times until two precisions agree), the value and the first
derivative (written out by hand below, not differenced), each rounded once to f64.

Writes examples/data/accuracy_suite.bin, read by `cargo run --release --example
accuracy_suite`:
    b"ACTIGEN-SUITE-1\n"
    b"<inputs> <formulas>\n"
    b"<name> <name> ...\n"                       (the formulas, in this file's order)
    <inputs> x values, f32 little-endian
    per formula, per input: f(x) then f'(x), f64 little-endian
A value at x = +-inf is the limit there; NaN where the truth is undefined (x NaN, or outside
the domain).

Run: python3 tools/accuracy_suite.py   (needs mpmath; tested with 1.3.0)
"""
import math
import random
import struct
import sys

import mpmath
from mpmath import mp, mpf

NAN = float("nan")


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def inputs():
    mags = [0.0, 2.0**-149, 1e-40, 1e-38, 1.1754944e-38, 1e-30, 1e-20, 1e-10, 1e-7, 1e-5,
            1e-4, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 88.7, 89.5, 100.0,
            1e3, 1e4, 1e10, 1.8e19, 1e20, 1e30, 3.4e38, math.inf]
    xs = []
    for m in mags:
        xs += [f32(m), f32(-m)]
    xs.append(NAN)
    rng = random.Random(12)
    while len(xs) < 512:
        k = len(xs)
        if k % 2:
            e = rng.uniform(-45.0, 38.5)  # the whole f32 range, log-uniform
        else:
            e = rng.uniform(-8.0, 2.0)  # dense near 0 and where the formulas bend
        v = f32(10.0**e * (1 if rng.random() < 0.5 else -1))
        if math.isfinite(v):
            xs.append(v)
    return xs


def sq(x):
    return x * x


# name: (f, f') as functions of an mpf; None for undefined (NaN). At x = 0 the removable
# singularities give their limits.
def removable(f, df, f0, df0):
    return (lambda x: f0 if x == 0 else f(x), lambda x: df0 if x == 0 else df(x))


FORMULAS = {
    # Cancellation.
    "x_minus_sin": (lambda x: x - mp.sin(x), lambda x: 1 - mp.cos(x)),
    "sqrt_sq4_minus_2": (lambda x: mp.sqrt(sq(x) + 4) - 2, lambda x: x / mp.sqrt(sq(x) + 4)),
    "one_minus_cos": (lambda x: 1 - mp.cos(x), lambda x: mp.sin(x)),
    "exp_minus_exp_neg": (lambda x: mp.exp(x) - mp.exp(-x), lambda x: mp.exp(x) + mp.exp(-x)),
    "hypot_minus_x": (lambda x: mp.sqrt(sq(x) + 1) - x, lambda x: x / mp.sqrt(sq(x) + 1) - 1),
    "gelu_tanh": None,  # filled below (constants rounded to f32 as the formula has them)
    "gelu_erf": None,  # filled below
    "ln_cosh": (lambda x: mp.log((mp.exp(x) + mp.exp(-x)) / 2), lambda x: mp.tanh(x)),
    "bent_identity": (lambda x: (mp.sqrt(sq(x) + 1) - 1) / 2 + x,
                      lambda x: x / (2 * mp.sqrt(sq(x) + 1)) + 1),
    "squareplus": (lambda x: (x + mp.sqrt(sq(x) + 4)) / 2,
                   lambda x: (1 + x / mp.sqrt(sq(x) + 4)) / 2),
    "log_sigmoid_naive": (lambda x: -mp.log(mp.exp(-x) + 1), lambda x: 1 / (1 + mp.exp(x))),
    "swish_naive": (lambda x: x / (1 + mp.exp(-x)),
                    lambda x: 1 / (1 + mp.exp(-x)) + x * mp.exp(-x) / sq(1 + mp.exp(-x))),
    "softplus_naive": (lambda x: mp.log(1 + mp.exp(x)), lambda x: 1 / (1 + mp.exp(-x))),
    "tanh_naive": (lambda x: mp.tanh(x), lambda x: 1 - sq(mp.tanh(x))),
    "expm1_naive": (lambda x: mp.expm1(x), lambda x: mp.exp(x)),
    # Removable singularities.
    "ln1p_over_x": removable(lambda x: mp.log1p(x) / x,
                             lambda x: (x / (1 + x) - mp.log1p(x)) / sq(x), 1, mpf(-1) / 2),
    "expm1_over_x": removable(lambda x: mp.expm1(x) / x,
                              lambda x: (x * mp.exp(x) - mp.expm1(x)) / sq(x), 1, mpf(1) / 2),
    "sinc": removable(lambda x: mp.sin(x) / x,
                      lambda x: (x * mp.cos(x) - mp.sin(x)) / sq(x), 1, 0),
    "one_minus_cos_over_sq": removable(
        lambda x: (1 - mp.cos(x)) / sq(x),
        lambda x: (x * mp.sin(x) - 2 * (1 - mp.cos(x))) / x**3, mpf(1) / 2, 0),
    "x_over_expm1": removable(lambda x: x / mp.expm1(x),
                              lambda x: (mp.expm1(x) - x * mp.exp(x)) / sq(mp.expm1(x)),
                              1, mpf(-1) / 2),
    "sqrt1p_sq_minus_1_over_sq": removable(
        lambda x: (mp.sqrt(1 + sq(x)) - 1) / sq(x),
        lambda x: (sq(x) / mp.sqrt(1 + sq(x)) - 2 * (mp.sqrt(1 + sq(x)) - 1)) / x**3,
        mpf(1) / 2, 0),
    "tanh_over_x": removable(lambda x: mp.tanh(x) / x,
                             lambda x: (x * (1 - sq(mp.tanh(x))) - mp.tanh(x)) / sq(x), 1, 0),
    # Overflow (or underflow) of an intermediate.
    "x_over_sq_plus_1": (lambda x: x / (sq(x) + 1), lambda x: (1 - sq(x)) / sq(sq(x) + 1)),
    "hypot_1": (lambda x: mp.sqrt(sq(x) + 1), lambda x: x / mp.sqrt(sq(x) + 1)),
    "isru": (lambda x: x / mp.sqrt(sq(x) + 1), lambda x: (sq(x) + 1) ** mpf(-1.5)),
    "sigmoid_ratio": (lambda x: mp.exp(x) / (1 + mp.exp(x)),
                      lambda x: mp.exp(x) / sq(1 + mp.exp(x))),
    "bce_target_03": None,  # filled below
}

A = mpf(f32(0.7978845608))
B = mpf(f32(0.044715))
T = mpf(f32(0.3))


def gelu_tanh(x):
    return x / 2 * (1 + mp.tanh(A * (x + B * x**3)))


def gelu_tanh_d(x):
    u = A * (x + B * x**3)
    return (1 + mp.tanh(u)) / 2 + x / 2 * (1 - sq(mp.tanh(u))) * A * (1 + 3 * B * sq(x))


def sig(x):
    return 1 / (1 + mp.exp(-x))


FORMULAS["gelu_tanh"] = (gelu_tanh, gelu_tanh_d)
# The formula's constant is std::f32::consts::FRAC_1_SQRT_2, rounded: the reference uses it
# (its rounding moves erfc(−x/√2) by x²·2⁻²⁵ relative, 25 ULP at x = −10).
K = mpf(f32(0.7071067811865476))
FORMULAS["gelu_erf"] = (lambda x: x / 2 * (1 + mp.erf(K * x)),
                        lambda x: (1 + mp.erf(K * x)) / 2
                        + x * K * mp.exp(-sq(K * x)) / mp.sqrt(mp.pi))
def ln_1p_exp(u):
    """ln(1 + eᵘ), exactly rewritten so that no precision is needed for e^(−|u|) beside 1."""
    return u + mp.log1p(mp.exp(-u)) if u > 0 else mp.log1p(mp.exp(u))


# −(t·ln σ(x) + (1 − t)·ln(1 − σ(x))), t = 0.3: binary cross-entropy of a logit. The reference
# uses ln σ(x) = −ln(1 + e⁻ˣ) and ln(1 − σ(x)) = −ln(1 + eˣ): 1 − σ(1e20) is e^(−1e20), which
# no working precision resolves.
FORMULAS["bce_target_03"] = (lambda x: T * ln_1p_exp(-x) + (1 - T) * ln_1p_exp(x),
                             lambda x: sig(x) - T)


def evaluate_at(fn, x, dps):
    with mp.workdps(dps):
        try:
            if math.isinf(x):
                # The limit: the function at two points far out, where it has settled if it
                # has a limit (NaN where it has none: 1 - cos x oscillates).
                s = 1 if x > 0 else -1
                v = fn(mpf(10) ** 400 * s)
                w = fn(mpf(10) ** 400 * mp.e * s)
                if isinstance(v, mpmath.mpc) or isinstance(w, mpmath.mpc) or float(v) != float(w):
                    return NAN
            else:
                v = fn(mpf(x))
        except (ZeroDivisionError, ValueError):
            return NAN  # a pole or outside the domain: not scored
        if isinstance(v, mpmath.mpc):
            return NAN
        return float(v)


def evaluate(fn, x):
    """f(x) rounded to f64, at a precision raised until two agree (cancellation at the
    smallest inputs needs 100+ digits: x - sin x at 1e-45 is 1.7e-136)."""
    if math.isnan(x):
        return NAN
    # e^(−|x|) beside 1 needs |x|/2.3 digits: start above that where it is affordable.
    start = 60 + (int(abs(x)) // 2 if abs(x) < 2000 else 0)
    prev = evaluate_at(fn, x, start)
    for dps in (start + 90, start + 340, start + 940):
        v = evaluate_at(fn, x, dps)
        if v == prev or (math.isnan(v) and math.isnan(prev)):
            return v
        prev = v
    raise RuntimeError(f"no agreement at 1000 digits: {fn} at {x}")


def main():
    xs = inputs()
    names = list(FORMULAS)
    out = bytearray()
    out += b"ACTIGEN-SUITE-1\n"
    out += f"{len(xs)} {len(names)}\n".encode()
    out += (" ".join(names) + "\n").encode()
    for x in xs:
        out += struct.pack("<f", x)
    for name in names:
        f, df = FORMULAS[name]
        for x in xs:
            out += struct.pack("<dd", evaluate(f, x), evaluate(df, x))
    path = sys.argv[1] if len(sys.argv) > 1 else "examples/data/accuracy_suite.bin"
    with open(path, "wb") as fh:
        fh.write(out)
    print(f"{path}: {len(names)} formulas x {len(xs)} inputs, {len(out)} bytes")


if __name__ == "__main__":
    main()
