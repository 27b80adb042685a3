"""symlearn: symbolic, machine-checked derivations of neural-network training.

The public API is the explicit table below: each public name and the submodule it comes from.
Names are imported on first use (PEP 562), so ``symlearn --help`` and ``symlearn verify`` do not
pay for modules they do not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

#: public name -> (submodule, attribute); ``None`` as attribute re-exports the submodule itself.
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "Auto": (".derivation", "Auto"),
    "Custom": (".derivation", "Custom"),
    "Derivation": (".derivation", "Derivation"),
    "DerivationError": (".derivation", "DerivationError"),
    "Figure": (".derivation", "Figure"),
    "Numeric": (".derivation", "Numeric"),
    "Rounded": (".derivation", "Rounded"),
    "Step": (".derivation", "Step"),
    "StepCheckError": (".derivation", "StepCheckError"),
    "Symbolic": (".derivation", "Symbolic"),
    "Graph": (".calculus.chain", "Graph"),
    "graph": (".calculus.chain", "graph"),
    "MatrixGraph": (".calculus.matrix", "MatrixGraph"),
    "GradientCheckError": (".calculus.matrix", "GradientCheckError"),
    "compile_function": (".compile", "compile_function"),
    "export": ("._export", "export"),
    "log_sigmoid": (".functions", "log_sigmoid"),
    "relu": (".functions", "relu"),
    "sigmoid": (".functions", "sigmoid"),
    "softplus": (".functions", "softplus"),
    "latex": (".printing.latex", "latex"),
    "Verdict": (".verify", "Verdict"),
    "verify_gradient": (".verify", "verify_gradient"),
    "verify_matrix_gradient": (".verify_matrix", "verify_matrix_gradient"),
    "losses": (".losses", None),
    "optim": (".optim", None),
    "neurons": (".neurons", None),
    "train": (".train", None),
    "data": (".data", None),
    "fit": (".train", "fit"),
    "TrainingError": (".train", "TrainingError"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'symlearn' has no attribute {name!r}") from None
    module = importlib.import_module(module_name, __name__)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # cache: later lookups are plain attribute reads
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import data, losses, neurons, optim, train
    from .train import TrainingError, fit
    from .calculus.chain import Graph, graph
    from .calculus.matrix import GradientCheckError, MatrixGraph
    from .compile import compile_function
    from ._export import export
    from .derivation import (
        Auto, Custom, Derivation, DerivationError, Figure, Numeric, Rounded, Step, StepCheckError,
        Symbolic,
    )
    from .functions import log_sigmoid, relu, sigmoid, softplus
    from .printing.latex import latex
    from .verify import Verdict, verify_gradient
    from .verify_matrix import verify_matrix_gradient
