"""The course documents (derivations/course_*.py): each builds with every step passing, draws its
figures, and its key derived or measured claims agree with an independent computation (numpy or
scikit-learn fits, PyTorch float64 autograd, sympy.diff, central finite differences)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symlearn.registry import discover

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = discover(ROOT / "derivations")
COURSE = sorted(name for name, e in ENTRIES.items() if e.source.name.startswith("course_"))


def load(stem):
    spec = importlib.util.spec_from_file_location(f"test_{stem}", ROOT / "derivations" / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BUILT: dict = {}


@pytest.fixture
def torch1():
    """PyTorch with one thread: the matrices here are tiny, and threads only add contention."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def built(name):
    if name not in _BUILT:
        _BUILT[name] = ENTRIES[name].builder()
    return _BUILT[name]


def test_the_course_documents_are_listed():
    assert {"overfitting-and-generalization", "why-gradient-descent-works",
            "learning-rate-diagnostics", "what-is-a-loss", "cross-entropy-vs-mse",
            "robustness-to-outliers", "minima-saddles-and-sgd-noise",
            "random-initialisation", "adadelta-and-nadam-derived",
            "choosing-an-optimizer"} <= set(COURSE)


@pytest.mark.parametrize("name", COURSE)
def test_course_document_builds_with_every_step_checked(name):
    doc = built(name)
    steps = doc.all_steps()
    assert doc.name == name
    assert steps and all(s.result is not None and s.result.passed for s in steps)
    assert doc.figures(), "each course document has a figure from a real run"


@pytest.mark.parametrize("name", COURSE)
def test_course_document_figures_draw(name, tmp_path):
    for figure in built(name).figures():
        path = tmp_path / f"{figure.name}.png"
        figure.draw(path)
        assert path.stat().st_size > 5000


@pytest.mark.parametrize("name", COURSE)
def test_course_document_renders_without_ascii_maths(name):
    from symlearn.render import to_markdown

    doc = built(name)
    md = to_markdown(doc)
    for text in (doc.title, doc.summary, ENTRIES[name].summary):
        for ascii_maths in ("^T", "sigma(", "lambda", "||", "->", "eta "):
            outside = "".join(p for i, p in enumerate(text.split("$")) if i % 2 == 0)
            assert ascii_maths not in outside, (name, text)
    assert "seed 00" not in md.lower(), "cite the course by topic, not by file name"
    # GitHub's Markdown drops \{, \| and \: inside inline maths, and leaves "$x = $" raw
    from symlearn.render._text import split_math

    for block in md.split("$$")[::2]:  # outside display maths
        for is_math, piece in split_math(block):
            if is_math:
                assert not any(bad in piece for bad in ("\\{", "\\}", "\\|", "\\:")), piece
                assert piece == piece.strip(), f"space inside the dollars: ${piece}$"


# --------------------------------------------------------------------------------------------------
# overfitting-and-generalization


@pytest.fixture(scope="module")
def generalization():
    return load("course_generalization")


def test_polynomial_errors_match_numpy_polynomial_fit(generalization):
    run = generalization.polynomial_run()
    for p in range(9):  # monomial least squares (an independent basis), well conditioned here
        fit = np.polynomial.Polynomial.fit(run["x_train"], run["y_train"], p)
        train = np.mean((fit(run["x_train"]) - run["y_train"]) ** 2)
        test = np.mean((fit(run["x_test"]) - run["y_test"]) ** 2)
        assert run["train"][p] == pytest.approx(train, rel=1e-6, abs=1e-12)
        assert run["test"][p] == pytest.approx(test, rel=1e-6)
    # nested models: the training error never rises with the degree; degree 11 interpolates
    assert np.all(np.diff(run["train"]) <= 1e-12)
    assert run["train"][11] < 1e-10
    best = int(np.argmin(run["test"]))
    assert 2 <= best <= 8 and run["test"][11] > 10 * run["test"][best]


