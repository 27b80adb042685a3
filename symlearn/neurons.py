r"""Neurons, layers and multi-layer perceptrons, each in two forms.

* **Matrix form** (for training): a batch of $n$ examples is the rows of $\mathbf{X}$
  ($n \times d$, the row-major convention of numpy and PyTorch), and a dense layer is

  .. math::

      \mathbf{Z}^{(l)} = \mathbf{A}^{(l-1)} \mathbf{W}^{(l)} + \mathbf{1}_n \mathbf{b}^{(l)},
      \qquad \mathbf{A}^{(l)} = f(\mathbf{Z}^{(l)}) \ \text{elementwise},

  with $\mathbf{W}^{(l)}$ of shape $h_{l-1} \times h_l$ and the bias $\mathbf{b}^{(l)}$ a
  $1 \times h_l$ row broadcast over the batch. Whatever the width, the expression has the same
  size, and :class:`~symlearn.calculus.matrix.MatrixGraph` turns it into a few BLAS calls.
* **Scalar form** (for documents): one example, written in scalar symbols,
  $z_j = \sum_i x_i w_{ij} + b_j$ ($w_1 x_1 + w_2 x_2 + b$ for a single neuron).

Inverted dropout with keep probability $p$ multiplies an activation by a 0/1 mask $\mathbf{M}$
(entries Bernoulli($p$)) and divides by $p$: $\mathbf{D} = \frac{1}{p}\,\mathbf{A} \circ \mathbf{M}$,
so $\mathbb{E}[\mathbf{D}] = \mathbf{A}$. The mask is an explicit *input* of the compiled function,
so the backward pass uses the very mask the forward pass drew ($\bar{\mathbf{A}} =
\frac{1}{p}\,\bar{\mathbf{D}} \circ \mathbf{M}$); at evaluation time the layer is the identity.

A :class:`Model` is the forward graph; :func:`objective` appends a loss from the catalog (by its
``torch.nn.functional`` name) and compiles ``loss_and_grad`` with
:func:`~symlearn.calculus.matrix.compile_graph`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .calculus.matrix import MatrixGraph, MatSum, compile_forward, compile_graph, elementwise
from .functions import relu, sigmoid

__all__ = [
    "Layer",
    "Model",
    "N",
    "Objective",
    "affine",
    "dense",
    "inverted_dropout",
    "matrix_losses",
    "mlp",
    "neuron",
    "objective",
]

#: The batch size: a dimension read from the data at run time.
N = sp.Symbol("n", integer=True, positive=True)

#: Activations by name (the CLI's ``--activation``).
ACTIVATIONS = {"sigmoid": sigmoid, "relu": relu, "identity": None}


@dataclass(frozen=True)
class Layer:
    """One dense layer: ``inputs -> outputs`` units, then ``activation`` (``None``: identity),
    then inverted dropout with keep probability ``keep`` (``None``: no dropout)."""

    inputs: int
    outputs: int
    activation: type | None = None
    keep: float | None = None

    def __post_init__(self):
        for name in ("inputs", "outputs"):
            value = getattr(self, name)
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.keep is not None and not (0.0 < self.keep <= 1.0):
            raise ValueError(f"keep={self.keep!r} must be a probability in (0, 1]")


def inverted_dropout(A, M, keep) -> sp.MatrixExpr:
    r"""$\frac{1}{p}\,\mathbf{A} \circ \mathbf{M}$: inverted dropout of ``A`` with the 0/1 mask
    ``M`` (same shape) and keep probability ``keep`` = $p$ (kept exact as a rational)."""
    p = sp.nsimplify(keep)
    return (1 / p) * sp.HadamardProduct(A, M)


@dataclass(frozen=True)
class Model:
    r"""A stack of dense layers in matrix form.

    Attributes:
        name: a label (``"mlp"``).
        layers: the :class:`Layer` specifications, input first.
        input: $\mathbf{X}$, shape $(n, d)$.
        nodes: ``(MatrixSymbol, definition)`` pairs of the forward pass, in order; the last node is
            the output, shape $(n, k)$.
        params: the trainable symbols, ``W1, b1, W2, b2, ...`` ($\mathbf{W}^{(l)}$:
            $h_{l-1} \times h_l$, $\mathbf{b}^{(l)}$: $1 \times h_l$).
        masks: the dropout masks ``M1, ...`` (inputs of the compiled function, shape $(n, h_l)$).
        sizes: dimension symbol -> width (``{d: 64, h1: 64, k: 10}``); $n$ stays free.
    """

    name: str
    layers: tuple
    input: sp.MatrixSymbol
    nodes: tuple
    params: tuple
    masks: tuple
    sizes: Mapping = field(hash=False, compare=False)

    @property
    def output(self) -> sp.MatrixSymbol:
        """The last node: the model's output (logits for classification), shape $(n, k)$."""
        return self.nodes[-1][0]

    @property
    def in_features(self) -> int:
        return self.layers[0].inputs

    @property
    def out_features(self) -> int:
        return self.layers[-1].outputs

    def expanded(self) -> sp.MatrixExpr:
        """The output written in the input and parameters only (e.g. $\\sigma(XW + 1b)$)."""
        return MatrixGraph(self.nodes).expand(self.output)

    def without_dropout(self) -> Model:
        """The evaluation-time model: every dropout layer is the identity."""
        if not self.masks:
            return self
        layers = tuple(Layer(l.inputs, l.outputs, l.activation, None) for l in self.layers)
        return _stack(self.name, layers, symbolic=self._symbolic)

    @property
    def _symbolic(self) -> bool:
        return any(isinstance(s, sp.Symbol) for s in self.input.shape[1:])

    def init(self, seed: int | np.random.Generator | None = 0) -> dict[str, np.ndarray]:
        r"""Initial parameters as PyTorch's ``nn.Linear`` draws them: every entry of
        $\mathbf{W}^{(l)}$ and $\mathbf{b}^{(l)}$ uniform on $(-1/\sqrt{h_{l-1}}, 1/\sqrt{h_{l-1}})$.
        Returns ``{name: float64 array}`` with shapes ``(h_{l-1}, h_l)`` and ``(1, h_l)``."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        params = {}
        for index, layer in enumerate(self.layers, start=1):
            bound = 1.0 / np.sqrt(layer.inputs)
            params[f"W{index}"] = rng.uniform(-bound, bound, (layer.inputs, layer.outputs))
            params[f"b{index}"] = rng.uniform(-bound, bound, (1, layer.outputs))
        return params

    def draw_masks(self, rows: int, rng: np.random.Generator) -> list[np.ndarray]:
        """One Bernoulli(keep) 0/1 mask per dropout layer, shapes ``(rows, h_l)``, float64."""
        return [
            (rng.random((rows, layer.outputs)) < layer.keep).astype(np.float64)
            for layer in self.layers
            if layer.keep is not None
        ]

    # ----------------------------------------------------------------------------------------------
    # Scalar form

    def scalar_symbols(self) -> dict:
        """Matrix entry -> scalar symbol for one example ($n = 1$): ``X[0, i]`` -> $x_{i+1}$,
        ``W1[i, j]`` -> $w^{(1)}_{i+1,j+1}$ (or $w_{i+1}$ for a single neuron), ``b1[0, j]`` ->
        $b^{(1)}_{j+1}$ (or $b$), ``M1[0, j]`` -> $m^{(1)}_{j+1}$."""
        single = len(self.layers) == 1 and self.out_features == 1
        table = {}
        X = self.input.xreplace({N: 1, **self.sizes})
        for i in range(self.in_features):
            table[X[0, i]] = sp.Symbol(f"x_{i + 1}", real=True)
        mask_index = 0
        for index, layer in enumerate(self.layers, start=1):
            W = sp.MatrixSymbol(f"W{index}", layer.inputs, layer.outputs)
            b = sp.MatrixSymbol(f"b{index}", 1, layer.outputs)
            for i in range(layer.inputs):
                for j in range(layer.outputs):
                    name = f"w_{i + 1}" if single else f"w^{{({index})}}_{{{i + 1},{j + 1}}}"
                    table[W[i, j]] = sp.Symbol(name, real=True)
            for j in range(layer.outputs):
                table[b[0, j]] = sp.Symbol("b" if single else f"b^{{({index})}}_{{{j + 1}}}", real=True)
            if layer.keep is not None:
                mask_index += 1
                M = sp.MatrixSymbol(f"M{index}", 1, layer.outputs)
                for j in range(layer.outputs):
                    table[M[0, j]] = sp.Symbol(f"m^{{({index})}}_{{{j + 1}}}", real=True)
        return table

    def scalar_form(self) -> list:
        r"""The outputs for one example, written with scalar symbols, built by loops
        (independently of the matrix form): $z^{(l)}_j = \sum_i a^{(l-1)}_i w^{(l)}_{ij} +
        b^{(l)}_j$, $a^{(l)}_j = f(z^{(l)}_j)$, times $m^{(l)}_j / p$ under dropout.
        Returns the list of the $k$ outputs."""
        single = len(self.layers) == 1 and self.out_features == 1
        a = [sp.Symbol(f"x_{i + 1}", real=True) for i in range(self.in_features)]
        for index, layer in enumerate(self.layers, start=1):
            out = []
            for j in range(layer.outputs):
                if single:
                    weights = [sp.Symbol(f"w_{i + 1}", real=True) for i in range(layer.inputs)]
                    bias = sp.Symbol("b", real=True)
                else:
                    weights = [sp.Symbol(f"w^{{({index})}}_{{{i + 1},{j + 1}}}", real=True)
                               for i in range(layer.inputs)]
                    bias = sp.Symbol(f"b^{{({index})}}_{{{j + 1}}}", real=True)
                z = sp.Add(*[w * x for w, x in zip(weights, a)]) + bias
                value = layer.activation(z) if layer.activation is not None else z
                if layer.keep is not None:
                    mask = sp.Symbol(f"m^{{({index})}}_{{{j + 1}}}", real=True)
                    value = value * mask / sp.nsimplify(layer.keep)
                out.append(value)
            a = out
        return a

    def matrix_form_at_one_example(self) -> list:
        """The matrix form's output entries at $n = 1$, written with :meth:`scalar_symbols`."""
        explicit = self.expanded().xreplace({N: 1, **self.sizes}).as_explicit()
        table = self.scalar_symbols()
        return [explicit[0, j].xreplace(table) for j in range(self.out_features)]


