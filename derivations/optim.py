"""Optimizers and learning-rate schedules (the lecture notes "Loss Functions" and the lecture slides
"Neural Network Training Basics"): one document per update rule, the schedules, the slides'
comparison of optimization methods, and a saddle point.

Import is cheap: each builder imports and builds on demand. The documents written out here are
in _optim_documents.py, loaded by symlearn.registry.load_helper; so is ``optimizer_document``, which
writes the others and which each optimizer's ``derivation()`` reaches through the registry.
"""


def _optimizer(name):
    def build():
        # What getattr(optim, name)().derivation() returns, from the _optim_documents.py beside
        # this file (the one the build's cache key covers), whichever folder the build reads.
        from symlearn import optim
        from symlearn.registry import load_helper

        documents = load_helper(__file__, "_optim_documents")
        return documents.optimizer_document(getattr(optim, name)())

    return build


def _document(function):
    def build():
        from symlearn.registry import load_helper

        return getattr(load_helper(__file__, "_optim_documents"), function)()

    return build


CATALOG = {
    "sgd": ("Gradient descent, SGD and mini-batches; full-batch cost is linear in N (measured)",
            _document("sgd_document")),
    "momentum": (("Momentum: the course's two forms are one trajectory; it damps sign-switching "
                  "gradients"), _document("momentum_document")),
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
    "optimizer-comparison": (("The lecture slides' comparison: paths on a narrow valley "
                              "(condition number "
                              "100) and Rosenbrock"), _document("comparison_document")),
    "saddle-point": ("A saddle, x squared minus y squared: gradient descent stalls, momentum escapes",
                     _document("saddle_document")),
}