def test_ridge_matches_scikit_learn(generalization):
    from sklearn.linear_model import Ridge

    run = generalization.polynomial_run()
    A = np.polynomial.legendre.legvander(run["x_train"], 11)
    n = len(run["x_train"])
    for k in (5, 14, 20):
        lam = generalization.LAMBDAS[k]
        # sklearn minimises ||A w - y||^2 + alpha ||w||^2, i.e. n times ours with alpha = n lam
        ridge = Ridge(alpha=n * lam, fit_intercept=False, solver="svd").fit(A, run["y_train"])
        np.testing.assert_allclose(run["ridge_w"][k], ridge.coef_, rtol=1e-6, atol=1e-8)
    assert run["ridge_test"].min() < run["test"][11]


def test_ridge_weight_formula_by_sympy_diff():
    w, lam = sp.Symbol("w"), sp.Symbol("lambda", positive=True)
    xs, ys = sp.symbols("a1:5"), sp.symbols("b1:5")
    cost = sum((x * w - y) ** 2 for x, y in zip(xs, ys)) / 4 + lam * w**2
    (solution,) = sp.solve(sp.diff(cost, w), w)
    expected = sum(x * y for x, y in zip(xs, ys)) / (sum(x**2 for x in xs) + 4 * lam)
    assert sp.simplify(solution - expected) == 0


def test_digits_file_is_scikit_learns_digits(generalization):
    from sklearn.datasets import load_digits

    X, y = generalization.load_digits_file()
    bunch = load_digits()
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_digits_network_matches_pytorch_autograd(generalization, torch1):
    """The hand-written backward pass of the plain and weight-decay runs, replayed with PyTorch
    float64 autograd from the same data and initial weights: the same curves."""
    _replay_digits_with_torch(torch1, generalization)


def _forward(torch, params, Xs):
    W1, b1, W2, b2 = params
    return torch.relu(Xs @ W1 + b1) @ W2 + b2


def _replay_digits_with_torch(torch, g):
    X, y = g.load_digits_file()
    perm = np.random.default_rng(0).permutation(len(y))
    tr, te = perm[: g.DIGITS_TRAIN], perm[g.DIGITS_TRAIN : g.DIGITS_TRAIN + g.DIGITS_TEST]
    mu, sd = X[tr].mean(0), X[tr].std(0)
    sd[sd == 0] = 1.0
    Xtr = torch.tensor((X[tr] - mu) / sd)
    Xte = torch.tensor((X[te] - mu) / sd)
    ytr, yte = torch.tensor(y[tr]), torch.tensor(y[te])
    curves = g.digits_run()["curves"]
    for label in ("plain", "weight decay"):
        lam = g.CONFIGS[label]["weight_decay"]
        rng = np.random.default_rng(1)
        W1 = torch.tensor(rng.normal(0.0, np.sqrt(2 / 64), (64, g.HIDDEN)), requires_grad=True)
        b1 = torch.zeros(g.HIDDEN, dtype=torch.float64, requires_grad=True)
        W2 = torch.tensor(rng.normal(0.0, np.sqrt(1 / g.HIDDEN), (g.HIDDEN, 10)), requires_grad=True)
        b2 = torch.zeros(10, dtype=torch.float64, requires_grad=True)
        params = [W1, b1, W2, b2]
        opt = torch.optim.SGD(params, lr=g.LR)

        for _ in range(g.EPOCHS):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(_forward(torch, params, Xtr), ytr)
            (loss + lam * (W1.pow(2).sum() + W2.pow(2).sum())).backward()
            opt.step()
        with torch.no_grad():
            test_loss = torch.nn.functional.cross_entropy(_forward(torch, params, Xte), yte).item()
            test_acc = (_forward(torch, params, Xte).argmax(1) == yte).double().mean().item()
        assert curves[label][-1, 3] == pytest.approx(test_loss, rel=1e-7)
        assert curves[label][-1, 4] == pytest.approx(test_acc, abs=1e-12)
    assert curves["weight decay"][-1, 3] < curves["plain"][-1, 3]


def test_inverted_dropout_keeps_the_mean():
    rng = np.random.default_rng(5)
    p = 0.5
    mask = (rng.random(1_000_000) >= p) / (1 - p)
    assert mask.mean() == pytest.approx(1.0, abs=5e-3)


# --------------------------------------------------------------------------------------------------
# why-gradient-descent-works and learning-rate-diagnostics


