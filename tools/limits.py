#!/usr/bin/env python3
"""Limits at x = ±inf of the formulas in tests/tests/limits.rs, and of their derivatives, in
700-digit arithmetic (mpmath): the reference values of that test, printed as its table rows.

Each function is evaluated at ±1e200 and ±1e300; a limit is declared only where the two agree:
both beyond 1e100 in magnitude (±inf), both below 1e-60 (0), or equal to 30 digits. A logarithm
of a negative number (complex in mpmath) is NaN, as in Rust. Run: python3 tools/limits.py
"""
from mpmath import mp, mpf, sqrt, sin, exp, log, tanh, fabs, diff

# 700 digits: x² + 1 at x = 1e300 must keep its 1.
mp.dps = 700


def sigmoid(u):
    return 1 / (1 + exp(-u))


# name, f(x): the same formulas as the test's #[activation] functions.
FORMULAS = [
    ("softsign", lambda x: x / (1 + fabs(x))),
    ("over_hypot", lambda x: x / sqrt(x * x + 1)),
    ("hypot_minus_x", lambda x: sqrt(x * x + 1) - x),
    ("x_sin_recip", lambda x: x * sin(1 / x)),
    ("square_sigmoid", lambda x: x * x * sigmoid(x)),
    ("swish_plus_x", lambda x: x * sigmoid(x) + x),
    ("x_tanh_minus_x", lambda x: x * (tanh(x) - 1)),
    ("log_ratio", lambda x: log(x + 1) - log(x)),
    ("square_ratio", lambda x: (x * x) / (x * x + 1)),
    ("shifted_ratio", lambda x: (x + 1) / (x - 1)),
    ("x_gauss", lambda x: x * exp(-x * x)),
    ("expm1_ratio", lambda x: (exp(x) - 1) / exp(x)),
    ("x_over_square", lambda x: x / (1 + x * x)),
    ("x_minus_x_squared", lambda x: x - x * x),
]


def classify(v1, v2):
    if isinstance(v1, mp.mpc) or isinstance(v2, mp.mpc):
        return "f64::NAN"
    if fabs(v1) > mpf(10) ** 100 and fabs(v2) > mpf(10) ** 100 and (v1 > 0) == (v2 > 0):
        return "f64::INFINITY" if v1 > 0 else "f64::NEG_INFINITY"
    if fabs(v1) < mpf(10) ** -60 and fabs(v2) < mpf(10) ** -60:
        return "0.0"
    if fabs(v1 - v2) <= mpf(10) ** -30 * fabs(v2):
        return repr(float(v2))
    raise ValueError(f"no limit: {v1} vs {v2}")


def limit(f, sign):
    def at(k):
        try:
            return f(sign * mpf(10) ** k)
        except (ValueError, ZeroDivisionError):
            return mp.mpc(0, 1)
    return classify(at(200), at(300))


def derivative(f):
    # A central difference with a step relative to x (an absolute one vanishes against
    # x = 1e300); its error, of order (h/x)² = 1e-60 relative, is far below the test's ULPs.
    return lambda x: diff(f, x, h=fabs(x) * mpf(10) ** -30)


print("// name: (f(+inf), f(-inf), f'(+inf), f'(-inf)), from tools/limits.py (mpmath, 700 digits)")
for name, f in FORMULAS:
    row = [limit(f, 1), limit(f, -1), limit(derivative(f), 1), limit(derivative(f), -1)]
    print(f'    ("{name}", [{", ".join(row)}]),')
