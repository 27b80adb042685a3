"""Optimizers and learning-rate schedules (seeds 000 and 003): one document per update rule, the
schedules, seed 003's comparison of optimization methods, and a saddle point.

Import is cheap: each builder imports and builds on demand.
"""


def _optimizer(name):
    def build():
        from symlearn import optim

        return getattr(optim, name)().derivation()

    return build


def _document(function):
    def build():
        from symlearn.optim import _documents

        return getattr(_documents, function)()

    return build


CATALOG = {
    "sgd": ("Gradient descent, SGD and mini-batches; full-batch cost is linear in N (measured)",
            _document("sgd_document")),
    "momentum": ("Momentum: the seeds' two forms are one trajectory; it damps sign-switching "
                 "gradients", _document("momentum_document")),
    "nesterov": ("Nesterov: the change of variables to the look-ahead point, and PyTorch's form",
                 _document("nesterov_document")),
    "adagrad": ("AdaGrad: update rule, and why its step decays like one over the square root of t",
                _optimizer("adagrad")),
    "rmsprop": ("RMSProp: AdaGrad with a decaying mean of squares (centered, momentum)",
                _optimizer("rmsprop")),
    "adadelta": ("AdaDelta: unit-consistent steps, learning rate 1.0 by default",
                 _optimizer("adadelta")),
    "adam": ("Adam: update rule and the bias-correction derivation", _optimizer("adam")),
    "amsgrad": ("AMSGrad: the maximum of second moments makes the effective step non-increasing",
                _document("amsgrad_document")),
    "adamw": ("AdamW: decoupled weight decay versus Adam's L2", _optimizer("adamw")),
    "nadam": ("NAdam: Adam with Nesterov momentum, PyTorch's momentum schedule",
              _optimizer("nadam")),
    "lr-schedules": ("Learning-rate schedules as formulas in t, equal to torch.optim.lr_scheduler",
                     _document("schedules_document")),
    "optimizer-comparison": ("Seed 003's comparison: paths on a narrow valley (condition number 100) and "
                             "Rosenbrock", _document("comparison_document")),
    "saddle-point": ("A saddle, x squared minus y squared: gradient descent stalls, momentum escapes",
                     _document("saddle_document")),
}
