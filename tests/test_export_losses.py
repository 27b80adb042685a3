"""symlearn.export(losses=...): the exported elementwise losses, run in a process where SymPy and
symlearn cannot be imported, against PyTorch (float64, autograd) and central differences.

The module is generated once (``losses=["all"]``); every case runs in one subprocess, which prints
the results as JSON; the references are computed here, independently of symlearn's output."""

from __future__ import annotations

import json
import py_compile
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F

from symlearn._export import export
from symlearn.codegen import function_source
from symlearn.codegen._losses import exportable_losses, kernel_source
from symlearn.losses import catalog
from symlearn.losses._spec import _protect_log1p, _share_softplus, kernel_expressions

ROOT = Path(__file__).resolve().parent.parent

# Every elementwise loss of the catalog whose checks and options have an exported form.
EXPORTED = (
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "hinge_embedding_loss", "ctc_loss",
    "cosine_embedding_loss",
    "margin_ranking_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
    "triplet_margin_loss", "mean_squared_log_error", "mean_absolute_percentage_error",
    "linf_distance", "minkowski_distance", "logistic_loss", "hinge_loss", "poisson_nll_loss",
    "gaussian_nll_loss",
    "triplet_margin_with_distance_loss", "multi_margin_loss", "multilabel_margin_loss",
)

