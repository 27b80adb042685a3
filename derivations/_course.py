"""Helpers shared by the course documents (``course_*.py``): displayed formulas, numbers in
LaTeX, and steps whose claim was measured on a run. A source loads it with
``symlearn.registry.load_helper(__file__, "_course")``; the build cache's key covers it (every
``_*.py`` beside the sources)."""

from __future__ import annotations

import numpy as np
import sympy as sp

from symlearn import Custom, Step

COMPARE = {"=": np.equal, ">": np.greater, "<": np.less, ">=": np.greater_equal,
           "<=": np.less_equal}


def shown(tex: str) -> sp.Symbol:
    """A displayed formula, printed verbatim (braces stop SymPy splitting the name at ``_``);
    the step's ``claim`` says what is checked."""
    return sp.Symbol("{" + tex + "}")


def tex(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant digits as LaTeX ($1.27 \\cdot 10^{-27}$, not 1.27e-27)."""
    text = f"{x:.{digits}g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if mantissa == "1":
        return f"10^{{{int(exponent)}}}"
    return f"{mantissa} \\cdot 10^{{{int(exponent)}}}"


def value(x: float, digits: int = 3) -> sp.Float:
    return sp.Float(f"{x:.{digits}g}", digits)


def measured(lhs_value, rhs_value, relation: str, what: str,
             method: str = "measured on the run described above (fixed seeds)") -> Custom:
    """A check that ``lhs_value relation rhs_value`` held in the run; for ``approx`` the shown
    number is the measured one to 3 significant digits."""

    def check(lhs, rhs, context) -> bool:
        if relation == "approx":
            return f"{float(lhs_value):.3g}" == f"{float(rhs_value):.3g}"
        return bool(COMPARE[relation](float(lhs_value), float(rhs_value)))

    return Custom(check, f"{method}: {what}", "measured")


def measured_step(lhs_tex, number, reason, what, relation="approx", rhs=None,
                  check=measured) -> Step:
    """``lhs_tex ≈ number`` (or ``lhs relation rhs``) as a measured step; ``check`` makes the
    step's check (:func:`measured` by default)."""
    if relation == "approx":
        rounded = value(number)
        return Step(shown(lhs_tex), rounded, reason, relation="approx",
                    claim=(number, float(rounded)), check=check(number, rounded, "approx", what))
    right_value, right_tex = rhs
    what += f" (${tex(number)}$ against ${tex(right_value)}$)"
    return Step(shown(lhs_tex), shown(right_tex), reason, relation=relation,
                claim=(number, right_value), check=check(number, right_value, relation, what))