@pytest.fixture(scope="module")
def descent():
    return load("course_gradient_descent")


def test_descent_paths_follow_the_closed_form(descent):
    # on L = (x^2 + 10 y^2)/2 each coordinate is multiplied by (1 - alpha lambda_i) per step
    t = np.arange(descent.PATH_STEPS + 1)[:, None]
    for lr, path in descent.descent_paths().items():
        expected = descent.START * (1 - lr * np.array(descent.A_DIAG, dtype=float)) ** t
        np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-12)
    assert descent._loss(descent.descent_paths()[descent.DIVERGENT_RATE][-1]) > 51.75


def test_gradient_is_orthogonal_to_the_level_set_by_finite_differences():
    def loss(p):
        return 0.5 * (p[0] ** 2 + 10 * p[1] ** 2)

    h = 1e-6
    for s in np.linspace(0, 2 * np.pi, 17):
        point = np.array([np.sqrt(40) * np.cos(s), np.sqrt(4) * np.sin(s)])  # L = 20
        tangent = np.array([-np.sqrt(40) * np.sin(s), np.sqrt(4) * np.cos(s)])
        grad = np.array([(loss(point + h * e) - loss(point - h * e)) / (2 * h) for e in np.eye(2)])
        assert abs(grad @ tangent) < 1e-6 * np.linalg.norm(grad) * np.linalg.norm(tangent)
        assert loss(point) == pytest.approx(20)


def test_negative_gradient_is_the_steepest_direction_numerically():
    rng = np.random.default_rng(3)
    g = rng.standard_normal(5)
    directions = rng.standard_normal((2000, 5))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    assert np.min(directions @ g) > -np.linalg.norm(g)
    assert (-g / np.linalg.norm(g)) @ g == pytest.approx(-np.linalg.norm(g))


def test_diabetes_file_is_scikit_learns(descent):
    from sklearn.datasets import load_diabetes

    X, y = descent.load_diabetes_file()
    bunch = load_diabetes(scaled=False)
    np.testing.assert_allclose(X, bunch.data)
    np.testing.assert_allclose(y, bunch.target)


def test_diabetes_hessian_and_eigenvalues_independently(descent):
    torch = pytest.importorskip("torch")
    prob = descent.diabetes_problem()
    X, y = torch.tensor(prob["X"]), torch.tensor(prob["y"])
    H = torch.autograd.functional.hessian(
        lambda w: ((X @ w - y) ** 2).mean(), torch.zeros(X.shape[1], dtype=torch.float64)
    )
    np.testing.assert_allclose(H.numpy(), prob["H"], rtol=1e-10, atol=1e-12)
    # largest eigenvalue by power iteration, smallest by inverse iteration
    v = np.ones(H.shape[0])
    for _ in range(2000):
        v = prob["H"] @ v
        v /= np.linalg.norm(v)
    assert v @ prob["H"] @ v == pytest.approx(prob["lam_max"], rel=1e-8)
    u = np.ones(H.shape[0])
    for _ in range(200):
        u = np.linalg.solve(prob["H"], u)
        u /= np.linalg.norm(u)
    assert u @ prob["H"] @ u == pytest.approx(prob["lam_min"], rel=1e-8)


def test_rate_runs_match_the_eigen_decomposition(descent):
    prob = descent.diabetes_problem()
    lam, V = np.linalg.eigh(prob["H"])
    e0 = V.T @ (np.zeros(len(lam)) - prob["w_star"])
    runs = descent.rate_runs()
    for label, run in runs.items():
        e100 = e0 * (1 - run["lr"] * lam) ** descent.RATE_STEPS
        excess = 0.5 * np.sum(lam * e100**2)  # L - L* = e^T (H/2) e for the quadratic
        assert run["excess"][-1] == pytest.approx(excess, rel=1e-6), label
    good = runs["good"]["excess"][-1]
    assert good < runs["too small"]["excess"][-1] and good < runs["too large"]["excess"][-1]
    assert runs["asymptotically best"]["excess"][-1] > good
    assert runs["divergent"]["excess"][-1] > 1e3


