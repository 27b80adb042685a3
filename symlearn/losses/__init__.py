r"""The loss catalog: every loss in the course, derived, compiled stable, equal to PyTorch.

Each loss is a :class:`Loss` importable by its ``torch.nn.functional`` name and called with torch's
signature and defaults on numpy arrays::

    from symlearn.losses import cross_entropy
    value = cross_entropy(logits, labels)                  # reduction='mean'
    value, grad = cross_entropy.value_and_grad(logits, labels, label_smoothing=0.1)

``catalog`` maps every name to its loss; ``loss.expr`` is its SymPy expression, ``loss.spec`` its
row of the table, ``loss.derivation()`` its checked document.
"""

from ._catalog import SPECS as _SPECS
from ._spec import Loss as Loss
from ._spec import LossSpec as LossSpec

#: Every loss by name, in the course's order.
catalog: dict[str, Loss] = {spec.name: Loss(spec) for spec in _SPECS}

mse_loss = catalog["mse_loss"]
l1_loss = catalog["l1_loss"]
huber_loss = catalog["huber_loss"]
smooth_l1_loss = catalog["smooth_l1_loss"]
cross_entropy = catalog["cross_entropy"]
nll_loss = catalog["nll_loss"]
binary_cross_entropy = catalog["binary_cross_entropy"]
binary_cross_entropy_with_logits = catalog["binary_cross_entropy_with_logits"]
kl_div = catalog["kl_div"]
hinge_embedding_loss = catalog["hinge_embedding_loss"]
ctc_loss = catalog["ctc_loss"]
cosine_embedding_loss = catalog["cosine_embedding_loss"]
margin_ranking_loss = catalog["margin_ranking_loss"]
soft_margin_loss = catalog["soft_margin_loss"]
multilabel_soft_margin_loss = catalog["multilabel_soft_margin_loss"]
triplet_margin_loss = catalog["triplet_margin_loss"]
mean_squared_log_error = catalog["mean_squared_log_error"]
mean_absolute_percentage_error = catalog["mean_absolute_percentage_error"]
linf_distance = catalog["linf_distance"]
minkowski_distance = catalog["minkowski_distance"]
logistic_loss = catalog["logistic_loss"]
hinge_loss = catalog["hinge_loss"]
poisson_nll_loss = catalog["poisson_nll_loss"]
gaussian_nll_loss = catalog["gaussian_nll_loss"]
triplet_margin_with_distance_loss = catalog["triplet_margin_with_distance_loss"]
multi_margin_loss = catalog["multi_margin_loss"]
multilabel_margin_loss = catalog["multilabel_margin_loss"]

__all__ = [
    "Loss",
    "LossSpec",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "catalog",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "hinge_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linf_distance",
    "logistic_loss",
    "margin_ranking_loss",
    "mean_absolute_percentage_error",
    "mean_squared_log_error",
    "minkowski_distance",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
