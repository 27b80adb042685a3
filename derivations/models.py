"""Models in matrix form: linear, logistic and softmax regression, backpropagation through a
two-layer MLP, inverted dropout, weight decay.

Every gradient is the matrix rule table's (``symlearn.calculus.matrix``) and is checked by a
``Custom`` check that (1) runs ``MatrixGraph.check`` -- the backward pass equals ``sympy.diff`` of
the expanded scalar loss, entry by entry, on a small instance -- and (2) compares the displayed
formula with the graph's gradient entry by entry on that instance. SymPy's own matrix algebra cannot
decide these identities (it does not differentiate through elementwise activations).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symlearn import Custom, Derivation, Figure, Step, Symbolic
from symlearn.calculus.matrix import (
    GradientCheckError,
    LogSumExp,
    MatrixGraph,
    MatSum,
    Softmax,
    elementwise,
)
from symlearn.calculus.matrix import _same as _entries_agree
from symlearn.functions import sigmoid, softplus

n, d, k, h = sp.symbols("n d k h", integer=True, positive=True)
SIZES = {n: 3, d: 2, k: 3, h: 2}
X = sp.MatrixSymbol("X", n, d)
y = sp.MatrixSymbol("y", n, 1)
Y = sp.MatrixSymbol("Y", n, k)
w = sp.MatrixSymbol("w", d, 1)
W = sp.MatrixSymbol("W", d, k)
# The loss: a 1 x 1 matrix (the graph's output), printed as the scalar the prose calls it.
L = sp.MatrixSymbol(r"\mathcal{L}", 1, 1)
_u = sp.Dummy("u", real=True)
SQUARE = sp.Lambda(_u, _u**2)
ONES_N = sp.OneMatrix(n, 1)


_GRAPH_CHECKS: dict = {}


def _explicit(expr, memo: dict):
    """``expr`` (a matrix expression at integer sizes) as an explicit matrix, built bottom-up:
    every operand is made explicit first, so a product is an explicit matrix product.

    SymPy's ``as_explicit`` on the whole expression asks each entry of a product for a symbolic
    ``Sum`` over a dummy index and then evaluates it, recursively through every nested product;
    on the MLP that took 80 s of CPU for a $2\\times 2$ instance, this takes under a second.
    Used to compare a displayed formula with the graph's gradient (the graph itself is checked
    by ``MatrixGraph.check``)."""
    if expr in memo:
        return memo[expr]
    if not isinstance(expr, sp.MatrixExpr):
        out = expr  # a scalar factor, or an elementwise function
    elif isinstance(expr, sp.MatrixSymbol):
        # Plain symbols for the entries (lambdify prints them as they are; matrix elements it
        # must first replace by dummies, which was most of the comparisons' time).
        out = _entries(expr)
    elif isinstance(expr, (sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
        out = sp.ImmutableMatrix(expr.as_explicit())
    else:
        args = [_explicit(a, memo) for a in expr.args]
        if isinstance(expr, sp.MatMul):
            out = functools.reduce(operator.mul, args)
        elif isinstance(expr, sp.MatAdd):
            out = functools.reduce(operator.add, args)
        elif isinstance(expr, sp.HadamardProduct):
            out = functools.reduce(lambda a, b: a.multiply_elementwise(b), args)
        elif isinstance(expr, sp.Transpose):
            out = args[0].T
        elif isinstance(expr, ElementwiseApplyFunction):
            out = args[1].applyfunc(expr.function)
        else:  # symlearn's row reductions (MatSum, LogSumExp, Softmax) read explicit entries
            out = expr.func(*args).as_explicit()
        out = sp.ImmutableMatrix(out)
    memo[expr] = out
    return out


def _entries(symbol: sp.MatrixSymbol) -> sp.ImmutableMatrix:
    """A sized matrix symbol as a matrix of scalar symbols ``X_0_1`` (entry (0, 1) of ``X``)."""
    stem = re.sub(r"\W", "_", symbol.name)
    rows, cols = (int(s) for s in symbol.shape)
    return sp.ImmutableMatrix(rows, cols, lambda i, j: sp.Symbol(f"{stem}_{i}_{j}"))


def _gradient_check(graph: MatrixGraph, wrt, symbol, formula, sizes=SIZES, description=""):
    """A Custom check: graph backward == sympy.diff (entry by entry), and ``formula`` == the
    graph's gradient with respect to ``symbol``, entry by entry, at ``sizes``."""

    def check(lhs, rhs, context) -> bool:
        key = (graph, tuple(wrt), tuple(sorted((str(s), v) for s, v in sizes.items())))
        if key not in _GRAPH_CHECKS:  # one whole-graph check serves every step that uses it
            # The library's check (MatrixGraph.check): the backward pass against sympy.diff of
            # the loss written out in scalars, entry by entry, at random points; it raises on a
            # mismatch, which makes this step's check fail.
            try:
                _GRAPH_CHECKS[key] = graph.check(wrt, sizes)
            except GradientCheckError:
                _GRAPH_CHECKS[key] = False
        if not _GRAPH_CHECKS[key]:
            return False
        memo: dict = {}
        ours = _explicit(graph.gradient(symbol, wrt).xreplace(sizes), memo)
        claimed = _explicit(formula.xreplace(sizes), memo)
        return ours.shape == claimed.shape and all(
            _entries_agree(ours[i, j], claimed[i, j])
            for i in range(ours.rows) for j in range(ours.cols))

    sizes_text = ", ".join(f"${s} = {v}$" for s, v in sizes.items())
    return Custom(
        check,
        description or (
            "checked on a small instance (" + sizes_text + "): the rule table's backward pass "
            "equals sympy.diff of the loss written in scalars, entry by entry, and equals this "
            "formula entry by entry"
        ),
        method="symbolic",
    )


