"""The loss catalog's documents: one per loss, plus the one-page overview (the lecture
slides' "Still puzzling?" slide, derived).

Every document is generated from the loss's row in ``symlearn.losses`` (adding a row adds a
document); the builders are lazy, so importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable

# The names are fixed here (not read from symlearn.losses) so that importing this module does not
# import SymPy's compiled catalog; test_losses checks the two lists agree.
_LOSSES = (
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "hinge_embedding_loss",
    "ctc_loss", "cosine_embedding_loss", "margin_ranking_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "triplet_margin_loss", "mean_squared_log_error",
    "mean_absolute_percentage_error", "linf_distance", "minkowski_distance", "logistic_loss",
    "hinge_loss", "poisson_nll_loss", "gaussian_nll_loss", "triplet_margin_with_distance_loss",
    "multi_margin_loss", "multilabel_margin_loss",
)


def _loss_builder(name: str) -> Callable:
    def build():
        from symlearn.losses import catalog

        return catalog[name].derivation()

    build.__name__ = f"build_{name}"
    return build


def _overview():
    from symlearn.registry import load_helper

    return load_helper(__file__, "_loss_documents").build_overview()


def _summary(name: str) -> str:
    words = name.replace("_", " ")
    return f"The {words}: the loss, its gradient and PyTorch's conventions, checked step by step."


CATALOG: dict[str, tuple[str, Callable]] = {
    "losses-overview": (
        "Every loss of the course on one page: formula, gradient and a plot of both.",
        _overview,
    ),
    **{name.replace("_", "-"): (_summary(name), _loss_builder(name)) for name in _LOSSES},
}
