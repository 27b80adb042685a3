"""The Matrix Cookbook's section 2 against symlearn's matrix rule table.

Source: K. B. Petersen and M. S. Pedersen, *The Matrix Cookbook*, version of November 15, 2012,
section 2 ("Derivatives"); the equation numbers below are that edition's, each checked against its
text (sec. 2.1.2-2.1.4: 49, 51, 52, 54, 55, 57, 58; sec. 2.2: 61-64; sec. 2.4.1-2.4.3: 69-72, 77, 78,
81-83, 91 (a^T X^n b; 90 is the entrywise form); sec. 2.5.1-2.5.4: 99-104, 106-119, 121-124; sec.
2.6-2.7: 129, 131, 132). Where a line is the Cookbook's formula carried one step further (the
chain rule on (132)), the label says so. The symmetric-matrix forms
(2X - diag(X) and the like, section 2.8) are left out: they are gradients on the set of symmetric
matrices and fail plain central differences by design.

Every identity is checked three ways, each against an independent reference:

1. the Cookbook's formula itself (written below in numpy, by hand) against central finite
   differences of the scalar function (also written in numpy, by hand), on random float64 instances
   that are not square wherever the identity allows;
2. the rule table's gradient, compiled by ``compile_graph`` (which also runs the check before it
   returns), against the Cookbook's formula on random instances;
3. the rule table's gradient, written out entry by entry on a small instance (3 x 2, 2 x 2), against
   ``sympy.diff`` of the scalar expanded by SymPy's own matrix algebra, at random rational points.

Square variables are drawn invertible (a random matrix plus ``n I``); the variable of a log-det is
drawn symmetric positive definite.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardPower

from symlearn.calculus.matrix import FrobeniusNorm, MatrixGraph, MatSum, compile_graph, vjp
from symlearn.functions import sigmoid, softplus

inv, det, tr = np.linalg.inv, np.linalg.det, np.trace
T = sp.Transpose
I_ = sp.Identity


@dataclass(frozen=True)
class Identity:
    """One line of the Cookbook: d loss / d variable = formula.

    ``shapes``: name -> (rows, cols), each a letter among m, n, k or the integer 1. ``loss`` builds
    the SymPy expression from the matrix symbols, ``f`` and ``grad`` are the numpy scalar and the
    Cookbook's formula on the arrays. ``kind`` of the variable: "any", "invertible", "spd" or
    "positive" (entries in (0.5, 1.5))."""

    eq: str
    variable: str
    shapes: dict
    loss: object
    f: object
    grad: object
    kind: str = "any"
    note: str = ""
    sizes: dict = field(default_factory=lambda: {"m": 4, "n": 3, "k": 2})
    small: dict = field(default_factory=lambda: {"m": 3, "n": 2, "k": 2})


def mpow(M, r):
    return np.linalg.matrix_power(M, r)


IDENTITIES = [
    # ---- 2.4.1 first order: vectors and scalar forms ------------------------------------------
    Identity("(69) d x^T a / dx = a", "x", {"x": ("n", 1), "a": ("n", 1)},
             lambda s: s["x"].T * s["a"], lambda v: (v["x"].T @ v["a"]).item(), lambda v: v["a"]),
    Identity("(69) d a^T x / dx = a", "x", {"x": ("n", 1), "a": ("n", 1)},
             lambda s: s["a"].T * s["x"], lambda v: (v["a"].T @ v["x"]).item(), lambda v: v["a"]),
    Identity("(70) d a^T X b / dX = a b^T", "X", {"X": ("m", "n"), "a": ("m", 1), "b": ("n", 1)},
             lambda s: s["a"].T * s["X"] * s["b"], lambda v: (v["a"].T @ v["X"] @ v["b"]).item(),
             lambda v: v["a"] @ v["b"].T),
    Identity("(71) d a^T X^T b / dX = b a^T", "X", {"X": ("m", "n"), "a": ("n", 1), "b": ("m", 1)},
             lambda s: s["a"].T * s["X"].T * s["b"], lambda v: (v["a"].T @ v["X"].T @ v["b"]).item(),
             lambda v: v["b"] @ v["a"].T),
    Identity("(72) d a^T X a / dX = a a^T", "X", {"X": ("n", "n"), "a": ("n", 1)},
             lambda s: s["a"].T * s["X"] * s["a"], lambda v: (v["a"].T @ v["X"] @ v["a"]).item(),
             lambda v: v["a"] @ v["a"].T),
    Identity("(72) d a^T X^T a / dX = a a^T", "X", {"X": ("n", "n"), "a": ("n", 1)},
             lambda s: s["a"].T * s["X"].T * s["a"], lambda v: (v["a"].T @ v["X"].T @ v["a"]).item(),
             lambda v: v["a"] @ v["a"].T),
    # ---- 2.4.2 second order ---------------------------------------------------------------------
    Identity("(77) d b^T X^T X c / dX = X (b c^T + c b^T)", "X",
             {"X": ("m", "n"), "b": ("n", 1), "c": ("n", 1)},
             lambda s: s["b"].T * s["X"].T * s["X"] * s["c"],
             lambda v: (v["b"].T @ v["X"].T @ v["X"] @ v["c"]).item(),
             lambda v: v["X"] @ (v["b"] @ v["c"].T + v["c"] @ v["b"].T)),
    Identity("(78) d (Bx + b)^T C (Dx + d) / dx = B^T C (Dx + d) + D^T C^T (Bx + b)", "x",
             {"x": ("n", 1), "B": ("m", "n"), "b": ("m", 1), "C": ("m", "k"), "D": ("k", "n"),
              "d": ("k", 1)},
             lambda s: (s["B"] * s["x"] + s["b"]).T * s["C"] * (s["D"] * s["x"] + s["d"]),
             lambda v: ((v["B"] @ v["x"] + v["b"]).T @ v["C"] @ (v["D"] @ v["x"] + v["d"])).item(),
             lambda v: v["B"].T @ v["C"] @ (v["D"] @ v["x"] + v["d"])
             + v["D"].T @ v["C"].T @ (v["B"] @ v["x"] + v["b"])),
    Identity("(81) d x^T B x / dx = (B + B^T) x", "x", {"x": ("n", 1), "B": ("n", "n")},
             lambda s: s["x"].T * s["B"] * s["x"], lambda v: (v["x"].T @ v["B"] @ v["x"]).item(),
             lambda v: (v["B"] + v["B"].T) @ v["x"]),
    Identity("(82) d b^T X^T D X c / dX = D^T X b c^T + D X c b^T", "X",
             {"X": ("m", "n"), "D": ("m", "m"), "b": ("n", 1), "c": ("n", 1)},
             lambda s: s["b"].T * s["X"].T * s["D"] * s["X"] * s["c"],
             lambda v: (v["b"].T @ v["X"].T @ v["D"] @ v["X"] @ v["c"]).item(),
             lambda v: v["D"].T @ v["X"] @ v["b"] @ v["c"].T + v["D"] @ v["X"] @ v["c"] @ v["b"].T),
    Identity("(83) d (Xb + c)^T D (Xb + c) / dX = (D + D^T)(Xb + c) b^T", "X",
             {"X": ("m", "n"), "D": ("m", "m"), "b": ("n", 1), "c": ("m", 1)},
             lambda s: (s["X"] * s["b"] + s["c"]).T * s["D"] * (s["X"] * s["b"] + s["c"]),
             lambda v: ((v["X"] @ v["b"] + v["c"]).T @ v["D"] @ (v["X"] @ v["b"] + v["c"])).item(),
             lambda v: (v["D"] + v["D"].T) @ (v["X"] @ v["b"] + v["c"]) @ v["b"].T),
    # ---- 2.4.3 higher order -----------------------------------------------------------------------
    Identity("(91) d a^T X^3 b / dX = sum_r (X^r)^T a b^T (X^(2-r))^T", "X",
             {"X": ("n", "n"), "a": ("n", 1), "b": ("n", 1)},
             lambda s: s["a"].T * s["X"] ** 3 * s["b"],
             lambda v: (v["a"].T @ mpow(v["X"], 3) @ v["b"]).item(),
             lambda v: sum(mpow(v["X"], r).T @ v["a"] @ v["b"].T @ mpow(v["X"], 2 - r).T
                           for r in range(3))),
    Identity("(91) d a^T X^4 b / dX = sum_r (X^r)^T a b^T (X^(3-r))^T", "X",
             {"X": ("n", "n"), "a": ("n", 1), "b": ("n", 1)},
             lambda s: s["a"].T * s["X"] ** 4 * s["b"],
             lambda v: (v["a"].T @ mpow(v["X"], 4) @ v["b"]).item(),
             lambda v: sum(mpow(v["X"], r).T @ v["a"] @ v["b"].T @ mpow(v["X"], 3 - r).T
                           for r in range(4))),
    # ---- 2.5.1 traces, first order ----------------------------------------------------------------
    Identity("(99) d Tr(X) / dX = I", "X", {"X": ("n", "n")},
             lambda s: sp.Trace(s["X"]), lambda v: tr(v["X"]), lambda v: np.eye(len(v["X"]))),
    Identity("(100) d Tr(XA) / dX = A^T", "X", {"X": ("m", "n"), "A": ("n", "m")},
             lambda s: sp.Trace(s["X"] * s["A"]), lambda v: tr(v["X"] @ v["A"]),
             lambda v: v["A"].T),
    Identity("(101) d Tr(AXB) / dX = A^T B^T", "X",
             {"A": ("k", "m"), "X": ("m", "n"), "B": ("n", "k")},
             lambda s: sp.Trace(s["A"] * s["X"] * s["B"]), lambda v: tr(v["A"] @ v["X"] @ v["B"]),
             lambda v: v["A"].T @ v["B"].T),
    Identity("(102) d Tr(A X^T B) / dX = B A", "X",
             {"A": ("k", "n"), "X": ("m", "n"), "B": ("m", "k")},
             lambda s: sp.Trace(s["A"] * s["X"].T * s["B"]),
             lambda v: tr(v["A"] @ v["X"].T @ v["B"]), lambda v: v["B"] @ v["A"]),
    Identity("(103) d Tr(X^T A) / dX = A", "X", {"X": ("m", "n"), "A": ("m", "n")},
             lambda s: sp.Trace(s["X"].T * s["A"]), lambda v: tr(v["X"].T @ v["A"]),
             lambda v: v["A"]),
    Identity("(104) d Tr(A X^T) / dX = A", "X", {"X": ("m", "n"), "A": ("m", "n")},
             lambda s: sp.Trace(s["A"] * s["X"].T), lambda v: tr(v["A"] @ v["X"].T),
             lambda v: v["A"]),
    # ---- 2.5.2 traces, second order ---------------------------------------------------------------
    Identity("(106) d Tr(X^2) / dX = 2 X^T", "X", {"X": ("n", "n")},
             lambda s: sp.Trace(s["X"] ** 2), lambda v: tr(v["X"] @ v["X"]), lambda v: 2 * v["X"].T),
    Identity("(107) d Tr(X^2 B) / dX = (X B + B X)^T", "X", {"X": ("n", "n"), "B": ("n", "n")},
             lambda s: sp.Trace(s["X"] * s["X"] * s["B"]),
             lambda v: tr(v["X"] @ v["X"] @ v["B"]),
             lambda v: (v["X"] @ v["B"] + v["B"] @ v["X"]).T),
    Identity("(108) d Tr(X^T B X) / dX = B X + B^T X", "X", {"X": ("m", "n"), "B": ("m", "m")},
             lambda s: sp.Trace(s["X"].T * s["B"] * s["X"]),
             lambda v: tr(v["X"].T @ v["B"] @ v["X"]),
             lambda v: v["B"] @ v["X"] + v["B"].T @ v["X"]),
    Identity("(109) d Tr(B X X^T) / dX = B X + B^T X", "X", {"X": ("m", "n"), "B": ("m", "m")},
             lambda s: sp.Trace(s["B"] * s["X"] * s["X"].T),
             lambda v: tr(v["B"] @ v["X"] @ v["X"].T),
             lambda v: v["B"] @ v["X"] + v["B"].T @ v["X"]),
    Identity("(110) d Tr(X X^T B) / dX = B X + B^T X", "X", {"X": ("m", "n"), "B": ("m", "m")},
             lambda s: sp.Trace(s["X"] * s["X"].T * s["B"]),
             lambda v: tr(v["X"] @ v["X"].T @ v["B"]),
             lambda v: v["B"] @ v["X"] + v["B"].T @ v["X"]),
    Identity("(111) d Tr(X B X^T) / dX = X B^T + X B", "X", {"X": ("m", "n"), "B": ("n", "n")},
             lambda s: sp.Trace(s["X"] * s["B"] * s["X"].T),
             lambda v: tr(v["X"] @ v["B"] @ v["X"].T),
             lambda v: v["X"] @ v["B"].T + v["X"] @ v["B"]),
    Identity("(112) d Tr(B X^T X) / dX = X B^T + X B", "X", {"X": ("m", "n"), "B": ("n", "n")},
             lambda s: sp.Trace(s["B"] * s["X"].T * s["X"]),
             lambda v: tr(v["B"] @ v["X"].T @ v["X"]),
             lambda v: v["X"] @ v["B"].T + v["X"] @ v["B"]),
    Identity("(113) d Tr(X^T X B) / dX = X B^T + X B", "X", {"X": ("m", "n"), "B": ("n", "n")},
             lambda s: sp.Trace(s["X"].T * s["X"] * s["B"]),
             lambda v: tr(v["X"].T @ v["X"] @ v["B"]),
             lambda v: v["X"] @ v["B"].T + v["X"] @ v["B"]),
    Identity("(114) d Tr(A X B X) / dX = A^T X^T B^T + B^T X^T A^T", "X",
             {"A": ("n", "m"), "X": ("m", "n"), "B": ("n", "m")},
             lambda s: sp.Trace(s["A"] * s["X"] * s["B"] * s["X"]),
             lambda v: tr(v["A"] @ v["X"] @ v["B"] @ v["X"]),
             lambda v: v["A"].T @ v["X"].T @ v["B"].T + v["B"].T @ v["X"].T @ v["A"].T),
    Identity("(115) d Tr(X^T X) / dX = 2 X", "X", {"X": ("m", "n")},
             lambda s: sp.Trace(s["X"].T * s["X"]), lambda v: tr(v["X"].T @ v["X"]),
             lambda v: 2 * v["X"]),
    Identity("(115) d Tr(X X^T) / dX = 2 X", "X", {"X": ("m", "n")},
             lambda s: sp.Trace(s["X"] * s["X"].T), lambda v: tr(v["X"] @ v["X"].T),
             lambda v: 2 * v["X"]),
    Identity("(116) d Tr(B^T X^T C X B) / dX = C^T X B B^T + C X B B^T", "X",
             {"X": ("m", "n"), "C": ("m", "m"), "B": ("n", "k")},
             lambda s: sp.Trace(s["B"].T * s["X"].T * s["C"] * s["X"] * s["B"]),
             lambda v: tr(v["B"].T @ v["X"].T @ v["C"] @ v["X"] @ v["B"]),
             lambda v: v["C"].T @ v["X"] @ v["B"] @ v["B"].T + v["C"] @ v["X"] @ v["B"] @ v["B"].T),
    Identity("(117) d Tr(X^T B X C) / dX = B X C + B^T X C^T", "X",
             {"X": ("m", "n"), "B": ("m", "m"), "C": ("n", "n")},
             lambda s: sp.Trace(s["X"].T * s["B"] * s["X"] * s["C"]),
             lambda v: tr(v["X"].T @ v["B"] @ v["X"] @ v["C"]),
             lambda v: v["B"] @ v["X"] @ v["C"] + v["B"].T @ v["X"] @ v["C"].T),
    Identity("(118) d Tr(A X B X^T C) / dX = A^T C^T X B^T + C A X B", "X",
             {"A": ("k", "m"), "X": ("m", "n"), "B": ("n", "n"), "C": ("m", "k")},
             lambda s: sp.Trace(s["A"] * s["X"] * s["B"] * s["X"].T * s["C"]),
             lambda v: tr(v["A"] @ v["X"] @ v["B"] @ v["X"].T @ v["C"]),
             lambda v: v["A"].T @ v["C"].T @ v["X"] @ v["B"].T + v["C"] @ v["A"] @ v["X"] @ v["B"]),
    Identity("(119) d Tr((AXB + C)(AXB + C)^T) / dX = 2 A^T (AXB + C) B^T", "X",
             {"A": ("k", "m"), "X": ("m", "n"), "B": ("n", "k"), "C": ("k", "k")},
             lambda s: sp.Trace((s["A"] * s["X"] * s["B"] + s["C"])
                                * (s["A"] * s["X"] * s["B"] + s["C"]).T),
             lambda v: tr((v["A"] @ v["X"] @ v["B"] + v["C"]) @ (v["A"] @ v["X"] @ v["B"] + v["C"]).T),
             lambda v: 2 * v["A"].T @ (v["A"] @ v["X"] @ v["B"] + v["C"]) @ v["B"].T),
    # ---- 2.5.3 traces, higher order ---------------------------------------------------------------
    Identity("(121) d Tr(X^3) / dX = 3 (X^2)^T", "X", {"X": ("n", "n")},
             lambda s: sp.Trace(s["X"] ** 3), lambda v: tr(mpow(v["X"], 3)),
             lambda v: 3 * mpow(v["X"], 2).T),
    Identity("(122) d Tr(A X^3) / dX = sum_r (X^r A X^(2-r))^T", "X",
             {"X": ("n", "n"), "A": ("n", "n")},
             lambda s: sp.Trace(s["A"] * s["X"] ** 3), lambda v: tr(v["A"] @ mpow(v["X"], 3)),
             lambda v: sum((mpow(v["X"], r) @ v["A"] @ mpow(v["X"], 2 - r)).T for r in range(3))),
    Identity("(123) d Tr(B^T X^T C X X^T C X B) / dX = C X X^T C X B B^T + C^T X B B^T X^T C^T X "
             "+ C X B B^T X^T C X + C^T X X^T C^T X B B^T", "X",
             {"X": ("m", "n"), "C": ("m", "m"), "B": ("n", "k")},
             lambda s: sp.Trace(s["B"].T * s["X"].T * s["C"] * s["X"] * s["X"].T * s["C"] * s["X"]
                                * s["B"]),
             lambda v: tr(v["B"].T @ v["X"].T @ v["C"] @ v["X"] @ v["X"].T @ v["C"] @ v["X"] @ v["B"]),
             lambda v: (v["C"] @ v["X"] @ v["X"].T @ v["C"] @ v["X"] @ v["B"] @ v["B"].T
                        + v["C"].T @ v["X"] @ v["B"] @ v["B"].T @ v["X"].T @ v["C"].T @ v["X"]
                        + v["C"] @ v["X"] @ v["B"] @ v["B"].T @ v["X"].T @ v["C"] @ v["X"]
                        + v["C"].T @ v["X"] @ v["X"].T @ v["C"].T @ v["X"] @ v["B"] @ v["B"].T)),
    # ---- 2.2 inverses, 2.5.4 other traces -----------------------------------------------------------
    Identity("(61) d a^T X^-1 b / dX = -X^-T a b^T X^-T", "X",
             {"X": ("n", "n"), "a": ("n", 1), "b": ("n", 1)},
             lambda s: s["a"].T * s["X"].I * s["b"], lambda v: (v["a"].T @ inv(v["X"]) @ v["b"]).item(),
             lambda v: -inv(v["X"]).T @ v["a"] @ v["b"].T @ inv(v["X"]).T, kind="invertible"),
    Identity("(63) d Tr(A X^-1 B) / dX = -(X^-1 B A X^-1)^T", "X",
             {"A": ("k", "n"), "X": ("n", "n"), "B": ("n", "k")},
             lambda s: sp.Trace(s["A"] * s["X"].I * s["B"]),
             lambda v: tr(v["A"] @ inv(v["X"]) @ v["B"]),
             lambda v: -(inv(v["X"]) @ v["B"] @ v["A"] @ inv(v["X"])).T, kind="invertible"),
    Identity("(124) d Tr(A X^-1 B) / dX = -X^-T A^T B^T X^-T", "X",
             {"A": ("k", "n"), "X": ("n", "n"), "B": ("n", "k")},
             lambda s: sp.Trace(s["A"] * s["X"].I * s["B"]),
             lambda v: tr(v["A"] @ inv(v["X"]) @ v["B"]),
             lambda v: -inv(v["X"]).T @ v["A"].T @ v["B"].T @ inv(v["X"]).T, kind="invertible"),
    Identity("(64) d Tr((X + A)^-1) / dX = -((X + A)^-1 (X + A)^-1)^T", "X",
             {"X": ("n", "n"), "A": ("n", "n")},
             lambda s: sp.Trace((s["X"] + s["A"]).I),
             lambda v: tr(inv(v["X"] + v["A"])),
             lambda v: -(inv(v["X"] + v["A"]) @ inv(v["X"] + v["A"])).T, kind="spd-sum"),
    # ---- 2.1 determinants ---------------------------------------------------------------------------
    Identity("(49) d det(X) / dX = det(X) X^-T", "X", {"X": ("n", "n")},
             lambda s: sp.Determinant(s["X"]), lambda v: det(v["X"]),
             lambda v: det(v["X"]) * inv(v["X"]).T, kind="invertible"),
    Identity("(51) d det(A X B) / dX = det(A X B) X^-T", "X",
             {"A": ("n", "n"), "X": ("n", "n"), "B": ("n", "n")},
             lambda s: sp.Determinant(s["A"] * s["X"] * s["B"]),
             lambda v: det(v["A"] @ v["X"] @ v["B"]),
             lambda v: det(v["A"] @ v["X"] @ v["B"]) * inv(v["X"]).T, kind="invertible"),
    Identity("(52) d det(X^T A X) / dX = 2 det(X^T A X) X^-T (X square)", "X",
             {"X": ("n", "n"), "A": ("n", "n")},
             lambda s: sp.Determinant(s["X"].T * s["A"] * s["X"]),
             lambda v: det(v["X"].T @ v["A"] @ v["X"]),
             lambda v: 2 * det(v["X"].T @ v["A"] @ v["X"]) * inv(v["X"]).T, kind="invertible"),
    Identity("(54) d det(X^T A X) / dX = det(X^T A X)(A X (X^T A X)^-1 + A^T X (X^T A^T X)^-1)",
             "X", {"X": ("m", "n"), "A": ("m", "m")},
             lambda s: sp.Determinant(s["X"].T * s["A"] * s["X"]),
             lambda v: det(v["X"].T @ v["A"] @ v["X"]),
             lambda v: det(v["X"].T @ v["A"] @ v["X"]) * (
                 v["A"] @ v["X"] @ inv(v["X"].T @ v["A"] @ v["X"])
                 + v["A"].T @ v["X"] @ inv(v["X"].T @ v["A"].T @ v["X"])), kind="any"),
    Identity("(55) d ln det(X^T X) / dX = 2 (X^+)^T", "X", {"X": ("m", "n")},
             lambda s: sp.log(sp.Determinant(s["X"].T * s["X"])),
             lambda v: np.log(det(v["X"].T @ v["X"])),
             lambda v: 2 * np.linalg.pinv(v["X"]).T),
    # (57) is d ln|det X| / dX = X^-T; on positive definite X, |det X| = det X.
    Identity("(57) d ln det(X) / dX = X^-T (X positive definite)", "X", {"X": ("n", "n")},
             lambda s: sp.log(sp.Determinant(s["X"])), lambda v: np.log(det(v["X"])),
             lambda v: inv(v["X"]).T, kind="spd"),
    Identity("(58) d det(X^3) / dX = 3 det(X^3) X^-T", "X", {"X": ("n", "n")},
             lambda s: sp.Determinant(s["X"] ** 3), lambda v: det(mpow(v["X"], 3)),
             lambda v: 3 * det(mpow(v["X"], 3)) * inv(v["X"]).T, kind="invertible"),
    Identity("(62) d det(X^-1) / dX = -det(X^-1) X^-T", "X", {"X": ("n", "n")},
             lambda s: sp.Determinant(s["X"].I), lambda v: det(inv(v["X"])),
             lambda v: -det(inv(v["X"])) * inv(v["X"]).T, kind="invertible"),
    # ---- 2.6, 2.7 norms -------------------------------------------------------------------------------
    Identity("(129) d ||x - a||_2 / dx = (x - a) / ||x - a||_2", "x", {"x": ("n", 1), "a": ("n", 1)},
             lambda s: FrobeniusNorm(s["x"] - s["a"]), lambda v: np.linalg.norm(v["x"] - v["a"]),
             lambda v: (v["x"] - v["a"]) / np.linalg.norm(v["x"] - v["a"])),
    Identity("(131) d ||x||_2^2 / dx = 2 x", "x", {"x": ("n", 1)},
             lambda s: FrobeniusNorm(s["x"]) ** 2, lambda v: np.linalg.norm(v["x"]) ** 2,
             lambda v: 2 * v["x"]),
    Identity("(132) d ||X||_F^2 / dX = 2 X", "X", {"X": ("m", "n")},
             lambda s: FrobeniusNorm(s["X"]) ** 2, lambda v: np.linalg.norm(v["X"]) ** 2,
             lambda v: 2 * v["X"]),
    Identity("(132) and the chain rule: d ||X - A||_F / dX = (X - A) / ||X - A||_F", "X",
             {"X": ("m", "n"), "A": ("m", "n")},
             lambda s: FrobeniusNorm(s["X"] - s["A"]), lambda v: np.linalg.norm(v["X"] - v["A"]),
             lambda v: (v["X"] - v["A"]) / np.linalg.norm(v["X"] - v["A"])),
]

_u = sp.Dummy("u")

#: Elementwise functions, Hadamard products and powers inside traces and sums: not in the Cookbook;
#: their formulas are the scalar derivatives, written by hand (d/du of each function, entry by
#: entry), and checked the same three ways. (The Cookbook's (128), d Tr(sin X) / dX = cos(X)^T, is
#: about the matrix function sin X, not sin of each entry: the line below is not that identity.)
ELEMENTWISE = [
    Identity("d Tr(exp(X)) / dX = I o exp(X)", "X", {"X": ("n", "n")},
             lambda s: sp.Trace(ElementwiseApplyFunction(sp.exp, s["X"])),
             lambda v: tr(np.exp(v["X"])), lambda v: np.eye(len(v["X"])) * np.exp(v["X"])),
    Identity("d Tr(sin(X)) / dX = I o cos(X) (sin elementwise)", "X", {"X": ("n", "n")},
             lambda s: sp.Trace(ElementwiseApplyFunction(sp.sin, s["X"])),
             lambda v: tr(np.sin(v["X"])), lambda v: np.eye(len(v["X"])) * np.cos(v["X"])),
    Identity("d sum(log(X)) / dX = 1 / X (entries positive)", "X", {"X": ("m", "n")},
             lambda s: MatSum(ElementwiseApplyFunction(sp.log, s["X"])),
             lambda v: np.sum(np.log(v["X"])), lambda v: 1 / v["X"], kind="positive"),
    Identity("d sum(tanh(X w)) / dw = X^T (1 - tanh(X w)^2)", "w", {"X": ("m", "n"), "w": ("n", 1)},
             lambda s: MatSum(ElementwiseApplyFunction(sp.tanh, s["X"] * s["w"])),
             lambda v: np.sum(np.tanh(v["X"] @ v["w"])),
             lambda v: v["X"].T @ (1 - np.tanh(v["X"] @ v["w"]) ** 2)),
    Identity("d sum(sigmoid(X w)) / dw = X^T (s o (1 - s))", "w", {"X": ("m", "n"), "w": ("n", 1)},
             lambda s: MatSum(ElementwiseApplyFunction(sigmoid, s["X"] * s["w"])),
             lambda v: np.sum(1 / (1 + np.exp(-(v["X"] @ v["w"])))),
             lambda v: v["X"].T @ ((1 / (1 + np.exp(-(v["X"] @ v["w"]))))
                                   * (1 - 1 / (1 + np.exp(-(v["X"] @ v["w"])))))),
    Identity("d sum(softplus(X w)) / dw = X^T sigmoid(X w)", "w", {"X": ("m", "n"), "w": ("n", 1)},
             lambda s: MatSum(ElementwiseApplyFunction(softplus, s["X"] * s["w"])),
             lambda v: np.sum(np.log1p(np.exp(v["X"] @ v["w"]))),
             lambda v: v["X"].T @ (1 / (1 + np.exp(-(v["X"] @ v["w"]))))),
    Identity("d sum(A o X o X) / dX = 2 A o X", "X", {"X": ("m", "n"), "A": ("m", "n")},
             lambda s: MatSum(sp.HadamardProduct(s["A"], s["X"], s["X"])),
             lambda v: np.sum(v["A"] * v["X"] * v["X"]), lambda v: 2 * v["A"] * v["X"]),
    Identity("d sum(X^{o3}) / dX = 3 X^{o2}", "X", {"X": ("m", "n")},
             lambda s: MatSum(HadamardPower(s["X"], 3)), lambda v: np.sum(v["X"] ** 3),
             lambda v: 3 * v["X"] ** 2),
    Identity("d ||X w - y||^2 / dw = 2 X^T (X w - y)", "w",
             {"X": ("m", "n"), "w": ("n", 1), "y": ("m", 1)},
             lambda s: MatSum(ElementwiseApplyFunction(sp.Lambda(_u, _u**2), s["X"] * s["w"] - s["y"])),
             lambda v: np.sum((v["X"] @ v["w"] - v["y"]) ** 2),
             lambda v: 2 * v["X"].T @ (v["X"] @ v["w"] - v["y"])),
]

ALL = IDENTITIES + ELEMENTWISE


def test_the_table_holds_at_least_forty_cookbook_identities():
    assert len(IDENTITIES) >= 40
    assert len({i.eq for i in ALL}) == len(ALL)


# --------------------------------------------------------------------------------------------------
# Instances


def _shape(spec, sizes):
    return tuple(sizes[d] if isinstance(d, str) else d for d in spec)


def _draw(identity: Identity, sizes: dict, rng) -> dict:
    values = {}
    for name, spec in identity.shapes.items():
        rows, cols = _shape(spec, sizes)
        if name == identity.variable and identity.kind == "positive":
            values[name] = rng.uniform(0.5, 1.5, (rows, cols))
        elif name == identity.variable and identity.kind == "spd":
            M = rng.standard_normal((rows, cols))
            values[name] = M @ M.T / rows + np.eye(rows)
        elif name == identity.variable and identity.kind in ("invertible", "spd-sum") or identity.kind == "spd-sum" and name == "A":
            values[name] = rng.standard_normal((rows, cols)) + rows * np.eye(rows)
        else:
            values[name] = rng.standard_normal((rows, cols))
    return values


def _symbols(identity: Identity, sizes: dict) -> dict:
    return {name: sp.MatrixSymbol(name, *_shape(spec, sizes)) for name, spec in identity.shapes.items()}


def _ids(table):
    return [f"{k:02d}-" + i.eq.split(" / ")[0].replace(" ", "") for k, i in enumerate(table)]


def _seed(identity: Identity, salt: int) -> int:
    return zlib.crc32(identity.eq.encode()) + salt


# --------------------------------------------------------------------------------------------------
# 1. The Cookbook's formula against central differences


@pytest.mark.parametrize("identity", ALL, ids=_ids(ALL))
def test_cookbook_formula_against_central_differences(identity):
    rng = np.random.default_rng(_seed(identity, 0))
    for _ in range(2):
        v = _draw(identity, identity.sizes, rng)
        formula = np.asarray(identity.grad(v), dtype=float)
        X = v[identity.variable]
        assert formula.shape == X.shape, identity.eq
        eps = 1e-6
        fd = np.zeros_like(X)
        for idx in np.ndindex(X.shape):
            plus, minus = dict(v), dict(v)
            plus[identity.variable] = X.copy()
            minus[identity.variable] = X.copy()
            plus[identity.variable][idx] += eps
            minus[identity.variable][idx] -= eps
            fd[idx] = (identity.f(plus) - identity.f(minus)) / (2 * eps)
        np.testing.assert_allclose(formula, fd, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(fd).max()),
                                   err_msg=identity.eq)


# --------------------------------------------------------------------------------------------------
# 2. The rule table's compiled gradient against the Cookbook's formula


@pytest.mark.parametrize("identity", ALL, ids=_ids(ALL))
def test_compiled_rule_table_gradient_equals_cookbook_formula(identity):
    s = _symbols(identity, identity.sizes)
    L = sp.MatrixSymbol("L", 1, 1)
    graph = MatrixGraph(((L, identity.loss(s)),))
    args = list(s.values())
    variable = s[identity.variable]
    f = compile_graph(graph, args, [variable])
    rng = np.random.default_rng(_seed(identity, 1))
    for _ in range(3):
        v = _draw(identity, identity.sizes, rng)
        loss, grads = f(*[v[a.name] for a in args])
        assert loss == pytest.approx(identity.f(v), rel=1e-10, abs=1e-12), identity.eq
        np.testing.assert_allclose(grads[identity.variable], identity.grad(v), rtol=1e-9,
                                   atol=1e-11, err_msg=identity.eq)


# --------------------------------------------------------------------------------------------------
# 3. The rule table's gradient against sympy.diff of the scalar written out


def _written_out(expr):
    """``expr`` with every matrix symbol replaced by its explicit matrix of entries (already done
    by the caller) evaluated by SymPy's own algebra: traces, determinants, norms, products."""

    def atom(e):
        arg = e.arg.doit()
        arg = arg if isinstance(arg, sp.MatrixBase) else arg.as_explicit()
        if isinstance(e, sp.Trace):
            return arg.trace()
        if isinstance(e, sp.Determinant):
            return arg.det()
        return sp.sqrt(sum(x**2 for x in arg))  # the Frobenius norm, by definition

    out = expr.replace(lambda e: isinstance(e, (sp.Trace, sp.Determinant, FrobeniusNorm)), atom)
    out = out.doit()
    if isinstance(out, sp.MatrixBase):
        return out
    return out.as_explicit() if getattr(out, "is_Matrix", False) else sp.ImmutableMatrix([[out]])