# --------------------------------------------------------------------------------------------------
# Linear regression


def build_linear_regression() -> Derivation:
    R = sp.MatrixSymbol("R", n, 1)
    graph = MatrixGraph(((R, X * w - y), (L, (1 / n) * MatSum(elementwise(SQUARE, R)))))
    gradient = (2 / n) * X.T * (X * w - y)
    doc = Derivation(
        name="linear-regression",
        title="Linear regression: the mean squared error gradient in matrix form",
        summary="The mean squared error's gradient $\\frac{2}{n}\\mathbf{X}^T(\\mathbf{X}\\mathbf{w} - "
                "\\mathbf{y})$, and its zero: the normal equations.",
        sizes=SIZES,
    )
    doc = doc.section("The loss and its gradient")
    doc = doc.text(
        "The rows of $\\mathbf{X} \\in \\mathbb{R}^{n\\times d}$ are the examples (numpy's and "
        "PyTorch's row-major batch), $\\mathbf{w} \\in \\mathbb{R}^{d}$ the weights. The "
        "residual is $\\mathbf{r} = \\mathbf{X}\\mathbf{w} - \\mathbf{y}$ and the loss "
        "(`mse_loss`) is $\\mathcal{L} = \\frac{1}{n}\\sum_i r_i^2$. The rule table sends the "
        "upstream gradient $\\frac{1}{n}\\mathbf{1}$ through $u \\mapsto u^2$ (giving "
        "$\\frac{2}{n}\\mathbf{r}$) and then through the product $\\mathbf{X}\\mathbf{w}$ "
        "($\\bar{\\mathbf{w}} = \\mathbf{X}^T \\bar{\\mathbf{r}}$):"
    )
    doc = doc.steps(
        Step(sp.Derivative(L, w), gradient, "matmul rule after the square's derivative",
             check=_gradient_check(graph, [w], w, gradient)),
    )
    doc = doc.section("Its zero is the normal equations")

    def same_solutions(lhs, rhs, context) -> bool:
        g = (lhs.lhs - lhs.rhs).xreplace(SIZES).as_explicit()
        a_minus_b = (rhs.lhs - rhs.rhs).xreplace(SIZES).as_explicit()
        return sp.expand(g - sp.Rational(2, SIZES[n]) * a_minus_b) == sp.zeros(*g.shape)

    doc = doc.steps(
        Step(
            sp.Eq(gradient, sp.ZeroMatrix(d, 1), evaluate=False),
            sp.Eq(X.T * X * w, X.T * y, evaluate=False),
            "multiply by $n/2$ and move $\\mathbf{X}^T\\mathbf{y}$ across",
            relation="iff",
            check=Custom(same_solutions, "checked symbolically on the instance: the gradient is "
                         "exactly $\\frac{2}{n}(\\mathbf{X}^T\\mathbf{X}\\mathbf{w} - "
                         "\\mathbf{X}^T\\mathbf{y})$", method="symbolic"),
        )
    )
    doc = doc.text(
        "These are the normal equations of the `normal-equations` document (the lecture slides' "
        "$\\|\\mathbf{y} - \\mathbf{X}\\boldsymbol{\\theta}\\|^2$ is $n$ times this loss, so the "
        "two gradients differ by the factor $n$ and have the same zero). Gradient descent on "
        "this loss therefore converges to the least-squares solution; `tests/test_train.py` "
        "trains linear regression on the diabetes data to convergence and matches "
        "`numpy.linalg.lstsq` to $10^{-6}$."
    )
    return doc


