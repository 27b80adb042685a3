"""Entropy, cross-entropy and KL divergence in bits, with the lecture slides' numbers and Gibbs'
inequality."""

import numpy as np
import sympy as sp

from symlearn import Custom, Derivation, Figure, Numeric, Rounded, Step
from symlearn._course_sources import course_source
from symlearn.functions import log2
from symlearn.render.figures import plotted

NAME = "information-theory"

p1, q1 = sp.symbols("p q", positive=True)
p = sp.symbols("p_1:4", positive=True)
q = sp.symbols("q_1:4", positive=True)
H = sp.Function("H")
D = sp.Function("D_{KL}")


def entropy(ps):
    return -sum(pi * log2(pi) for pi in ps)


def cross_entropy(ps, qs):
    return -sum(pi * log2(qi) for pi, qi in zip(ps, qs))


def kl(ps, qs):
    return sum(pi * log2(pi / qi) for pi, qi in zip(ps, qs))


def _draw(path):
    with plotted(path, 1, 2, figsize=(8, 3.2)) as (_, (a, b)):
        _draw_panels(a, b)


def _draw_panels(a, b):
    grid = np.linspace(1e-4, 1 - 1e-4, 400)
    h = -(grid * np.log2(grid) + (1 - grid) * np.log2(1 - grid))
    a.plot(grid, h, color="black")
    for pv in (0.5, 0.75):
        hv = -(pv * np.log2(pv) + (1 - pv) * np.log2(1 - pv))
        a.plot([pv], [hv], "o", color="#d62728")
        a.annotate(f"H({pv}) = {hv:.2f} bits", (pv, hv), textcoords="offset points", xytext=(-30, -16), fontsize=8)
    a.set_xlabel("probability of the first outcome")
    a.set_ylabel("entropy (bits)")
    pv = 0.75
    ce = -(pv * np.log2(grid) + (1 - pv) * np.log2(1 - grid))
    hv = -(pv * np.log2(pv) + (1 - pv) * np.log2(1 - pv))
    b.plot(grid, ce, color="#1f77b4", label="$H(p, q)$, $p = (0.75, 0.25)$")
    b.axhline(hv, color="gray", ls="--", lw=0.8, label="$H(p) = 0.81$")
    b.axvline(pv, color="gray", ls=":", lw=0.8)
    b.set_ylim(0, 4)
    b.set_xlabel("predicted probability $q$ of the first outcome")
    b.set_ylabel("bits")
    b.legend(fontsize=8)