def _stack(name: str, layers: Sequence[Layer], *, symbolic: bool = True) -> Model:
    """Build the matrix form of ``layers``. With ``symbolic`` the widths are dimension symbols
    ($d, h_1, \\dots, k$) mapped to numbers in ``sizes``; otherwise they are the numbers."""
    layers = tuple(layers)
    if not layers:
        raise ValueError("layers=() must hold at least one layer")
    for before, after in zip(layers, layers[1:]):
        if before.outputs != after.inputs:
            raise ValueError(
                f"layer widths do not chain: {before.outputs} outputs feed {after.inputs} inputs"
            )
    widths = [layers[0].inputs] + [layer.outputs for layer in layers]
    if symbolic:
        names = ["d"] + [f"h{l}" for l in range(1, len(layers))] + ["k"]
        dims = [sp.Symbol(s, integer=True, positive=True) for s in names]
        sizes = dict(zip(dims, widths))
    else:
        dims, sizes = [sp.Integer(w) for w in widths], {}
    X = sp.MatrixSymbol("X", N, dims[0])
    nodes, params, masks = [], [], []
    current = X
    for index, layer in enumerate(layers, start=1):
        rows, cols = dims[index - 1], dims[index]
        W = sp.MatrixSymbol(f"W{index}", rows, cols)
        b = sp.MatrixSymbol(f"b{index}", 1, cols)
        params += [W, b]
        Z = sp.MatrixSymbol(f"Z{index}", N, cols)
        nodes.append((Z, current * W + sp.OneMatrix(N, 1) * b))
        current = Z
        if layer.activation is not None:
            A = sp.MatrixSymbol(f"A{index}", N, cols)
            nodes.append((A, elementwise(layer.activation, Z)))
            current = A
        if layer.keep is not None:
            M = sp.MatrixSymbol(f"M{index}", N, cols)
            D = sp.MatrixSymbol(f"D{index}", N, cols)
            nodes.append((D, inverted_dropout(current, M, layer.keep)))
            masks.append(M)
            current = D
    return Model(name, layers, X, tuple(nodes), tuple(params), tuple(masks), sizes)