# --------------------------------------------------------------------------------------------------
# Logistic regression


def build_logistic_regression() -> Derivation:
    Z = sp.MatrixSymbol("Z", n, 1)
    graph = MatrixGraph((
        (Z, X * w),
        (L, (1 / n) * MatSum(elementwise(softplus, Z) - sp.HadamardProduct(y, Z))),
    ))
    gradient = (1 / n) * X.T * (elementwise(sigmoid, X * w) - y)
    z, t = sp.symbols("z y", real=True)
    doc = Derivation(
        name="logistic-regression",
        title="Logistic regression: the gradient $\\frac{1}{n}\\mathbf{X}^T(\\sigma(\\mathbf{X}\\mathbf{w}) - "
              "\\mathbf{y})$",
        summary="Binary cross-entropy with logits in matrix form, and its gradient by the elementwise "
                "and matmul rules.",
        sizes=SIZES,
    )
    doc = doc.section("One example")
    doc = doc.text(
        "For one example the loss with logit $z$ and label $y \\in \\{0, 1\\}$ is "
        "$-y\\log\\sigma(z) - (1-y)\\log(1-\\sigma(z))$, which is the stable "
        "$\\operatorname{softplus}(z) - yz$ (PyTorch's `binary_cross_entropy_with_logits`):"
    )
    doc = doc.steps(
        Step(-t * sp.log(sigmoid(z)) - (1 - t) * sp.log(1 - sigmoid(z)), softplus(z) - t * z,
             "$\\log\\sigma(z) = -\\operatorname{softplus}(-z)$, $\\operatorname{softplus}(z) - "
             "\\operatorname{softplus}(-z) = z$", check=Symbolic()),
        Step(sp.Derivative(softplus(z) - t * z, z), sigmoid(z) - t, "$\\operatorname{softplus}' = \\sigma$",
             check=Symbolic()),
    )
    doc = doc.section("The batch, in matrix form")
    doc = doc.text(
        "With $\\mathbf{z} = \\mathbf{X}\\mathbf{w}$ and the loss $\\mathcal{L}$ the mean over the "
        "batch, the "
        "elementwise rule gives $\\bar{\\mathbf{z}} = \\frac{1}{n}(\\sigma(\\mathbf{z}) - "
        "\\mathbf{y})$ and the matmul rule $\\bar{\\mathbf{w}} = \\mathbf{X}^T\\bar{\\mathbf{z}}$:"
    )
    doc = doc.steps(
        Step(sp.Derivative(L, w), gradient, "elementwise rule, then matmul rule",
             check=_gradient_check(graph, [w], w, gradient)),
    )
    doc = doc.text(
        "A bias $b$ broadcast as $\\mathbf{1}_n b$ receives $\\mathbf{1}_n^T \\bar{\\mathbf{z}}$, "
        "the mean of $\\sigma(z_i) - y_i$; `symlearn.neurons.affine` carries it, and the compiled "
        "training function computes exactly these two lines."
    )
    return doc


# --------------------------------------------------------------------------------------------------
# Softmax regression


