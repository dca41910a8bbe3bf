"""Chebyshev fits behind `erfc_near` and `erfc_far` in runtime/src/math.rs.

    pip install mpmath
    python3 tools/fit_erfc.py near 7     # f32: e^(x²)·erfc(x) on [0.5, 1], powers of (x − 0.75)
    python3 tools/fit_erfc.py near 17    # f64
    python3 tools/fit_erfc.py far32 5    # f32: x·e^(x²)·erfc(x), powers of (1/x² − mid), x ∈ [4, 10.5]
    python3 tools/fit_erfc.py far64 10   # f64: the same on x ∈ [6, 27.5]

Interpolates at Chebyshev nodes in 50-digit arithmetic, converts to powers of (v − mid),
rounds to f64 and prints the coefficients with the max relative error of the rounded
polynomial, measured in mpmath on 2001 points.
"""
import sys

import mpmath as mp

mp.mp.dps = 50
kind, deg = sys.argv[1], int(sys.argv[2])
if kind == "near":
    lo, hi = mp.mpf(0.5), mp.mpf(1)
    f = lambda x: mp.exp(x * x) * mp.erfc(x)
else:
    a, b = (4, 10.5) if kind == "far32" else (6, 27.5)
    lo, hi = 1 / mp.mpf(b) ** 2, 1 / mp.mpf(a) ** 2
    f = lambda t: (lambda x: x * mp.exp(x * x) * mp.erfc(x))(1 / mp.sqrt(t))
mid, half = (lo + hi) / 2, (hi - lo) / 2
n = deg + 1
nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
vals = [f(mid + half * t) for t in nodes]
cheb = [2 * mp.fsum(vals[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n) for k in range(n)) / n
        for j in range(n)]
cheb[0] /= 2
# T_j(u) in powers of u, then u = (v − mid)/half.
T = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
for j in range(2, n):
    up = [mp.mpf(0)] + [2 * c for c in T[j - 1]]
    down = T[j - 2] + [mp.mpf(0)] * (len(up) - len(T[j - 2]))
    T.append([p - q for p, q in zip(up, down)])
mono = [mp.mpf(0)] * n
for j in range(n):
    for i, c in enumerate(T[j]):
        mono[i] += cheb[j] * c
coef = [float(m / half ** i) for i, m in enumerate(mono)]
worst = 0
for k in range(2001):
    v = lo + (hi - lo) * k / 2000
    p = mp.mpf(0)
    for c in reversed(coef):
        p = p * (v - mid) + mp.mpf(c)
    worst = max(worst, abs(p / f(v) - 1))
print(f"mid = {float(mid)!r}, max relative error {mp.nstr(worst, 3)}")
for c in coef:
    print(f"{c!r},")
