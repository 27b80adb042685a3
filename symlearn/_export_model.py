r"""A trained model as one numpy-only Python file (``symlearn train ... --export model.py``).

:func:`export_model` returns the source of a module that imports ``numpy`` and nothing else and
holds the whole model: the parameters as exact float64 literals (``repr`` of a float round-trips
exactly, Python >= 3.1), the feature standardization $x' = (x - \mu) / \sigma$ of the training
rows, and the forward and backward passes as the very source text symlearn executes for itself:
:func:`~symlearn.calculus.matrix.compile_forward` and
:func:`~symlearn.calculus.matrix.compile_graph` print a function and ``exec`` it; the exported
file holds that printed text (``function.source``) and the stable helpers it calls
(:data:`symlearn.codegen.matrix.HELPERS`), so the shipped code and the tested code are one path.

The module's public functions (``X`` of shape ``(n, d)``, raw features, standardized inside):

* ``predict(X)``: class labels (classification) or values (regression), shape ``(n,)`` (``(n, k)``
  for a regression with ``k > 1`` outputs);
* ``predict_proba(X)`` (classifiers): ``(n, k)`` probabilities (``(n, 2)`` for a binary model),
  rows summing to 1;
* ``forward(X, params=None)``: the model's output ``(n, k)`` (logits for classification);
* ``backward(X, y, params=None)``: ``(loss, {name: gradient})`` of the loss symlearn reports
  (dropout off, no L2 term) with respect to every parameter, by the derived matrix graph;
* ``standardize(X)``, ``PARAMS``, ``CLASSES``, ``MEAN``, ``SCALE``.

Shape errors are ``ValueError`` sentences naming both counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["export_model"]

#: Numbers per line in the embedded arrays.
_PER_LINE = 4


def _literal(values: np.ndarray, indent: str) -> str:
    """``numpy.array([...], dtype=float)`` of ``values`` (any shape), reshaped back; each number
    as ``repr(float)``, the shortest text that reads back to the same float64."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(flat).all():
        raise ValueError("the parameters hold NaN or infinity; a model so cannot be exported")
    numbers = [repr(float(v)) for v in flat]
    lines = [", ".join(numbers[i : i + _PER_LINE]) for i in range(0, len(numbers), _PER_LINE)]
    inner = "".join(f"{indent}    {line},\n" for line in lines)
    shape = ", ".join(str(s) for s in np.shape(values))
    shape = shape + "," if np.ndim(values) == 1 else shape
    return f"numpy.array([\n{inner}{indent}], dtype=float).reshape(({shape}))"


def _formula(model) -> tuple[list[str], list[str]]:
    """The forward pass, one assignment a layer: as plain text and in LaTeX."""
    text, tex = [], []
    current, current_tex = "X", r"\mathbf{X}"
    for index, layer in enumerate(model.layers, start=1):
        text.append(f"Z{index} = {current} @ W{index} + b{index}   (b{index} added to every row)")
        tex.append(
            rf"\mathbf{{Z}}^{{({index})}} = {current_tex} \mathbf{{W}}^{{({index})}} + "
            rf"\mathbf{{1}}_n \mathbf{{b}}^{{({index})}}"
        )
        current, current_tex = f"Z{index}", rf"\mathbf{{Z}}^{{({index})}}"
        if layer.activation is not None:
            name = getattr(layer.activation, "__name__", str(layer.activation))
            text.append(f"A{index} = {name}(Z{index})   (elementwise)")
            tex.append(
                rf"\mathbf{{A}}^{{({index})}} = \operatorname{{{name}}}"
                rf"(\mathbf{{Z}}^{{({index})}})"
            )
            current, current_tex = f"A{index}", rf"\mathbf{{A}}^{{({index})}}"
    text.append(f"output = {current}")
    return text, tex