def build_softmax_regression() -> Derivation:
    Z = sp.MatrixSymbol("Z", n, k)
    ce = (1 / n) * MatSum(LogSumExp(Z)) - (1 / n) * MatSum(sp.HadamardProduct(Y, Z))
    graph = MatrixGraph(((Z, X * W), (L, ce)))
    gradient = (1 / n) * X.T * (Softmax(X * W) - Y)
    doc = Derivation(
        name="softmax-regression",
        title="Softmax regression: the gradient $\\frac{1}{n}\\mathbf{X}^T(\\operatorname{softmax}("
              "\\mathbf{X}\\mathbf{W}) - \\mathbf{Y})$",
        summary="Cross-entropy of a softmax over $k$ classes, and its gradient by the log-sum-exp and "
                "matmul rules.",
        sizes=SIZES,
    )
    doc = doc.text(
        "Logits $\\mathbf{Z} = \\mathbf{X}\\mathbf{W}$ ($n\\times k$), one-hot targets "
        "$\\mathbf{Y}$. Because each row of $\\mathbf{Y}$ sums to one, the cross-entropy "
        "$\\mathcal{L} = -\\frac{1}{n}\\sum_{ij} Y_{ij}\\log\\operatorname{softmax}"
        "(\\mathbf{Z})_{ij}$ is "
        "$\\frac{1}{n}\\sum_i(\\operatorname{logsumexp}(\\mathbf{Z}_i) - \\langle\\mathbf{Y}_i, "
        "\\mathbf{Z}_i\\rangle)$ (PyTorch's `cross_entropy` with class labels). The "
        "log-sum-exp rule sends $\\frac{1}{n}\\operatorname{softmax}(\\mathbf{Z})$, the linear "
        "term $-\\frac{1}{n}\\mathbf{Y}$:"
    )

    def same_loss(lhs, rhs, context) -> bool:
        Zs = sp.Matrix(1, 3, lambda i, j: sp.Symbol(f"z{j}", real=True))
        for label in range(3):
            onehot = [1 if j == label else 0 for j in range(3)]
            log_softmax = [Zs[j] - sp.log(sum(sp.exp(Zs[c]) for c in range(3))) for j in range(3)]
            left = -sum(onehot[j] * log_softmax[j] for j in range(3))
            right = sp.log(sum(sp.exp(Zs[c]) for c in range(3))) - sum(onehot[j] * Zs[j] for j in range(3))
            if sp.simplify(left - right) != 0:
                return False
        return True

    zi, yi = sp.Symbol(r"\mathbf{z}_i"), sp.Symbol(r"\mathbf{y}_i")
    doc = doc.steps(
        Step(sp.Symbol(r"-\sum_j y_{ij} \log \operatorname{softmax}(\mathbf{z}_i)_j"),
             sp.Symbol(r"\operatorname{logsumexp}(\mathbf{z}_i) - \langle \mathbf{y}_i, \mathbf{z}_i \rangle"),
             "one-hot $\\mathbf{y}_i$ sums to one",
             check=Custom(same_loss, "checked symbolically for $k = 3$ and each of the three "
                          "one-hot targets", method="symbolic")),
        Step(sp.Derivative(L, W), gradient, "log-sum-exp rule, then matmul rule",
             check=_gradient_check(graph, [W], W, gradient)),
    )
    del zi, yi
    return doc


# --------------------------------------------------------------------------------------------------
# Backpropagation through a two-layer MLP


def _mlp_graph():
    # Named as the text writes them (W^{(1)}, not W1), so the steps and the prose agree.
    W1, b1 = sp.MatrixSymbol("W^{(1)}", d, h), sp.MatrixSymbol("b^{(1)}", 1, h)
    W2, b2 = sp.MatrixSymbol("W^{(2)}", h, k), sp.MatrixSymbol("b^{(2)}", 1, k)
    Z1, A1 = sp.MatrixSymbol("Z^{(1)}", n, h), sp.MatrixSymbol("A^{(1)}", n, h)
    Z2 = sp.MatrixSymbol("Z^{(2)}", n, k)
    graph = MatrixGraph((
        (Z1, X * W1 + ONES_N * b1),
        (A1, elementwise(sigmoid, Z1)),
        (Z2, A1 * W2 + ONES_N * b2),
        (L, (1 / n) * MatSum(LogSumExp(Z2)) - (1 / n) * MatSum(sp.HadamardProduct(Y, Z2))),
    ))
    return graph, (W1, b1, W2, b2), (Z1, A1, Z2)