# Runs every case of a JSON file through the module, with sympy and symlearn blocked.
_RUNNER = """
import importlib.util, json, sys
for blocked in ("sympy", "symlearn", "mpmath"):
    sys.modules[blocked] = None
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
import numpy as np
assert not any(k == "sympy" or k.startswith(("sympy.", "symlearn")) for k in sys.modules
               if sys.modules[k] is not None)
cases = json.load(open(sys.argv[2]))
results = []
for name, args, kwargs in cases:
    args = [np.array(a) for a in args]
    kwargs = {k: (np.array(v) if isinstance(v, list) else v) for k, v in kwargs.items()}
    try:
        value, grad = getattr(m, name + "_value_and_grad")(*args, **kwargs)
        alone = getattr(m, name)(*args, **kwargs)
        grad_alone = getattr(m, name + "_grad")(*args, **kwargs)
        same = bool(np.array_equal(alone, value, equal_nan=True)
                    and np.array_equal(grad_alone, grad, equal_nan=True))
        results.append({"value": np.asarray(value).tolist(), "grad": grad.tolist(),
                        "same": same, "shape": list(grad.shape)})
    except ValueError as error:
        results.append({"error": str(error)})
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def module_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export_losses") / "losses.py"
    path.write_text(export(losses=["all"]))
    return path


def run_cases(module_path: Path, cases: list) -> list:
    data = module_path.parent / f"cases{len(cases)}_{abs(hash(json.dumps(cases))) % 10**8}.json"
    data.write_text(json.dumps(cases))
    done = subprocess.run([sys.executable, "-c", _RUNNER, str(module_path), str(data)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


rng = np.random.default_rng(14)


def _r(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape)


def _signs(*shape):
    return rng.choice([-1.0, 1.0], shape)


# --- the independent references: torch.nn.functional, or autograd of the textbook formula -------
def _msle(x, y, reduction="mean"):
    e = (torch.log1p(x) - torch.log1p(y)) ** 2
    return {"mean": e.mean(), "sum": e.sum(), "none": e}[reduction]


def _mape(x, y, reduction="mean"):
    e = (x - y).abs() / y.abs()
    return {"mean": e.mean(), "sum": e.sum(), "none": e}[reduction]


def _logistic(x, y, reduction="mean"):
    e = F.softplus(-y * x)
    return {"mean": e.mean(), "sum": e.sum(), "none": e}[reduction]


def _hinge(x, y, reduction="mean"):
    e = torch.relu(1 - y * x)
    return {"mean": e.mean(), "sum": e.sum(), "none": e}[reduction]


def _reduce(e, reduction):
    return {"mean": e.mean(), "sum": e.sum(), "none": e}[reduction]


def _linf(x, y, reduction="mean"):
    # max_i |x_i - y_i| over the last axis (torch has no loss of this name; amax's gradient
    # splits ties evenly, and the cases below have no ties).
    return _reduce((x - y).abs().amax(dim=-1), reduction)


def _minkowski(x, y, p=2, reduction="mean"):
    return _reduce(torch.linalg.vector_norm(x - y, ord=p, dim=-1), reduction)


REFERENCE = {
    "linf_distance": _linf,
    "minkowski_distance": _minkowski,
    "mean_squared_log_error": _msle,
    "mean_absolute_percentage_error": _mape,
    "logistic_loss": _logistic,
    "hinge_loss": _hinge,
}


def _soft_margin(x, y, reduction="mean"):
    # F.soft_margin_loss computes log(1 + exp(-y x)) as written: inf at -y x = 1000.
    e = F.softplus(-y * x)
    return {"mean": e.mean(), "sum": e.sum(), "none": e}[reduction]


def reference(name, args, kwargs, stable=False):
    """(value, gradient in the first argument) by torch float64 autograd; ``stable``: a
    composition of torch's stable functions where torch's own loss overflows."""
    tensors = [torch.tensor(np.asarray(a)) if np.asarray(a).dtype.kind == "i"
               else torch.tensor(np.asarray(a, dtype=np.float64)) for a in args]
    tensors[0].requires_grad_(True)
    options = {k: (torch.tensor(np.asarray(v, dtype=np.float64)) if isinstance(v, list) else v)
               for k, v in kwargs.items()}
    function = REFERENCE.get(name) or getattr(F, name)
    if stable and name == "soft_margin_loss":
        function = _soft_margin
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div's notice about 'mean'
        value = function(*tensors, **options)
    value.sum().backward()
    return value.detach().numpy(), tensors[0].grad.numpy()


def _cases():
    """(name, args, kwargs): every exported loss, every reduction, the main options."""
    cases = []
    shape = (3, 4)

    def add(name, args, reductions=("none", "mean", "sum"), **kwargs):
        for reduction in reductions:
            cases.append((name, [np.asarray(a).tolist() for a in args],
                          {**kwargs, "reduction": reduction}))

    x, t = _r(*shape), _r(*shape)
    w = rng.uniform(0.1, 2.0, shape)
    for name in ("mse_loss", "l1_loss"):
        add(name, [x, t])
        add(name, [x, t], weight=w.tolist())
    for delta in (1.0, 0.5):
        add("huber_loss", [x, t], delta=delta)
    add("huber_loss", [x, t], delta=0.7, weight=w.tolist())
    for beta in (1.0, 0.5, 0.0):
        add("smooth_l1_loss", [x, t], beta=beta)
    p = rng.uniform(0.01, 0.99, shape)
    p[0, 0], p[0, 1] = 0.0, 1.0  # PyTorch's clamp of log at -100 and of the gradient
    q = rng.uniform(0, 1, shape)
    add("binary_cross_entropy", [p, q])
    add("binary_cross_entropy", [p, q], weight=w.tolist())
    logits = _r(*shape, low=-5, high=5)
    logits[0, 0], logits[0, 1], logits[1, 0] = 1000.0, -1000.0, 0.0
    add("binary_cross_entropy_with_logits", [logits, q])
    add("binary_cross_entropy_with_logits", [logits, q], weight=w.tolist(),
        pos_weight=rng.uniform(0.5, 3.0, shape[-1:]).tolist())
    logp = np.log(rng.dirichlet(np.ones(4), 3))
    target = rng.dirichlet(np.ones(4), 3)
    target[0, 0] = 0.0  # 0 * log 0 = 0
    reductions = ("none", "mean", "sum", "batchmean")
    add("kl_div", [logp, target], reductions=reductions)
    add("kl_div", [logp, np.log(rng.dirichlet(np.ones(4), 3))], reductions=reductions,
        log_target=True)
    add("hinge_embedding_loss", [x, _signs(*shape)])
    add("hinge_embedding_loss", [x, _signs(*shape)], margin=0.5)
    add("margin_ranking_loss", [x, t, _signs(*shape)])
    add("margin_ranking_loss", [x, t, _signs(*shape)], margin=0.3)
    add("soft_margin_loss", [x, _signs(*shape)])  # torch's own overflows at |x| = 1000
    labels = rng.integers(0, 2, shape).astype(float)
    add("multilabel_soft_margin_loss", [logits, labels])
    add("multilabel_soft_margin_loss", [logits, labels],
        weight=rng.uniform(0.1, 2, shape[-1:]).tolist())
    counts = rng.integers(0, 6, shape).astype(float)
    for log_input in (True, False):
        for full in (False, True):
            rates = x if log_input else rng.uniform(0.1, 3, shape)
            add("poisson_nll_loss", [rates, counts], log_input=log_input, full=full)
    var = rng.uniform(0.1, 2, shape)
    var[0, 0] = 1e-9  # clamped at eps
    for full in (False, True):
        add("gaussian_nll_loss", [x, t, var], full=full)
    add("gaussian_nll_loss", [x, t, rng.uniform(0.1, 2, shape[:-1])])  # one axis short
    add("gaussian_nll_loss", [x, t, rng.uniform(0.1, 2, (3, 1))], eps=1e-3)  # one axis of 1
    z = _r(5, 4, low=-4, high=4)
    z[0, 0], z[1, 1] = 1000.0, -1000.0
    labels5 = np.array([0, 3, 1, 2, 3])
    add("cross_entropy", [z, labels5])
    add("cross_entropy", [z, labels5], weight=rng.uniform(0.2, 2, 4).tolist())
    add("cross_entropy", [z, np.array([0, -100, 1, 2, 3])])
    add("cross_entropy", [z, np.array([0, 2, 1, 2, 3])], ignore_index=2, label_smoothing=0.1,
        weight=rng.uniform(0.2, 2, 4).tolist())
    add("cross_entropy", [z, rng.dirichlet(np.ones(4), 5)])
    add("cross_entropy", [z, rng.dirichlet(np.ones(4), 5)], label_smoothing=0.2,
        weight=rng.uniform(0.2, 2, 4).tolist())
    add("cross_entropy", [_r(4), np.array(2)])  # (C,) and a 0-d label
    add("cross_entropy", [_r(2, 3, 5), rng.integers(0, 3, (2, 5))], label_smoothing=0.05)
    logprobs = np.log(rng.dirichlet(np.ones(4), 5))
    add("nll_loss", [logprobs, labels5])
    add("nll_loss", [logprobs, np.array([0, -100, 1, 2, 3])],
        weight=rng.uniform(0.2, 2, 4).tolist())
    add("nll_loss", [logprobs, labels5], ignore_index=3)
    scores = _r(5, 4)
    for p in (1, 2):
        add("multi_margin_loss", [scores, labels5], p=p)
    add("multi_margin_loss", [scores, labels5], p=2, margin=0.5,
        weight=rng.uniform(0.2, 2, 4).tolist())
    add("multilabel_margin_loss", [scores, np.array([[3, 0, -1, 1], [0, 1, 2, 3], [1, -1, 2, 0],
                                                     [2, 2, -1, 0], [-1, 0, 1, 2]])])
    a, b = _r(5, 6), _r(5, 6)
    add("cosine_embedding_loss", [a, b, _signs(5)])
    add("cosine_embedding_loss", [a, b, _signs(5)], margin=0.2)
    anchor, positive, negative = _r(5, 6), _r(5, 6), _r(5, 6)
    add("triplet_margin_loss", [anchor, positive, negative])
    add("triplet_margin_loss", [anchor, positive, negative], margin=2.0, p=1, swap=True)
    add("triplet_margin_loss", [anchor, positive, negative], p=3, eps=1e-4)
    add("mean_squared_log_error", [rng.uniform(-0.9, 3, shape), rng.uniform(-0.9, 3, shape)])
    add("mean_absolute_percentage_error", [x, t])
    add("logistic_loss", [logits, _signs(*shape)])
    add("hinge_loss", [x, _signs(*shape)])
    add("linf_distance", [_r(5, 6), _r(5, 6)])
    big = _r(5, 6)
    big[0, 0] = 1000.0  # a far point: the max is that entry, its gradient sign(1000 - y)
    add("linf_distance", [big, _r(5, 6)])
    for p in (1, 2, 3, 1.5):
        add("minkowski_distance", [_r(5, 6), _r(5, 6)], p=p)
    add("minkowski_distance", [_r(2, 3, 4), _r(2, 3, 4)])
    add("triplet_margin_with_distance_loss", [anchor, positive, negative])
    add("triplet_margin_with_distance_loss", [anchor, positive, negative], margin=2.0, swap=True)
    # CTC: PyTorch's gradient (in the logits when log_probs = log_softmax(logits)), padded and
    # concatenated targets, a sequence shorter than the batch's T, and the unbatched form.
    log_probs = np.log(rng.dirichlet(np.ones(5), (7, 3)))
    lengths_in, lengths_out = np.array([7, 6, 5]), np.array([3, 2, 1])
    padded = np.array([[1, 2, 2], [3, 4, 0], [2, 0, 0]])
    add("ctc_loss", [log_probs, padded, lengths_in, lengths_out])
    add("ctc_loss", [log_probs, np.array([1, 2, 2, 3, 4, 2]), lengths_in, lengths_out])
    add("ctc_loss", [log_probs, padded, lengths_in, lengths_out], blank=0, zero_infinity=True)
    add("ctc_loss", [log_probs[:, 0], np.array([1, 2, 2]), np.array(7), np.array(3)])
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def results(module_path):
    return run_cases(module_path, CASES)


def test_every_elementwise_loss_is_exported():
    assert exportable_losses() == EXPORTED


def test_each_exported_loss_has_a_case():
    assert {name for name, _, _ in CASES} == set(EXPORTED)


def test_value_and_gradient_equal_pytorch(results):
    assert len(results) == len(CASES)
    for (name, args, kwargs), got in zip(CASES, results):
        assert "error" not in got, (name, kwargs, got)
        assert got["same"], f"{name}: value/grad alone differ from value_and_grad"
        value, grad = reference(name, args, kwargs)
        where = f"{name} {kwargs}"
        assert np.all(np.isfinite(got["grad"])), where
        np.testing.assert_allclose(got["value"], value, rtol=1e-10, atol=1e-12, err_msg=where)
        np.testing.assert_allclose(got["grad"], grad, rtol=1e-10, atol=1e-12, err_msg=where)
        assert got["shape"] == list(np.shape(args[0])), where


def test_gradient_against_central_differences(module_path):
    """The exported gradient against differences of the exported value (reduction 'sum'),
    at points away from kinks and clamps."""
    cases, h = [], 1e-6
    points = {
        "mse_loss": [_r(6), _r(6)], "huber_loss": [_r(6), _r(6)],
        "binary_cross_entropy": [rng.uniform(0.1, 0.9, 6), rng.uniform(0, 1, 6)],
        "binary_cross_entropy_with_logits": [_r(6), rng.uniform(0, 1, 6)],
        "soft_margin_loss": [_r(6), _signs(6)], "logistic_loss": [_r(6), _signs(6)],
        "mean_squared_log_error": [rng.uniform(0, 2, 6), rng.uniform(0, 2, 6)],
        "poisson_nll_loss": [_r(6), rng.integers(0, 5, 6).astype(float)],
    }
    for name, (x, t) in points.items():
        cases.append((name, [x.tolist(), t.tolist()], {"reduction": "none"}))
        cases.append((name, [(x + h).tolist(), t.tolist()], {"reduction": "none"}))
        cases.append((name, [(x - h).tolist(), t.tolist()], {"reduction": "none"}))
    got = run_cases(module_path, cases)
    for i, name in enumerate(points):
        grad = np.array(got[3 * i]["grad"])
        estimate = (np.array(got[3 * i + 1]["value"]) - np.array(got[3 * i + 2]["value"])) / (2 * h)
        np.testing.assert_allclose(grad, estimate, rtol=1e-6, atol=1e-7, err_msg=name)


def test_stable_at_large_logits(module_path):
    """|logit| = 1000: finite, and equal to PyTorch."""
    z = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    cases = [
        ("binary_cross_entropy_with_logits", [z.tolist(), [0.0, 1.0, 1.0, 0.0]], {}),
        ("binary_cross_entropy_with_logits", [z.tolist(), [0.0, 1.0, 1.0, 0.0]],
         {"pos_weight": [2.0, 2.0, 2.0, 2.0], "reduction": "none"}),
        ("soft_margin_loss", [z.tolist(), [-1.0, 1.0, 1.0, -1.0]], {"reduction": "none"}),
        ("logistic_loss", [z.tolist(), [-1.0, 1.0, 1.0, -1.0]], {"reduction": "sum"}),
        ("multilabel_soft_margin_loss", [[z.tolist()], [[0.0, 1.0, 1.0, 0.0]]], {}),
        ("poisson_nll_loss", [[30.0, -1000.0], [2.0, 0.0]], {}),
        ("cross_entropy", [[[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], [1, 1]], {}),
        ("cross_entropy", [[[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], [0, 2]],
         {"label_smoothing": 0.1, "reduction": "sum"}),
    ]
    got = run_cases(module_path, cases)
    for (name, args, kwargs), result in zip(cases, got):
        assert np.all(np.isfinite(result["value"])) and np.all(np.isfinite(result["grad"])), name
        value, grad = reference(name, args, kwargs, stable=True)
        np.testing.assert_allclose(result["value"], value, rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(result["grad"], grad, rtol=1e-10, atol=1e-12, err_msg=name)


def test_bad_input_is_one_sentence_naming_the_argument(module_path):
    x = [[0.5, 0.2], [0.1, 0.9]]
    cases = [
        ("mse_loss", [x, [1.0, 2.0, 3.0]], {}),
        ("mse_loss", [x, x], {"reduction": "average"}),
        ("binary_cross_entropy", [x, [[0.5, 2.0], [0.1, 0.1]]], {}),
        ("huber_loss", [x, x], {"delta": -1.0}),
        ("smooth_l1_loss", [x, x], {"beta": -0.5}),
        ("hinge_loss", [x, [[1.0, 0.5], [1.0, 1.0]]], {}),
        ("gaussian_nll_loss", [x, x, [[-1.0, 1.0], [1.0, 1.0]]], {}),
        ("kl_div", [x, x], {"reduction": "batchmeans"}),
        ("cross_entropy", [x, [0.0, 1.0, 1.0]], {}),
        ("cross_entropy", [x, [0, 2]], {}),
        ("cross_entropy", [x, [0, 1]], {"label_smoothing": 1.5}),
        ("nll_loss", [x, [0, 1, 1]], {}),
        ("cross_entropy", [x, [0, 1]], {"weight": [1.0, 2.0, 3.0]}),
    ]
    expected = ["target has shape (3,)", "reduction='average'", "target must be a probability",
                "delta=-1.0 must be positive", "beta=-0.5 must be non-negative",
                "target must be 1 or -1", "var must be non-negative", "reduction='batchmeans'",
                "probability targets need the shape of input", "target holds the class index 2",
                "label_smoothing=1.5 must be in [0, 1]", "target has shape (3,)",
                "weight has shape (3,)"]
    got = run_cases(module_path, cases)
    for result, words in zip(got, expected):
        assert "error" in result, words
        assert words in result["error"], (words, result["error"])
        assert "\n" not in result["error"]


def test_legacy_size_average_and_reduce(module_path):
    x, t = _r(5).tolist(), _r(5).tolist()
    cases = [("mse_loss", [x, t], {"size_average": False}),
             ("l1_loss", [x, t], {"reduce": False})]
    got = run_cases(module_path, cases)
    np.testing.assert_allclose(got[0]["value"], F.mse_loss(
        torch.tensor(x, dtype=torch.float64), torch.tensor(t, dtype=torch.float64),
        reduction="sum").item(), rtol=1e-12)
    np.testing.assert_allclose(got[1]["value"], np.abs(np.subtract(x, t)), rtol=1e-12)


def test_the_kernels_are_printed_from_the_packages_expressions(module_path):
    """Each exported kernel is the text function_source prints from kernel_expressions, the
    expressions Loss compiles (symlearn/losses/_spec.py, Loss._kernel)."""
    text = module_path.read_text()
    for name in EXPORTED:
        spec = catalog[name].spec
        if not spec.is_elementwise:
            continue  # cross_entropy, nll_loss: see the next test
        kernel = kernel_source(spec, (), tuple(False for _ in spec.flags), 0)
        assert kernel.text in text, name
        value, grad = kernel_expressions(spec, (), tuple((f, False) for f in spec.flags))
        # The package's preparation before it compiles (Loss._kernel and _compile).
        value, grad = (sp.factor_terms(_protect_log1p(e)) for e in _share_softplus([value, grad]))
        args = [*spec.symbols, *spec.options.values()]
        printed = function_source(kernel.name, args, [value, grad], broadcast=True)
        without_doc = re.sub(r'    r""".*?"""\n', "", kernel.text, flags=re.DOTALL)
        assert without_doc == printed.text, name


def test_structured_losses_run_the_packages_own_numpy_source(module_path):
    """cross_entropy and nll_loss are exported as the very functions the package calls."""
    import inspect

    from symlearn.losses import _structured

    text = module_path.read_text()
    for function in (_structured._cross_entropy, _structured._cross_entropy_plain,
                     _structured._nll_loss, _structured._class_indices,
                     _structured._reduce_targets, _structured._labels_in_range):
        assert inspect.getsource(function).strip() in text, function.__name__
    assert catalog["cross_entropy"].spec.structured is _structured._cross_entropy
    assert catalog["nll_loss"].spec.structured is _structured._nll_loss


def test_every_catalog_loss_exports_and_a_misspelling_is_named():
    assert set(EXPORTED) == set(catalog), set(catalog) - set(EXPORTED)
    with pytest.raises(ValueError, match="did you mean mse_loss"):
        export(losses=["mse_los"])
    assert "not exported" not in export(losses=["all"])


def test_ctc_runs_the_packages_own_forward_backward(module_path):
    import inspect

    from symlearn.losses import _ctc

    text = module_path.read_text()
    for function in (_ctc._ctc_loss, _ctc._lse, _ctc._lengths, _ctc._targets_padded):
        assert inspect.getsource(function).strip() in text, function.__name__
    assert catalog["ctc_loss"].spec.structured is _ctc._ctc_loss


def test_module_is_deterministic_compiles_and_is_ruff_clean(module_path):
    assert export(losses=["all"]) == module_path.read_text()
    py_compile.compile(str(module_path), doraise=True)
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    done = subprocess.run([ruff, "check", "--isolated", str(module_path)],
                          check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_cli_writes_the_losses(tmp_path):
    out = tmp_path / "m.py"
    done = subprocess.run([sys.executable, "-m", "symlearn", "export", "--loss",
                           "mse_loss,binary_cross_entropy_with_logits", "-o", str(out)],
                          check=False, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "def binary_cross_entropy_with_logits_value_and_grad(" in text
    assert "def l1_loss(" not in text
    bad = subprocess.run([sys.executable, "-m", "symlearn", "export", "--loss", "ctc_los",
                          "-o", str(tmp_path / "n.py")],
                         check=False, capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2
    assert "did you mean ctc_loss" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "n.py").exists()



def _load(path: Path, name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits",
                                  "soft_margin_loss", "cross_entropy"])
def test_the_common_call_runs_the_packages_kernel(module_path, name):
    """``loss(x, y)`` on two float arrays of one shape takes the exported module's shortcut to
    the package's in-place kernel (cross_entropy: its fast path): the values are torch's
    (float64, independent) and the package's bit for bit, float32 inputs converted as the
    package converts them, and value/grad alone equal value_and_grad."""
    module = _load(module_path, "exported_losses_common_call")
    rng = np.random.default_rng(11)
    for dtype in (np.float64, np.float32):
        if name == "cross_entropy":
            x, y = (3 * rng.normal(size=(50, 7))).astype(dtype), rng.integers(0, 7, 50)
        elif name == "soft_margin_loss":
            x, y = (3 * rng.normal(size=(6, 9))).astype(dtype), _signs(6, 9).astype(dtype)
        else:
            x, y = (3 * rng.normal(size=(6, 9))).astype(dtype), rng.uniform(0, 1, (6, 9)).astype(
                dtype)
        loss = catalog[name]
        for reduction in ("mean", "sum"):
            value, grad = getattr(module, f"{name}_value_and_grad")(x, y, reduction=reduction)
            assert grad.dtype == np.float64 and grad.shape == x.shape
            package = loss.value_and_grad(x, y, reduction=reduction)
            assert value == package[0] and np.array_equal(grad, package[1]), (dtype, reduction)
            assert getattr(module, name)(x, y, reduction=reduction) == value
            assert np.array_equal(getattr(module, f"{name}_grad")(x, y, reduction=reduction), grad)
            expected = reference(name, [x.astype(np.float64), y], {"reduction": reduction})
            np.testing.assert_allclose(value, expected[0], rtol=1e-12)
            np.testing.assert_allclose(grad, expected[1], rtol=1e-10, atol=1e-15)
            # The arguments are not written (the kernels write only into arrays they made).
            assert not np.shares_memory(grad, x) and not np.shares_memory(grad, y)