def build():
    quarter, three, half = sp.Rational(1, 4), sp.Rational(3, 4), sp.Rational(1, 2)
    U, P, Q = sp.symbols("U_8 p q")
    game, fair = [three, quarter], [half, half]
    doc = Derivation(
        name=NAME,
        # What the document's symbols stand for; the checks substitute them.
        definitions={
            H(U): entropy([sp.Rational(1, 8)] * 8),
            H(P): entropy(game),
            H(P, Q): cross_entropy(game, fair),
            D(P, Q): kl(game, fair),
        },
        title="Entropy, cross-entropy and KL divergence, in bits",
        summary=(
            f"The information-theory part of {course_source('003')}: "
            "the bits needed to name a winner, the "
            "entropy of a biased game, cross-entropy, KL divergence and Gibbs' inequality "
            "$H(p, q) \\geq H(p)$."
        ),
    )
    doc = doc.section("A fair league of 8 teams")
    doc = doc.text(
        "With no information each team wins with probability $1/8$; $U_8$ names that uniform "
        "distribution and $H(p) = -\\sum_i p_i \\log_2 p_i$."
    )
    eighth = sp.Rational(1, 8)
    doc = doc.chain(
        H(U),
        (sp.Mul(-8, eighth, log2(eighth), evaluate=False), "eight equal terms"),
        (log2(8), "$\\log_2(1/a) = -\\log_2 a$"),
        (3, "3 bits, since $2^3 = 8$"),
    )
    doc = doc.section("A biased game: 75% against 25%")
    h_exact = entropy(game)
    doc = doc.steps(
        Step(-log2(quarter), 2, "news that the underdog won divides the uncertainty by 4"),
        Step(-log2(three), sp.Float("0.42", 2), "news that the favourite won", relation="approx",
             check=Rounded(2)),
        Step(H(P), sp.Add(sp.Mul(-three, log2(three), evaluate=False),
                          sp.Mul(-quarter, log2(quarter), evaluate=False), evaluate=False),
             "the expected number of bits, $p = (0.75, 0.25)$"),
        Step(H(P), sp.Float("0.81", 2), "", relation="approx", check=Rounded(2)),
        Step(sp.Add(sp.Mul(sp.Float("0.75", 2), sp.Float("0.42", 2), evaluate=False),
                    sp.Mul(sp.Float("0.25", 2), 2, evaluate=False), evaluate=False),
             sp.Float("0.82", 2),
             "the slides' figure: it rounds $0.415$ to $0.42$ first",
             relation="approx", check=Rounded(2),
             claim=(sp.Rational(75, 100) * sp.Rational(42, 100) + sp.Rational(1, 4) * 2, sp.Float("0.82", 2))),
    )
    doc = doc.text(
        "The exact entropy is $0.8113$ bits, which rounds to $0.81$. The slides' $0.82$ comes from "
        "rounding $-\\log_2(3/4) = 0.415$ up to $0.42$ before weighting it "
        "($0.75 \\times 0.42 + 0.25 \\times 2 = 0.815$); the rounding, not the formula, "
        "accounts for the difference."
    )
    doc = doc.section("Cross-entropy and KL divergence")
    doc = doc.text(
        "For a true distribution $p$ and a prediction $q$ over the same outcomes, "
        "$H(p, q) = -\\sum_i p_i \\log_2 q_i$ and $D_{KL}(p, q) = \\sum_i p_i \\log_2(p_i/q_i)$. "
        "Written out for three outcomes:"
    )
    doc = doc.steps(
        Step(kl(p, q), cross_entropy(p, q) - entropy(p), "$\\log(a/b) = \\log a - \\log b$: "
             "$D_{KL}(p, q) = H(p, q) - H(p)$", check=Numeric(domain={**{pi: (0, 1) for pi in p}, **{qi: (0, 1) for qi in q}})),
    )
    doc = doc.section("Gibbs' inequality: $H(p, q) \\geq H(p)$")
    doc = doc.text(
        "Why does a wrong prediction cost extra bits? Because $\\ln t \\leq t - 1$ for $t > 0$, "
        "with equality only at $t = 1$. Apply it with $t = q_i/p_i$ over the outcomes with "
        "$p_i > 0$, where $\\sum_i p_i = 1$ and $\\sum_i q_i \\leq 1$:"
    )
    t = sp.Symbol("t", positive=True)
    doc = doc.steps(
        Step(t - 1 - sp.log(t), 0, "$\\ln t \\leq t - 1$ (the tangent line at $t = 1$ lies above the concave $\\ln$)",
             relation=">=", check=Custom(
                 lambda a, b, c: sp.diff(a, t).subs(t, 1) == 0 and sp.simplify(sp.diff(a, t, 2)) == 1 / t**2
                 and a.subs(t, 1) == 0,
                 "checked symbolically: $g(t) = t - 1 - \\ln t$ has $g(1) = 0$, $g'(1) = 0$ and "
                 "$g''(t) = 1/t^2 > 0$, so $g \\geq 0$ with equality only at $t = 1$",
                 method="symbolic")),
        Step(-sp.log(2) * kl(p, q), sum(pi * sp.log(qi / pi) for pi, qi in zip(p, q)),
             "$-D_{KL}$ in nats", check=Numeric(domain={**{pi: (0, 1) for pi in p}, **{qi: (0, 1) for qi in q}})),
        Step(sum(pi * sp.log(qi / pi) for pi, qi in zip(p, q)), sum(pi * (qi / pi - 1) for pi, qi in zip(p, q)),
             "$\\ln t \\leq t - 1$ term by term", relation="<=",
             check=Numeric(domain={**{pi: (0, 1) for pi in p}, **{qi: (0, 1) for qi in q}})),
        Step(sum(pi * (qi / pi - 1) for pi, qi in zip(p, q)), sum(q) - sum(p), "simplify"),
    )
    doc = doc.text(
        "The last line is $\\sum_i q_i - 1 \\leq 0$. Hence $D_{KL}(p, q) \\geq 0$, that is "
        "$H(p, q) \\geq H(p)$, with equality exactly when $q = p$."
    )
    doc = doc.section("With the game's numbers")
    doc = doc.text("Predicting a fair game, $q = (0.5, 0.5)$, when the truth is $p = (0.75, 0.25)$:")
    ce = cross_entropy(game, fair)
    doc = doc.steps(
        Step(H(P, Q), 1, "each outcome costs $-\\log_2 0.5 = 1$ bit"),
        Step(D(P, Q), H(P, Q) - H(P), "the difference of the two"),
        Step(ce - h_exact, sp.Float("0.1887", 4), "extra bits paid for the wrong prediction",
             relation="approx", check=Rounded(4)),
    )
    doc = doc.figure(Figure(
        "information-theory-entropy",
        "Left: the entropy of a two-outcome game; a fair game needs 1 bit, the 75/25 game 0.81. "
        "Right: the cross-entropy $H(p, q)$ is smallest, and equal to $H(p)$, at $q = p$.",
        _draw, requires="matplotlib"))
    return doc