def build_mlp_backprop() -> Derivation:
    graph, (W1, b1, W2, b2), (Z1, A1, Z2) = _mlp_graph()
    params = [W1, b1, W2, b2]
    # The smallest instance on which no weight matrix is square (d != h != k) and the batch is
    # not a single example: a transpose or a swapped factor changes the shape or the entries.
    sizes = {n: 2, d: 3, h: 2, k: 3}
    forward_A1 = elementwise(sigmoid, X * W1 + ONES_N * b1)
    forward_Z2 = forward_A1 * W2 + ONES_N * b2
    delta2 = (1 / n) * (Softmax(forward_Z2) - Y)
    sigma_prime = sp.HadamardProduct(forward_A1, sp.OneMatrix(n, h) - forward_A1)
    delta1 = sp.HadamardProduct(delta2 * W2.T, sigma_prime)
    doc = Derivation(
        name="mlp-backprop",
        title="Backpropagation through a two-layer MLP, in matrix form",
        summary="$\\boldsymbol{\\delta}^{(2)} = \\frac{1}{n}(\\operatorname{softmax}(\\mathbf{Z}^{(2)}) - "
                "\\mathbf{Y})$, $\\boldsymbol{\\delta}^{(1)} = (\\boldsymbol{\\delta}^{(2)}"
                "\\mathbf{W}^{(2)T}) \\circ \\sigma'(\\mathbf{Z}^{(1)})$, and the scalar form of "
                "one weight.",
        sizes=sizes,
    )
    doc = doc.section("The forward pass")
    doc = doc.text(
        "A batch $\\mathbf{X}$ ($n\\times d$, one example per row), a sigmoid hidden layer of "
        "width $h$ and a softmax output over $k$ classes: "
        "$\\mathbf{Z}^{(1)} = \\mathbf{X}\\mathbf{W}^{(1)} + \\mathbf{1}_n\\mathbf{b}^{(1)}$, "
        "$\\mathbf{A}^{(1)} = \\sigma(\\mathbf{Z}^{(1)})$, "
        "$\\mathbf{Z}^{(2)} = \\mathbf{A}^{(1)}\\mathbf{W}^{(2)} + \\mathbf{1}_n\\mathbf{b}^{(2)}$, "
        "$\\mathcal{L} = $ the mean cross-entropy of $\\operatorname{softmax}(\\mathbf{Z}^{(2)})$ "
        "against one-hot $\\mathbf{Y}$. $\\mathbf{W}^{(l)}$ is (inputs $\\times$ outputs), as "
        "`x @ W` in numpy; PyTorch's `nn.Linear.weight` is its transpose."
    )
    doc = doc.section("The backward pass")
    doc = doc.text(
        "Write $\\boldsymbol{\\delta}^{(l)} = \\partial\\mathcal{L}/\\partial\\mathbf{Z}^{(l)}$. "
        "In the row-major batch convention the column-vector formula "
        "$\\boldsymbol{\\delta}^{(1)} = (\\mathbf{W}^{(2)}\\boldsymbol{\\delta}^{(2)}) \\circ "
        "\\sigma'(\\mathbf{z}^{(1)})$ of textbooks (one example as a column, $\\mathbf{W}$ as "
        "outputs $\\times$ inputs) becomes "
        "$\\boldsymbol{\\delta}^{(1)} = (\\boldsymbol{\\delta}^{(2)}\\mathbf{W}^{(2)T}) \\circ "
        "\\sigma'(\\mathbf{Z}^{(1)})$: each row is one example's $\\delta$, transposed. Each "
        "line below is checked entry by entry on the instance $n = 2$ examples, $d = 3$ inputs, "
        "$h = 2$ hidden units, $k = 3$ classes ($\\mathbf{W}^{(1)}$ is $3\\times 2$, "
        "$\\mathbf{W}^{(2)}$ is $2\\times 3$): against the rule table's backward pass, which is "
        "itself checked against `sympy.diff` of the loss written in scalars."
    )
    D2, D1 = sp.MatrixSymbol(r"\delta^{(2)}", n, k), sp.MatrixSymbol(r"\delta^{(1)}", n, h)
    ones = sp.MatrixSymbol(r"1_n", n, 1)  # displayed; the checks use OneMatrix
    doc = doc.steps(
        Step(D2, (1 / n) * (Softmax(Z2) - Y), "log-sum-exp rule",
             check=_gradient_check(graph, params, Z2, delta2, sizes)),
        Step(sp.Derivative(L, W2), A1.T * D2, "matmul rule: $\\mathbf{A}^{(1)T}\\boldsymbol{\\delta}^{(2)}$",
             check=_gradient_check(graph, params, W2, forward_A1.T * delta2, sizes)),
        Step(sp.Derivative(L, b2), ones.T * D2, "bias rule: the column sums of $\\boldsymbol{\\delta}^{(2)}$",
             check=_gradient_check(graph, params, b2, ONES_N.T * delta2, sizes)),
        Step(D1, sp.HadamardProduct(D2 * W2.T, sp.HadamardProduct(A1, sp.OneMatrix(n, h) - A1)),
             "matmul rule into $\\mathbf{A}^{(1)}$, then $\\sigma' = \\sigma(1-\\sigma)$ elementwise",
             check=_gradient_check(graph, params, Z1, delta1, sizes)),
        Step(sp.Derivative(L, W1), X.T * D1, "matmul rule: $\\mathbf{X}^T\\boldsymbol{\\delta}^{(1)}$",
             check=_gradient_check(graph, params, W1, X.T * delta1, sizes)),
        Step(sp.Derivative(L, b1), ones.T * D1, "bias rule",
             check=_gradient_check(graph, params, b1, ONES_N.T * delta1, sizes)),
    )
    doc = doc.section("The same, for one weight in scalar form")
    doc = doc.text(
        "For a single example ($n = 1$) with inputs $x_1, x_2$, the weight "
        "$w^{(1)}_{1,1}$ from input 1 to hidden unit 1 gets, by the chain rule through "
        "$z^{(1)}_1$, $a^{(1)}_1$ and every output logit $z^{(2)}_j$, where $w^{(2)}_{1,j}$ is "
        "the weight from hidden unit 1 to logit $j$ and $\\delta^{(2)}_j = "
        "\\partial\\mathcal{L}/\\partial z^{(2)}_j$:"
    )
    lhs, rhs, check = _scalar_weight_step()
    doc = doc.steps(Step(lhs, rhs, "chain rule, summing over the output logits", check=check))
    doc = doc.text(
        "This is entry $(1, 1)$ of $\\mathbf{X}^T\\boldsymbol{\\delta}^{(1)}$ with $n = 1$: "
        "$x_1$ times row 1, column 1 of $(\\boldsymbol{\\delta}^{(2)}\\mathbf{W}^{(2)T}) \\circ "
        "\\sigma'(\\mathbf{Z}^{(1)})$."
    )
    return doc