def test_best_fixed_rate_minimises_the_worst_factor():
    lo, hi, eta = sp.symbols("lo hi eta", positive=True)
    (solution,) = sp.solve(sp.Eq(1 - eta * lo, eta * hi - 1), eta)
    assert sp.simplify(solution - 2 / (lo + hi)) == 0
    # numerically: minimise max |1 - eta lambda| over a grid, for eigenvalues 1 and 10
    grid = np.linspace(0.01, 0.199, 20000)
    rho = np.maximum(np.abs(1 - grid * 1.0), np.abs(1 - grid * 10.0))
    assert grid[np.argmin(rho)] == pytest.approx(2 / 11, abs=2e-5)


def test_noisy_sgd_benefits_from_a_decaying_rate(descent):
    runs = descent.sgd_runs()
    assert runs["halved every 5 epochs"][-1] < runs["constant"][-1] / 5


# --------------------------------------------------------------------------------------------------
# what-is-a-loss, cross-entropy-vs-mse, robustness-to-outliers


@pytest.fixture(scope="module")
def losses_module():
    return load("course_losses")


def test_breast_cancer_file_is_scikit_learns(losses_module):
    from sklearn.datasets import load_breast_cancer

    X, y = losses_module.load_breast_cancer_file()
    bunch = load_breast_cancer()
    np.testing.assert_allclose(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_metric_landscape_matches_scikit_learn_metrics(losses_module):
    from sklearn.metrics import accuracy_score, precision_score, recall_score

    m = losses_module.metric_landscape()
    for k in (0, 400, 1000, 1600, 2000):
        pred = (m["ws"][k] * m["x"] + m["b"] > 0).astype(int)
        assert m["acc"][k] == pytest.approx(accuracy_score(m["y"], pred))
        assert m["recall"][k] == pytest.approx(recall_score(m["y"], pred))
        if pred.any():
            assert m["precision"][k] == pytest.approx(precision_score(m["y"], pred))
    # a step function: between two data-driven jumps the accuracy is exactly constant
    assert np.all(m["d_acc"] == 0) and np.all(m["d_bce"] != 0)


def test_logit_gradients_match_pytorch_autograd():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    z = torch.linspace(-12, 12, 49, dtype=torch.float64, requires_grad=True)
    for label in (0.0, 1.0):
        y = torch.full_like(z, label)
        (g_bce,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(z, y, reduction="sum"), z)
        (g_mse,) = torch.autograd.grad(((torch.sigmoid(z) - y) ** 2).sum(), z)
        s = torch.sigmoid(z).detach()
        torch.testing.assert_close(g_bce, s - y)
        torch.testing.assert_close(g_mse, 2 * (s - y) * s * (1 - s))
    # the document's value at z = -10, y = 1
    s = 1 / (1 + np.exp(10.0))
    assert 2 * (s - 1) * s * (1 - s) == pytest.approx(-9.08e-5, rel=1e-3)


def test_two_class_softmax_cross_entropy_is_bce_in_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    z = torch.linspace(-6, 6, 25, dtype=torch.float64)
    for label in (0, 1):
        target = torch.full((25,), label, dtype=torch.long)
        ce = F.cross_entropy(torch.stack([torch.zeros_like(z), z], 1), target, reduction="none")
        bce = F.binary_cross_entropy_with_logits(z, target.double(), reduction="none")
        torch.testing.assert_close(ce, bce)


def test_bce_and_mse_runs_replayed_in_pytorch(losses_module, torch1):
    torch = torch1
    X, y = losses_module.load_breast_cancer_file()
    X = (X - X.mean(0)) / X.std(0)
    corr = np.array([np.corrcoef(X[:, j], y)[0, 1] for j in range(X.shape[1])])
    Xt, yt = torch.tensor(X), torch.tensor(y, dtype=torch.float64)
    runs = losses_module.bce_mse_runs()
    for label in ("binary cross-entropy", "MSE on the sigmoid"):
        w = torch.tensor(-2.0 * np.sign(corr), requires_grad=True)
        b = torch.zeros((), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([w, b], lr=losses_module.CE_LR)
        for _ in range(losses_module.CE_EPOCHS):
            opt.zero_grad()
            z = Xt @ w + b
            if label == "binary cross-entropy":
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z, yt)
            else:
                loss = ((torch.sigmoid(z) - yt) ** 2).mean()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = ((Xt @ w + b > 0).double() == yt).double().mean().item()
        assert runs[label]["acc"][-1] == pytest.approx(acc, abs=1e-12)
    assert runs["binary cross-entropy"]["acc"][-1] > 0.95
    assert runs["MSE on the sigmoid"]["acc"][-1] < 0.5


def test_outlier_fits_match_independent_solvers(losses_module):
    from scipy.optimize import minimize
    from sklearn.linear_model import QuantileRegressor

    f = losses_module.outlier_fits()
    x, y = f["x"], f["y"]
    np.testing.assert_allclose(f["fits"]["MSE"], np.polyfit(x, y, 1), rtol=1e-10)
    mae = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(x[:, None], y)
    np.testing.assert_allclose(f["fits"]["MAE"], [mae.coef_[0], mae.intercept_], atol=2e-3)

    def huber(beta):
        r = np.abs(y - beta[0] * x - beta[1])
        return np.sum(np.where(r <= 1.0, 0.5 * r**2, r - 0.5))

    best = minimize(huber, np.array([0.0, 0.0]), method="Nelder-Mead",
                    options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}).x
    np.testing.assert_allclose(f["fits"]["Huber"], best, atol=1e-5)
    assert abs(f["fits"]["MSE"][0] - 2) > 10 * abs(f["fits"]["Huber"][0] - 2)


