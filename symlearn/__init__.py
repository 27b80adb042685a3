"""symlearn: symbolic, machine-checked derivations of neural-network training.

The public API is this explicit list of re-exports; implementation lives in the submodules.
"""

__version__ = "0.1.0"

from .calculus.chain import Graph as Graph
from .calculus.chain import graph as graph
from .compile import compile_function as compile_function
from .derivation import Auto as Auto
from .derivation import Custom as Custom
from .derivation import Derivation as Derivation
from .derivation import DerivationError as DerivationError
from .derivation import Figure as Figure
from .derivation import Numeric as Numeric
from .derivation import Rounded as Rounded
from .derivation import Step as Step
from .derivation import StepCheckError as StepCheckError
from .derivation import Symbolic as Symbolic
from .functions import log_sigmoid as log_sigmoid
from .functions import relu as relu
from .functions import sigmoid as sigmoid
from .functions import softplus as softplus
from .printing.latex import latex as latex
from . import optim as optim
from .verify import Verdict as Verdict
from .verify import verify_gradient as verify_gradient

__all__ = [
    "Auto",
    "Custom",
    "Derivation",
    "DerivationError",
    "Figure",
    "Graph",
    "Numeric",
    "Rounded",
    "Step",
    "StepCheckError",
    "Symbolic",
    "Verdict",
    "compile_function",
    "graph",
    "latex",
    "log_sigmoid",
    "optim",
    "relu",
    "sigmoid",
    "softplus",
    "verify_gradient",
]
