"""Printers for documents: LaTeX. (The numpy printers are code generation: :mod:`symlearn.codegen`.)"""

from .latex import SymlearnLatexPrinter as SymlearnLatexPrinter
from .latex import latex as latex

__all__ = ["SymlearnLatexPrinter", "latex"]