def test_huber_derivative_by_finite_differences():
    def huber(r, delta):
        return np.where(np.abs(r) <= delta, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta))

    r = np.array([-4.5, -0.7, -0.2, 0.3, 0.9, 2.5, 7.0])
    h = 1e-6
    for delta in (0.5, 1.0, 3.0):
        fd = (huber(r + h, delta) - huber(r - h, delta)) / (2 * h)
        np.testing.assert_allclose(fd, np.clip(r, -delta, delta), atol=1e-6)


# --------------------------------------------------------------------------------------------------
# minima-saddles-and-sgd-noise and random-initialisation


@pytest.fixture(scope="module")
def landscape():
    return load("course_landscape")


def test_critical_points_by_sympy_solve(landscape):
    x, y = landscape.x, landscape.y
    L = landscape.LANDSCAPE
    solutions = sp.solve([sp.diff(L, x), sp.diff(L, y)], [x, y], dict=True)
    points = sorted((s[x], s[y]) for s in solutions)
    assert points == sorted(landscape.CRITICAL)
    H = sp.hessian(L, (x, y))
    kinds = {p: tuple(sorted(H.xreplace({x: p[0], y: p[1]}).eigenvals())) for p in points}
    assert kinds[(0, 0)] == (-2, 2) and all(min(k) > 0 for p, k in kinds.items() if p != (0, 0))


def test_landscape_runs_replayed_one_by_one(landscape):
    """The vectorised runs, replayed one run at a time from the same random numbers."""
    a = landscape.perturbations()
    assert np.allclose(a.sum(0), 0)
    rng = np.random.default_rng(0)
    runs, steps = landscape.SEEDS, landscape.STEPS
    p = np.tile(np.array(landscape.START), (runs, 1))
    for _ in range(steps):
        draws = rng.random((runs, landscape.N_TERMS))
        for r in range(runs):
            batch = np.argsort(draws[r])[:4]
            g = np.array([4 * p[r, 0] ** 3 + 2 * p[r, 0] ** 2 - 2 * p[r, 0], 2 * p[r, 1]])
            p[r] = p[r] - landscape.LR * (g + a[batch].mean(0))
    ends = landscape.landscape_runs()["ends"]
    np.testing.assert_allclose(ends[4], p, rtol=1e-12, atol=1e-12)
    share = np.mean(p[:, 0] < 0)
    assert 0 < share < 1
    np.testing.assert_allclose(ends[64], np.tile([0.5, 0.0], (runs, 1)), atol=1e-6)


