r"""Optimizers and learning-rate schedules as SymPy equations, compiled to numpy steps.

Each optimizer factory takes ``torch.optim``'s hyper-parameters by the same names and defaults and
returns an object with optax's shape: ``init(params) -> state`` and
``update(grads, state, params) -> (updates, new_state)``, ``new_params = params + updates``
(:func:`apply_updates`). ``.equations`` is the SymPy update rule; ``.derivation()`` its document.
``params`` and ``grads`` may be arrays or trees of them (dicts, lists, tuples, NamedTuples): dicts
are matched by key whatever their order (as JAX and optax do), and a missing or extra key, another
structure or another shape is a ``ValueError`` naming the key path. ``lr`` may be a number or a
schedule. Schedules are factories returning a function of the step:
called with ``sympy.Symbol("t")`` a schedule gives its formula, called with an int a number.
"""

from ._base import Optimizer as Optimizer
from ._base import apply_updates as apply_updates
from ._rules import AdadeltaState as AdadeltaState
from ._rules import AdagradState as AdagradState
from ._rules import AdamState as AdamState
from ._rules import NAdamState as NAdamState
from ._rules import RMSpropState as RMSpropState
from ._rules import SGDState as SGDState
from ._rules import adadelta as adadelta
from ._rules import adagrad as adagrad
from ._rules import adam as adam
from ._rules import adamw as adamw
from ._rules import nadam as nadam
from ._rules import rmsprop as rmsprop
from ._rules import sgd as sgd
from ._schedules import Schedule as Schedule
from ._schedules import constant as constant
from ._schedules import cosine_annealing as cosine_annealing
from ._schedules import exponential_decay as exponential_decay
from ._schedules import inverse_time_decay as inverse_time_decay
from ._schedules import linear_warmup as linear_warmup
from ._schedules import multistep_decay as multistep_decay
from ._schedules import one_cycle as one_cycle
from ._schedules import preset as preset
from ._schedules import step_decay as step_decay

__all__ = [
    "AdadeltaState",
    "AdagradState",
    "AdamState",
    "NAdamState",
    "Optimizer",
    "RMSpropState",
    "SGDState",
    "Schedule",
    "adadelta",
    "adagrad",
    "adam",
    "adamw",
    "apply_updates",
    "constant",
    "cosine_annealing",
    "exponential_decay",
    "inverse_time_decay",
    "linear_warmup",
    "multistep_decay",
    "nadam",
    "one_cycle",
    "preset",
    "rmsprop",
    "sgd",
    "step_decay",
]
