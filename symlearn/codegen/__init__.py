"""Code generation: SymPy expressions to the source text of numpy functions.

One printer (:class:`symlearn.printing.numpy.StableNumPyPrinter`, after
:func:`symlearn.printing.numpy.stable_forms`) writes every function; the same source text is
executed for in-package use and written into exported modules, so what an engineer ships is what
symlearn tested.
"""

from ._source import FunctionSource, compile_source, function_source, python_name

__all__ = ["FunctionSource", "compile_source", "function_source", "python_name"]
