#!/usr/bin/env python3
"""Ledoit-Wolf (2004) shrinkage intensity of a small data set, exactly, with fractions.

Independent of the C++ (risk/ledoit_wolf.cpp): plain Python, the lemma 3.2-3.4 estimators written
from the paper's definitions with per-observation outer products, no linear-algebra library.
Run: python3 scripts/ledoit_wolf_reference.py   (its output is pinned in
tests/risk/covariance_repair_test.cpp).
"""
from fractions import Fraction as F

# 6 observations of 3 assets (returns in percent, small integers so the arithmetic is exact).
DATA = [
    [1, 2, -1],
    [-2, -1, 0],
    [3, 2, 1],
    [0, -1, 2],
    [-1, 0, -3],
    [2, 1, 1],
]


def main():
    t = len(DATA)
    n = len(DATA[0])
    mean = [F(sum(row[j] for row in DATA), t) for j in range(n)]
    x = [[F(row[j]) - mean[j] for j in range(n)] for row in DATA]
    s = [[sum(x[r][i] * x[r][j] for r in range(t)) / t for j in range(n)] for i in range(n)]
    mu = sum(s[i][i] for i in range(n)) / n
    d2 = sum((s[i][j] - (mu if i == j else 0)) ** 2 for i in range(n) for j in range(n)) / n
    b2bar = sum(
        (x[r][i] * x[r][j] - s[i][j]) ** 2 for r in range(t) for i in range(n) for j in range(n)
    ) / (n * t * t)
    b2 = min(b2bar, d2)
    shrinkage = b2 / d2
    print("mu =", mu, "=", float(mu))
    print("d2 =", d2, "=", float(d2))
    print("b2 =", b2, "=", float(b2))
    print("shrinkage =", shrinkage, "=", repr(float(shrinkage)))
    for i in range(n):
        print(" ".join(repr(float((1 - shrinkage) * s[i][j] + (shrinkage * mu if i == j else 0)))
                       for j in range(n)))


if __name__ == "__main__":
    main()