def test_identical_units_get_identical_gradients_in_pytorch():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    net = net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(0.3)
    X = torch.randn(16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    loss = (net(X).squeeze(1) - X[:, 0] * X[:, 1]).pow(2).mean()
    loss.backward()
    grad = net[0].weight.grad
    assert torch.all(grad == grad[:1])  # every hidden unit's row is the same


def test_symmetry_run_keeps_units_equal(landscape):
    runs = landscape.symmetry_runs()
    assert runs["constant"]["spread"] == 0.0
    assert runs["random"]["acc"] > runs["constant"]["acc"] + 0.2


def test_variance_formulas_by_monte_carlo_and_torch_init(landscape):
    rng = np.random.default_rng(7)
    w = rng.normal(0, 0.3, (200_000, 3))
    xx = rng.normal(0, 2.0, (200_000, 3))
    assert np.var((w * xx).sum(1)) == pytest.approx(3 * 0.3**2 * 2.0**2, rel=0.02)
    z = rng.normal(0, 1.5, 1_000_000)
    assert np.mean(np.maximum(z, 0) ** 2) == pytest.approx(1.5**2 / 2, rel=0.01)
    torch = pytest.importorskip("torch")
    t = torch.empty(128, 256)
    torch.nn.init.kaiming_normal_(t, nonlinearity="relu")  # fan_in is the second dimension
    assert t.std().item() == pytest.approx(np.sqrt(2 / 256), rel=0.02)
    torch.nn.init.xavier_normal_(t)
    assert t.std().item() == pytest.approx(np.sqrt(2 / (128 + 256)), rel=0.02)


def test_depth_runs_follow_the_variance_recursion(landscape):
    runs = landscape.depth_runs()
    he = runs[("ReLU", "He")]
    assert 0.5 < he[-1] / he[0] < 2
    # ReLU with weight std s: E[h^2] is multiplied by s^2 n / 2 per layer (the derivation)
    small = runs[("ReLU", "std 0.01")]
    factor = 0.01**2 * landscape.WIDTH / 2
    assert small[-1] / small[0] == pytest.approx(factor ** (landscape.DEPTH - 1), rel=0.5)


# --------------------------------------------------------------------------------------------------
# adadelta-and-nadam-derived and choosing-an-optimizer


@pytest.fixture(scope="module")
def optimizers_module():
    return load("course_optimizers")


def test_adagrad_damps_the_often_updated_coordinate_in_pytorch(optimizers_module, torch1):
    torch = torch1
    theta = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adagrad([theta], lr=1.0)
    before = theta.detach().clone()
    for g in ((1.0, 0.0), (1.0, 0.0), (1.0, 0.0), (1.0, 1.0)):
        before = theta.detach().clone()
        theta.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    last = (theta.detach() - before).numpy()
    np.testing.assert_allclose(optimizers_module.adagrad_steps()[3], last, rtol=1e-12)
    assert abs(last[0]) < abs(last[1])  # the often-updated coordinate takes the smaller step


def test_adadelta_is_scale_invariant_in_pytorch(optimizers_module, torch1):
    torch = torch1
    runs = optimizers_module.scaled_runs()
    for c in optimizers_module.SCALES:
        theta = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adadelta([theta])
        path = [0.0]
        for _ in range(optimizers_module.ADADELTA_STEPS):
            opt.zero_grad()
            (0.5 * c * (theta - 3.0) ** 2).sum().backward()
            opt.step()
            path.append(theta.item())
        np.testing.assert_allclose(runs[("AdaDelta", c)], path, rtol=1e-10, atol=1e-12)
    gap = np.max(np.abs(runs[("AdaDelta", 1.0)] - runs[("AdaDelta", 100.0)]))
    assert gap < 1e-4


def test_nadam_with_constant_momentum_is_dozats_formula_in_pytorch(torch1):
    """PyTorch's NAdam with momentum_decay = 0 has the constant mu = beta_1 / 2 (not beta_1):
    its steps are Dozat's bracket with that constant mu in the Nesterov weights."""
    torch = torch1
    # PyTorch keeps NAdam's mu_product as a scalar tensor of the default dtype (float32 unless
    # changed): with float32 it agrees only to ~1e-8 relative
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _nadam_against_pytorch(torch)
    finally:
        torch.set_default_dtype(default)


def _nadam_against_pytorch(torch):
    rng = np.random.default_rng(2)
    grads = rng.standard_normal((12, 3))
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.NAdam([theta], lr=lr, betas=(b1, b2), eps=eps, momentum_decay=0.0)
    ours = np.zeros(3)
    m, v = np.zeros(3), np.zeros(3)
    for t, g in enumerate(grads, start=1):
        theta.grad = torch.tensor(g)
        opt.step()
        mu = b1 * (1 - 0.5 * 0.96 ** (t * 0.0))  # PyTorch's schedule at psi = 0: beta_1 / 2
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        vhat = v / (1 - b2**t)
        ours = ours - lr / (np.sqrt(vhat) + eps) * (
            (1 - mu) / (1 - mu**t) * g + mu / (1 - mu ** (t + 1)) * m
        )
    np.testing.assert_allclose(theta.detach().numpy(), ours, rtol=1e-12)
    assert mu == pytest.approx(b1 / 2)


def test_comparison_adam_run_matches_pytorch(optimizers_module, torch1):
    torch = torch1
    runs = optimizers_module.comparison_runs()
    p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01)
    for _ in range(optimizers_module.ROSEN_STEPS):
        opt.zero_grad()
        ((1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2).backward()
        opt.step()
    f = ((1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2).item()
    assert runs["Adam"]["rosen"][-1] == pytest.approx(f, rel=1e-6, abs=1e-12)
    assert not np.isfinite(runs["SGD at 0.1 on Rosenbrock"]) or runs["SGD at 0.1 on Rosenbrock"] > 1e6


# Each slip of the course notes is corrected in the document that covers its topic.
SLIPS = {
    "adadelta-and-nadam-derived": "make large steps at places already visited",
    "what-is-a-loss": "is called precision & recall",
    "why-gradient-descent-works": "The bigger the gradient is",
    "cross-entropy-vs-mse": "equivalent of MSE in classification",
    "minima-saddles-and-sgd-noise": "convergence to the Global Minima",
    "learning-rate-diagnostics": "start with a small",
}


@pytest.mark.parametrize("name", sorted(SLIPS))
def test_each_slip_is_corrected_where_its_topic_is(name):
    from symlearn.render import to_markdown

    md = to_markdown(built(name))
    assert "What the course notes claim." in md and SLIPS[name] in md
    assert "Why it does not hold" in md or "Why neither holds" in md
    if name == "why-gradient-descent-works":  # backpropagation is not the weight update
        assert "only **computes** the gradient" in md


def test_mean_moves_with_an_outlier_and_the_median_does_not():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    for delta in (10.0, 1e3, 1e6):
        moved = y.copy()
        moved[-1] += delta
        assert moved.mean() - y.mean() == pytest.approx(delta / 5)
        assert np.median(moved) == np.median(y)


# ==================================================================================================
# The course material's reader-facing names (symlearn._course_sources)

SEEDS = Path("/work/shared/seeds")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the course seeds are not on this machine")
def test_each_course_source_name_matches_its_seed_file():
    """Each title and author in COURSE_SOURCES is read off the seed file itself (the tutorial,
    002, has no title line: its subject, forward and backward propagation, is checked)."""
    from symlearn._course_sources import COURSE_SOURCES, course_source

    texts = {path.name[:3]: path.read_text(errors="replace") for path in SEEDS.glob("0*.txt")}
    assert set(COURSE_SOURCES) == set(texts)
    for seed, source in COURSE_SOURCES.items():
        text = texts[seed]
        if seed == "002":
            assert "Back Propagation" in text and "forward propagation" in text
        else:
            assert source.title in text, seed
        if source.author:
            assert source.author.split()[-1] in text, seed
        if source.year:
            assert str(source.year) in text, seed
        assert "seed" not in course_source(seed).lower()
    assert course_source("003", short=True, possessive=True, capital=True) == "The lecture slides'"
    assert course_source("001", short=True, possessive=True) == "the blog post's"
    with pytest.raises(ValueError, match="004"):
        course_source("004")