def _scalar_weight_step():
    from symlearn import neurons

    model = neurons.mlp((2, 2, 2), activation=sigmoid)
    logits = model.scalar_form()
    x1 = sp.Symbol("x_1", real=True)
    labels = [sp.Symbol(f"y_{j + 1}", real=True) for j in range(2)]
    loss = sp.log(sum(sp.exp(z) for z in logits)) - sum(t * z for t, z in zip(labels, logits))
    weight = sp.Symbol("w^{(1)}_{1,1}", real=True)
    z11 = sp.Add(*[sp.Symbol(f"w^{{(1)}}_{{{i},1}}", real=True) * sp.Symbol(f"x_{i}", real=True)
                   for i in (1, 2)]) + sp.Symbol("b^{(1)}_{1}", real=True)
    softmax = [sp.exp(z) / sum(sp.exp(c) for c in logits) for z in logits]
    delta2 = [softmax[j] - labels[j] for j in range(2)]
    outgoing = [sp.Symbol(f"w^{{(2)}}_{{1,{j + 1}}}", real=True) for j in range(2)]
    claimed = x1 * sigmoid(z11) * (1 - sigmoid(z11)) * sum(o * dj for o, dj in zip(outgoing, delta2))
    display_lhs = sp.Derivative(sp.Symbol(r"\mathcal{L}"), weight)
    D = [sp.Symbol(f"\\delta^{{(2)}}_{{{j + 1}}}") for j in range(2)]
    display_rhs = x1 * sigmoid(sp.Symbol("z^{(1)}_{1}")) * (1 - sigmoid(sp.Symbol("z^{(1)}_{1}"))) * sum(
        o * dj for o, dj in zip(outgoing, D))

    def agrees(lhs, rhs, context) -> bool:
        truth = sp.diff(loss, weight)
        return _entries_agree(truth, claimed)

    check = Custom(agrees, "checked: sympy.diff of the scalar loss "
                   "$\\operatorname{logsumexp}(z^{(2)}_1, z^{(2)}_2) - \\sum_j y_j z^{(2)}_j$ by "
                   "$w^{(1)}_{1,1}$ equals this expression, with "
                   "$\\delta^{(2)}_j = \\operatorname{softmax}(\\mathbf{z}^{(2)})_j - y_j$, at 20 "
                   "random points", method="numeric")
    return display_lhs, display_rhs, check


# --------------------------------------------------------------------------------------------------
# Dropout