def affine(inputs: int, outputs: int = 1) -> Model:
    r"""$\mathbf{Z} = \mathbf{X}\mathbf{W} + \mathbf{1}\mathbf{b}$: ``X`` $(n, d)$ -> $(n, k)$;
    with one output, $z = w_1 x_1 + \dots + w_d x_d + b$ per example."""
    return _stack("affine", [Layer(inputs, outputs)])


def neuron(inputs: int, activation=sigmoid) -> Model:
    r"""$\mathbf{a} = f(\mathbf{X}\mathbf{w} + \mathbf{1} b)$: ``X`` $(n, d)$ -> $(n, 1)$;
    per example $a = f(w_1 x_1 + \dots + w_d x_d + b)$."""
    return _stack("neuron", [Layer(inputs, 1, activation)])


def dense(inputs: int, outputs: int, activation=None, keep: float | None = None) -> Model:
    r"""One dense layer $f(\mathbf{X}\mathbf{W} + \mathbf{1}\mathbf{b})$, ``X`` $(n, d)$ ->
    $(n, k)$, optionally followed by inverted dropout with keep probability ``keep``."""
    return _stack("dense", [Layer(inputs, outputs, activation, keep)])


def mlp(
    sizes: Sequence[int], activation=relu, keep: float | None = None, *, symbolic: bool = True
) -> Model:
    r"""A multi-layer perceptron of any depth: ``sizes = (d, h_1, ..., h_{L-1}, k)``.

    Hidden layers apply ``activation`` (a SymPy function class with ``fdiff``: ``relu``,
    ``sigmoid``, ...) and then, if ``keep`` is given, inverted dropout; the last layer is affine
    (its outputs are logits). ``X`` $(n, d)$ -> $(n, k)$.
    """
    sizes = tuple(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes={sizes!r} needs at least an input and an output width")
    layers = [Layer(a, b, activation, keep) for a, b in zip(sizes[:-2], sizes[1:-1])]
    layers.append(Layer(sizes[-2], sizes[-1]))
    return _stack("mlp", layers, symbolic=symbolic)


# --------------------------------------------------------------------------------------------------
# Losses in matrix form, by their torch.nn.functional names


_u = sp.Dummy("u", real=True)
#: $u \mapsto u^2$ elementwise (a HadamardProduct(A, A) would become a HadamardPower, which the
#: rule table does not hold).
_SQUARE = sp.Lambda(_u, _u**2)


def matrix_losses() -> dict:
    """The losses training accepts: the rows of the loss catalog (:data:`symlearn.losses.catalog`)
    that carry a matrix form, ``{name: Loss}`` in the catalog's order. Each one's
    ``spec.matrix_form`` builds the batch loss and ``spec.matrix_targets`` says what the targets
    hold (``"labels"``, ``"binary"`` or ``"values"``)."""
    from .losses import catalog

    return {name: loss for name, loss in catalog.items() if loss.spec.matrix_form is not None}


def _loss_spec(loss):
    """The catalog row of ``loss`` (a name or a ``symlearn.losses`` loss), or a ``ValueError`` in
    one sentence listing the losses with a matrix form."""
    name = loss if isinstance(loss, str) else getattr(loss, "name", None)
    trainable = matrix_losses()
    if name not in trainable:
        raise ValueError(f"loss={loss!r} has no matrix form; choose from {', '.join(trainable)}")
    return trainable[name].spec


def __getattr__(name: str):
    # Deprecated public name, kept one release (issue 14): the table now lives in the catalog.
    if name == "LOSSES":
        import warnings

        warnings.warn(
            "symlearn.neurons.LOSSES is deprecated and will be removed in the next release; use "
            "symlearn.neurons.matrix_losses() (the catalog's losses with a matrix form, each "
            "one's spec.matrix_form and spec.matrix_targets)",
            DeprecationWarning,
            stacklevel=2,
        )
        return {key: (loss.spec.matrix_form, loss.spec.matrix_targets)
                for key, loss in matrix_losses().items()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Objective:
    r"""A model followed by a loss (and optionally an L2 term $\frac{\lambda}{2}\sum_l
    \|\mathbf{W}^{(l)}\|^2$ on the weights, not the biases): the training graph.

    Attributes:
        model, loss (its catalog name), l2 ($\lambda$), target ($\mathbf{T}$, shape $(n, k)$),
        graph (the :class:`MatrixGraph`, last node the $1 \times 1$ loss), args (the compiled
        function's argument order: ``X, T, masks..., params...``).
    """

    def __init__(self, model: Model, loss, l2: float = 0.0):
        if not l2 >= 0:
            raise ValueError(f"{l2=} must be non-negative")
        self.model = model
        spec = _loss_spec(loss)
        self.loss = spec.name
        self.l2 = float(l2)
        builder, self.target_kind = spec.matrix_form, spec.matrix_targets
        if self.target_kind == "binary" and model.out_features != 1:
            raise ValueError(
                f"loss={self.loss!r} needs one output, the model has {model.out_features}"
            )
        k = model.output.shape[1]
        self.target = sp.MatrixSymbol("T", N, k)
        L = sp.MatrixSymbol("L", 1, 1)
        value = builder(model.output, self.target, N, k)
        if self.l2:
            lam = sp.nsimplify(self.l2)
            weights = [W for W in model.params if W.name.startswith("W")]
            penalty = [MatSum(elementwise(_SQUARE, W)) for W in weights]
            value = value + (lam / 2) * (sp.MatAdd(*penalty) if len(penalty) > 1 else penalty[0])
        self.graph = MatrixGraph(model.nodes + ((L, value),))
        self.args = (model.input, self.target, *model.masks, *model.params)
        self._compiled = None
        self._evaluator = None

    @property
    def loss_and_grad(self):
        """``f(X, T, *masks, *params) -> (loss, {param name: gradient})``, compiled once."""
        if self._compiled is None:
            self._compiled = compile_graph(
                self.graph, self.args, self.model.params, name="loss_and_grad"
            )
        return self._compiled

    @property
    def evaluate(self):
        """``f(X, T, *params) -> (loss, output)`` at evaluation time (dropout off, no L2)."""
        if self._evaluator is None:
            model = self.model.without_dropout()
            plain = Objective(model, self.loss)
            args = (model.input, plain.target, *model.params)
            self._evaluator = compile_nodes(plain.graph.nodes, args, (plain.graph.output, model.output))
        return self._evaluator

    def targets(self, y) -> np.ndarray:
        """``y`` as the graph's target matrix $\\mathbf{T}$, float64 of shape ``(n, k)``:
        labels one-hot encoded for ``cross_entropy``, a column for the others."""
        y = np.asarray(y)
        k = self.model.out_features
        if self.target_kind == "labels":
            labels = y.reshape(-1)
            if not np.issubdtype(labels.dtype, np.integer):
                if not np.all(labels == np.round(labels)):
                    raise ValueError("y must hold integer class labels for loss='cross_entropy'")
                labels = labels.astype(np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= k):
                raise ValueError(f"y holds labels outside 0..{k - 1}: {labels.min()}..{labels.max()}")
            return np.eye(k)[labels]
        values = y.astype(np.float64)
        return values.reshape(-1, 1) if values.ndim == 1 else values


def objective(model: Model, loss, l2: float = 0.0) -> Objective:
    """The training graph of ``model`` under ``loss`` (the name of a loss with a matrix form,
    :func:`matrix_losses`, or that ``symlearn.losses`` loss object), plus ``l2`` times half the
    squared weights."""
    return Objective(model, loss, l2)


def compile_nodes(nodes: Sequence, args: Sequence, outputs: Sequence, *, name: str = "forward"):
    """A numpy function of ``args`` computing ``nodes`` in order and returning ``outputs``
    (a tuple; $1 \\times 1$ outputs as floats); see
    :func:`~symlearn.calculus.matrix.compile_forward`."""
    return compile_forward(nodes, args, outputs, name=name)
