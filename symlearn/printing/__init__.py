"""Printers: LaTeX for documents, numerically stable numpy code for compiled functions."""

from .latex import SymlearnLatexPrinter as SymlearnLatexPrinter
from .latex import latex as latex
from .numpy import StableNumPyPrinter as StableNumPyPrinter

__all__ = ["SymlearnLatexPrinter", "latex", "StableNumPyPrinter"]