def build_dropout() -> Derivation:
    a = sp.Symbol("a", real=True)
    p = sp.Symbol("p", positive=True)
    A, M, C = sp.MatrixSymbol("A", n, h), sp.MatrixSymbol("M", n, h), sp.MatrixSymbol("C", n, h)
    D = sp.MatrixSymbol("D", n, h)
    keep = sp.Rational(4, 5)
    graph = MatrixGraph(((D, (1 / keep) * sp.HadamardProduct(A, M)),
                         (L, MatSum(sp.HadamardProduct(C, D)))))
    doc = Derivation(
        name="dropout",
        title="Inverted dropout: unbiased forward, the same mask backward",
        summary="$\\mathbb{E}[a m / p] = a$ for a keep mask $m \\sim$ Bernoulli($p$) ($p$ keeps, "
                "PyTorch's `p` drops); the backward pass multiplies by the same mask.",
        sizes={n: 2, h: 3},
    )
    doc = doc.text(
        "Inverted dropout with keep probability $p$ draws a mask $m \\in \\{0, 1\\}$ with "
        "$P(m = 1) = p$ for every activation $a$ and outputs $d = a\\,m/p$ (in matrix form "
        "$\\mathbf{D} = \\frac{1}{p}\\mathbf{A}\\circ\\mathbf{M}$). Dividing by $p$ during "
        "training keeps the expectation, so evaluation uses the layer as the identity. "
        "**Warning:** here $p$ is the probability of keeping a unit (as in Srivastava et al., "
        "2014, and `symlearn train --keep`); PyTorch's `nn.Dropout(p)` and `F.dropout(x, p)` take "
        "the probability of dropping it. This document's $p = 4/5$ is PyTorch's `p=0.2`."
    )
    doc = doc.steps(
        Step(sp.Symbol(r"\mathbb{E}[d]"), sp.Add(sp.Mul(p, a / p, evaluate=False), sp.Mul(1 - p, sp.Mul(a, 0, evaluate=False) / p, evaluate=False), evaluate=False),
             "the two values of $m$, with their probabilities",
             check=Custom(
                 lambda lhs, rhs, context: sp.simplify(
                     sum(prob * (a * value / p) for value, prob in ((1, p), (0, 1 - p))) - rhs) == 0,
                 "checked symbolically: the sum over $m \\in \\{0, 1\\}$ of $P(m)\\,a m / p$ "
                 "with $P(1) = p$, $P(0) = 1 - p$ equals this expression", method="symbolic")),
        Step(sp.Add(sp.Mul(p, a / p, evaluate=False), sp.Mul(1 - p, sp.Mul(a, 0, evaluate=False) / p, evaluate=False), evaluate=False), a, "simplify", continued=True,
             check=Symbolic()),
    )
    doc = doc.text(
        "Backward, the mask is a constant of the forward pass, so the Hadamard rule gives "
        "$\\bar{\\mathbf{A}} = \\frac{1}{p}\\bar{\\mathbf{D}}\\circ\\mathbf{M}$: the units "
        "dropped in the forward pass get no gradient, and the rest are scaled by $1/p$. In "
        "`symlearn.neurons` the mask is an explicit argument of the compiled "
        "`loss_and_grad`, so one draw serves both passes. With an upstream gradient "
        "$\\mathbf{C}$ ($\\mathcal{L} = \\operatorname{sum}(\\mathbf{C}\\circ\\mathbf{D})$) and "
        "$p = 4/5$:"
    )
    doc = doc.steps(
        Step(sp.Derivative(L, A), (1 / keep) * sp.HadamardProduct(C, M), "Hadamard rule",
             check=_gradient_check(graph, [A], A, (1 / keep) * sp.HadamardProduct(C, M), {n: 2, h: 3})),
    )
    return doc


# --------------------------------------------------------------------------------------------------
# Weight decay