_CHECK = '''
def _check(X):
    """``X`` as a float64 array ``(n, IN_FEATURES)``; a ValueError naming both counts if not."""
    X = numpy.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(
            f"X must be a 2-D array of shape (n, {IN_FEATURES}), not of shape {X.shape}"
        )
    if X.shape[1] != IN_FEATURES:
        raise ValueError(
            f"X has {X.shape[1]} columns but the model expects {IN_FEATURES} features"
        )
    if not numpy.isfinite(X).all():
        row, column = numpy.argwhere(~numpy.isfinite(X))[0]
        raise ValueError(f"X holds {X[row, column]} in row {row}, column {column}")
    return X


def standardize(X):
    r"""The graph's input: ``(X - MEAN) / SCALE``, $x' = (x - \\mu) / \\sigma$ per column with the
    training rows' statistics. ``X`` ``(n, d)`` -> ``(n, d)``."""
    return (_check(X) - MEAN) / SCALE


def _params(params):
    if params is None:
        return [PARAMS[name] for name in PARAM_NAMES]
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params is missing {missing[0]!r}; the model needs {PARAM_NAMES}")
    values = [numpy.asarray(params[name], dtype=float) for name in PARAM_NAMES]
    for name, value in zip(PARAM_NAMES, values):
        if value.shape != PARAMS[name].shape:
            raise ValueError(
                f"params[{name!r}] has shape {value.shape}, the model needs {PARAMS[name].shape}"
            )
    return values


def forward(X, params=None):
    """The model's output, shape ``(n, OUT_FEATURES)`` (logits for classification), for raw
    features ``X`` ``(n, IN_FEATURES)``; ``params`` (default ``PARAMS``) as ``{name: array}``."""
    (output,) = _graph_forward(standardize(X), *_params(params))
    return output


def _targets(y, rows):
    y = numpy.asarray(y)
    if y.shape[0] != rows:
        raise ValueError(f"y has {y.shape[0]} rows but X has {rows}")
    if TARGET_KIND == "labels":
        labels = y.reshape(-1)
        if not numpy.all(labels == numpy.round(labels)) or (
            labels.size and (labels.min() < 0 or labels.max() >= OUT_FEATURES)
        ):
            raise ValueError(f"y must hold class indices 0..{OUT_FEATURES - 1}")
        return numpy.eye(OUT_FEATURES)[labels.astype(numpy.int64)]
    values = y.astype(float)
    return values.reshape(-1, 1) if values.ndim == 1 else values


def backward(X, y, params=None):
    """``(loss, {name: gradient})``: the loss (dropout off, no L2 term) of raw features ``X``
    ``(n, IN_FEATURES)`` and targets ``y`` ``(n,)`` (class indices ``0..k-1``, 0/1, or values)
    and its gradient with respect to each parameter (each of that parameter's shape), by the
    derived matrix graph's backward pass."""
    Xs = standardize(X)
    return _graph_loss_and_grad(Xs, _targets(y, Xs.shape[0]), *_params(params))
'''

_PREDICT = {
    "labels": '''

def predict_proba(X):
    """Class probabilities, ``softmax`` of the logits (row maximum subtracted first), shape
    ``(n, OUT_FEATURES)``, rows summing to 1."""
    return _softmax(forward(X))


def predict(X):
    """The class label of each row (``CLASSES[argmax of the logits]``), shape ``(n,)``."""
    return CLASSES[numpy.argmax(forward(X), axis=1)]
''',
    "binary": '''

def predict_proba(X):
    """``[P(class 0), P(class 1)]`` per row, shape ``(n, 2)``: $\\\\sigma(-z)$ and $\\\\sigma(z)$
    of the logit $z$, each as ``exp(-logaddexp(0, -z))`` (stable for any |z|)."""
    z = forward(X)[:, 0]
    return numpy.stack(
        [numpy.exp(-numpy.logaddexp(0, z)), numpy.exp(-numpy.logaddexp(0, -z))], axis=1
    )


def predict(X):
    """The class label of each row (``CLASSES[1]`` where the logit is positive), shape ``(n,)``."""
    return CLASSES[(forward(X)[:, 0] > 0).astype(numpy.int64)]
''',
    "values": '''

def predict(X):
    """The predicted values: shape ``(n,)`` for one output, ``(n, OUT_FEATURES)`` otherwise."""
    output = forward(X)
    return output[:, 0] if OUT_FEATURES == 1 else output
''',
}


