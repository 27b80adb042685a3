"""Code generation: every path from SymPy expressions to numpy code.

One layer, in the order an expression goes through it:

* :mod:`~symlearn.codegen.rewrite`: the one table of stable rewrites (``log(1 + exp(u))`` ->
  ``softplus(u)``, ...) and the passes (stable forms, softplus sharing, scalar hoisting);
* the printers: :mod:`~symlearn.codegen.printer` (``StableNumPyPrinter``, elementwise) and
  :mod:`~symlearn.codegen.matrix` (``MatrixNumPyPrinter``, matrix expressions); they import
  nothing from :mod:`symlearn.calculus`;
* the backends, behind one interface (:mod:`~symlearn.codegen.backends`): allocating
  (:mod:`~symlearn.codegen.allocating`, ``lambdify``), in place (:mod:`~symlearn.codegen.inplace`)
  and matrix graph (:mod:`~symlearn.codegen.graph`);
* module text for :func:`symlearn.export` (:mod:`~symlearn.codegen._source`, ``_losses``,
  ``_optim``): the same printer and rewrites, so what an engineer ships is what symlearn tested.
"""

from ._source import FunctionSource, compile_source, function_source, python_name
from .backends import BACKENDS, Backend, backend

__all__ = [
    "BACKENDS",
    "Backend",
    "FunctionSource",
    "backend",
    "compile_source",
    "function_source",
    "python_name",
]