@pytest.mark.parametrize("identity", ALL, ids=_ids(ALL))
def test_rule_table_gradient_equals_sympy_diff_of_scalar_form(identity):
    s = _symbols(identity, identity.small)
    variable = s[identity.variable]
    grad = vjp(identity.loss(s), sp.Identity(1), [variable])[variable]
    rng = np.random.default_rng(_seed(identity, 2))
    # Constants at random rationals; the variable's entries stay symbols until after sympy.diff.
    point = _draw(identity, identity.small, rng)
    constants = {s[name]: sp.ImmutableMatrix(point[name].shape[0], point[name].shape[1],
                                             [sp.Rational(round(x * 8), 8) + sp.Rational(1, 16)
                                              if name != identity.variable or identity.kind == "any"
                                              else sp.Rational(round(x * 8), 8)
                                              for x in point[name].ravel()])
                 for name in s}
    values = constants[variable]
    entries = sp.ImmutableMatrix(*variable.shape, lambda i, j: sp.Symbol(f"x{i}{j}"))
    leaves = {k: v for k, v in constants.items() if k != variable}
    leaves[variable] = entries
    scalar = _written_out(identity.loss(s).xreplace(leaves))[0, 0]
    at = {entries[i, j]: values[i, j] for i in range(variable.rows) for j in range(variable.cols)}
    # Ours needs no symbols: the rule table's gradient at the point, written out.
    ours = _written_out(grad.xreplace({**leaves, variable: values}))
    for i in range(variable.rows):
        for j in range(variable.cols):
            truth = sp.diff(scalar, entries[i, j]).xreplace(at)
            value = ours[i, j]
            difference = sp.N(truth - value, 30)
            assert abs(complex(difference)) <= 1e-20 * max(1, abs(complex(sp.N(truth, 30)))), (
                identity.eq, i, j, truth, value)