def build_weight_decay() -> Derivation:
    lam, eta = sp.symbols("lambda eta", positive=True)
    Z = sp.MatrixSymbol("Z", n, 1)
    base = (1 / n) * MatSum(elementwise(softplus, Z) - sp.HadamardProduct(y, Z))
    decay = sp.Rational(1, 10)
    graph = MatrixGraph(((Z, X * w), (L, base + (decay / 2) * MatSum(elementwise(SQUARE, w)))))
    gradient = (1 / n) * X.T * (elementwise(sigmoid, X * w) - y) + decay * w
    doc = Derivation(
        name="weight-decay",
        title="Weight decay: L2 regularization as an added term",
        summary="$\\mathcal{L} + \\frac{\\lambda}{2}\\lVert\\mathbf{w}\\rVert^2$ adds "
                "$\\lambda\\mathbf{w}$ to the gradient; the SGD step shrinks $\\mathbf{w}$ by "
                "$1 - \\eta\\lambda$.",
        sizes=SIZES,
    )
    doc = doc.text(
        "Adding $\\frac{\\lambda}{2}\\|\\mathbf{w}\\|^2 = \\frac{\\lambda}{2}"
        "\\operatorname{sum}(\\mathbf{w}\\circ\\mathbf{w})$ to a loss adds $\\lambda\\mathbf{w}$ "
        "to its gradient (the sum rule, then the elementwise rule with $(u^2/2)' = u$). For "
        "logistic regression (the `logistic-regression` document: the $n$ rows of $\\mathbf{X}$ "
        "are the examples and $\\mathbf{y}$ holds their labels, 0 or 1) with $\\lambda = 1/10$, "
        "$\\mathcal{L}$ being the mean log-loss plus $\\frac{\\lambda}{2}\\|\\mathbf{w}\\|^2$:"
    )
    doc = doc.steps(
        Step(sp.Derivative(L, w), gradient, "sum rule: the data term's gradient plus $\\lambda\\mathbf{w}$",
             check=_gradient_check(graph, [w], w, gradient)),
    )
    wi, gi = sp.symbols("w_i g_i", real=True)
    doc = doc.text(
        "One gradient step with learning rate $\\eta$ on coordinate $w_i$, with $g_i$ the data "
        "term's partial derivative, decays the weight multiplicatively before the usual step -- "
        "hence the name, and PyTorch's `weight_decay` argument, which adds $\\lambda w_i$ to "
        "$g_i$ in exactly this way (`symlearn train --weight-decay` adds the term to the loss "
        "instead):"
    )
    doc = doc.steps(
        Step(wi - eta * (gi + lam * wi), (1 - eta * lam) * wi - eta * gi, "collect $w_i$",
             check=Symbolic()),
    )
    return doc


# --------------------------------------------------------------------------------------------------
# A loss curve from a short real training run


def _draw_curve(path):
    from symlearn import data, neurons, optim
    from symlearn.train import fit, loss_curve

    ds = data.load_bundled("digits", seed=0)
    result = fit(neurons.mlp((64, 64, 10), activation=sigmoid, keep=0.8), "cross_entropy",
                 optim.adam(lr=1e-3), ds.X_train, ds.y_train, epochs=15, batch_size=64, seed=0,
                 validation=(ds.X_test, ds.y_test), progress=False)
    loss_curve(result.history, path, title="MLP 64-64-10 (sigmoid) with dropout on digits")


def build_mlp_backprop_with_curve() -> Derivation:
    doc = build_mlp_backprop()
    doc = doc.section("Training it")
    doc = doc.text(
        "The compiled backward pass above -- the same sigmoid hidden layer, here $h = 64$ units "
        "for $d = 64$ pixels and $k = 10$ classes -- with inverted dropout on the hidden layer "
        "(keep probability $0.8$, PyTorch's `Dropout(p=0.2)`; see the `dropout` document), "
        "trained by Adam on scikit-learn's digits (15 epochs, batch 64): `symlearn train "
        "--model mlp --hidden 64 --activation sigmoid --keep 0.8 --data digits --epochs 15`."
    )
    return doc.figure(Figure(
        "mlp-digits-loss-curve",
        "Training and held-out loss (left axis) and accuracy (right axis) per epoch.",
        _draw_curve,
        requires="matplotlib",
    ))


CATALOG: dict[str, tuple[str, Callable]] = {
    "linear-regression": (("Linear regression: the mean squared error's gradient in matrix form and the normal "
                           "equations."), build_linear_regression),
    "logistic-regression": (("Logistic regression's gradient in matrix form: the inputs times the residual of "
                             "the sigmoid."), build_logistic_regression),
    "softmax-regression": (("Softmax regression's gradient in matrix form: the inputs times the residual of "
                            "the softmax."), build_softmax_regression),
    "mlp-backprop": ("Backpropagation through a two-layer MLP in matrix form, next to one weight in scalar form.", build_mlp_backprop_with_curve),
    "dropout": (("Inverted dropout: the expected output is the input, and the backward pass reuses "
                 "the mask."), build_dropout),
    "weight-decay": (("Weight decay: an L2 term added to the loss adds the weights times lambda to the "
                      "gradient."), build_weight_decay),
}