def export_model(
    result,
    *,
    mean: Sequence[float] | np.ndarray | None = None,
    scale: Sequence[float] | np.ndarray | None = None,
    classes: Sequence | None = None,
    info: Mapping[str, object] | None = None,
    name: str | None = None,
) -> str:
    r"""The source of a numpy-only module holding the trained model of ``result``.

    Args:
        result: a :class:`symlearn.train.FitResult`.
        mean, scale: the standardization's statistics, shape ``(d,)`` (``Dataset.mean`` and
            ``Dataset.scale``); default none (0 and 1).
        classes: the original label of each class index (``Dataset.classes``); default
            ``0..k-1`` (``(0, 1)`` for a binary model). Ignored for regression.
        info: what generated the model (data, options, reported metrics), written into the
            header as ``key: value`` lines in the given order; keep it free of timings so the
            file is deterministic.
        name: the model's name in the header's first line (default the model's own, e.g.
            ``"mlp"``; the CLI passes ``--model``, e.g. ``"softmax"`` for an affine model).

    Returns:
        The module's text: the same run gives the same text, byte for byte.
    """
    from .calculus.matrix import compile_forward, compile_graph
    from .neurons import Objective
    from .codegen.matrix import HELPERS

    obj = result.objective
    model = obj.model.without_dropout()
    title = name or model.name
    d, k = model.in_features, model.out_features
    kind = obj.target_kind
    mean = np.zeros(d) if mean is None else np.asarray(mean, dtype=np.float64)
    scale = np.ones(d) if scale is None else np.asarray(scale, dtype=np.float64)
    for argument, value in (("mean", mean), ("scale", scale)):
        if value.shape != (d,):
            raise ValueError(f"{argument} has shape {value.shape}; the model has {d} features")
    if not (scale > 0).all():
        raise ValueError("scale must be positive in every column")
    if kind != "values":
        count = 2 if kind == "binary" else k
        labels = list(range(count)) if classes is None else list(classes)
        if len(labels) != count:
            raise ValueError(f"classes has {len(labels)} labels; the model has {count} classes")
    # The package's own compiled functions: their printed text is what goes into the file.
    forward = compile_forward(model.nodes, (model.input, *model.params), (model.output,),
                              name="_graph_forward")
    plain = Objective(model, obj.loss)
    backward = compile_graph(plain.graph, plain.args, model.params, name="_graph_loss_and_grad")
    names = [p.name for p in model.params]

    text, tex = _formula(model)
    header = [
        f"{title} model trained by symlearn (symlearn.train.fit), exported as numpy-only code.",
        "",
        "Generated by `symlearn train ... --export` (symlearn._export_model.export_model); it",
        "imports numpy and nothing else, and holds the whole model: the parameters as exact",
        "float64 literals, the features' standardization, and the forward and backward passes",
        "as the source symlearn compiles and executes for itself.",
        "",
    ]
    for key, value in (info or {}).items():
        header.append(f"{key}: {value}")
    header += [
        f"layer widths: {' -> '.join(str(w) for w in (d, *(layer.outputs for layer in model.layers)))}",
        f"loss: {obj.loss} (backward's loss: dropout off, no L2 term)",
        "",
        "Forward pass (X: n x d raw features, standardized first: X <- (X - MEAN) / SCALE):",
        "",
        *(f"    {line}" for line in text),
        "",
        "In LaTeX:",
        "",
        *(f"    {line}" for line in tex),
        "",
        "predict(X): class labels (classification) or values (regression), shape (n,);",
    ]
    if kind != "values":
        header.append("predict_proba(X): class probabilities, rows summing to 1;")
    header += [
        "forward(X, params=None): the output (n, k), logits for classification;",
        "backward(X, y, params=None): (loss, {name: gradient}).",
    ]
    doc = "\n".join(header)
    # A raw docstring keeps the LaTeX readable; text that a raw string cannot hold is escaped.
    if '"""' in doc or doc.endswith("\\"):
        opening = '"""'
        doc = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    else:
        opening = 'r"""'
    public = ["backward", "forward", "predict", "standardize"]
    if kind != "values":
        public.insert(3, "predict_proba")
    parts = [
        f'{opening}{doc}\n"""\n',
        # The matrix printer writes redundant parentheses (UP034); the text below is its output
        # unchanged, because the exported code and the in-package code are one path.
        "# ruff: noqa: UP034\n",
        "import numpy\n",
        f"__all__ = {public!r}\n",
        f"IN_FEATURES = {d}",
        f"OUT_FEATURES = {k}",
        f"TARGET_KIND = {kind!r}",
        f"PARAM_NAMES = {names!r}",
    ]
    if kind != "values":
        parts.append(f"CLASSES = numpy.array({labels!r})")
    parts += [
        "",
        "#: The training rows' mean and standard deviation per feature (1 for a constant column).",
        f"MEAN = {_literal(mean, '')}",
        f"SCALE = {_literal(scale, '')}",
        "",
        "#: The trained parameters (read-only): W_l of shape (h_{l-1}, h_l), b_l of shape (1, h_l).",
        "PARAMS = {",
    ]
    for param in names:
        parts.append(f"    {param!r}: {_literal(result.params[param], '    ')},")
    parts += [
        "}",
        "for _value in (MEAN, SCALE, *PARAMS.values()):",
        "    _value.setflags(write=False)",
        "del _value",
        "",
        "# Stable row-wise helpers of the generated code (symlearn.codegen.matrix.HELPERS).",
        HELPERS.strip("\n"),
        "",
        "",
        "# The forward pass as symlearn compiles it (symlearn.calculus.matrix.compile_forward).",
        forward.source.strip("\n"),
        "",
        "",
        "# Loss and gradients as symlearn compiles them (symlearn.calculus.matrix.compile_graph).",
        backward.source.strip("\n"),
        "",
        _CHECK.rstrip("\n"),
        _PREDICT[kind].rstrip("\n"),
    ]
    return "\n".join(parts) + "\n"
