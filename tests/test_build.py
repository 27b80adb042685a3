"""``symlearn build``: worker processes, the content-addressed cache, progress without a terminal,
refusals before any work, stale temporary files, closed pipes, where sources are loaded from."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symlearn.render._io import remove_stale_temporaries
from symlearn.render.cache import Store, environment_digest, source_inputs, source_key

ROOT = Path(__file__).resolve().parent.parent

DOC = '''"""{summary}"""
import sympy as sp
from symlearn import Derivation
x = sp.Symbol("x")
NAME = "{name}"
def build():
    return Derivation(NAME, "{title}", summary="{summary}").chain(
        sp.Derivative(x**{power}, x), (sp.Integer({power}) * x**{lower}, "the power rule"))
'''


def write_source(folder: Path, stem: str, power: int, title: str = "A document") -> Path:
    path = folder / f"{stem}.py"
    text = DOC.format(summary=f"{stem} summary", name=stem.replace("_", "-"), title=title,
                      power=power, lower=power - 1)
    path.write_text(text)
    return path


def cli(*args, cache: Path, cwd=ROOT, timeout=300):
    env = {**os.environ, "SYMLEARN_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "symlearn", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def sources(tmp_path):
    folder = tmp_path / "derivations"
    folder.mkdir()
    for i, stem in enumerate(("alpha", "beta", "gamma")):
        write_source(folder, stem, i + 2)
    return folder


def test_cold_warm_and_one_edit_builds(sources, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ("build", "--source", str(sources), "-o", str(out), "--format", "md", "--format", "tex")
    cold = cli(*args, "-j", "2", cache=cache)
    assert cold.returncode == 0, cold.stderr
    assert "(0 from the cache, 3 rebuilt)" in cold.stdout
    # progress without a terminal: one line per document on stderr
    assert sum(1 for line in cold.stderr.splitlines() if line.startswith("[")) == 3
    assert f"loading derivation sources from {sources}" in cold.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["alpha.md", "alpha.tex", "beta.md", "beta.tex", "gamma.md", "gamma.tex"]
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}

    warm = cli(*args, cache=cache)
    assert warm.returncode == 0, warm.stderr
    assert "(3 from the cache, 0 rebuilt)" in warm.stdout
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    assert after == before  # same bytes, untouched files

    write_source(sources, "beta", 7, title="An edited document")
    edit = cli(*args, cache=cache)
    assert edit.returncode == 0, edit.stderr
    assert "(2 from the cache, 1 rebuilt)" in edit.stdout
    assert "beta" in edit.stderr and "[3/3] beta" in edit.stderr
    assert "An edited document" in (out / "beta.md").read_text()
    assert (out / "alpha.md").stat().st_mtime_ns == before["alpha.md"][1]

    # The same output from one process and from the cache of another option set
    fresh = cli(*args, "-j", "1", "--no-cache", "-o", str(tmp_path / "fresh"), cache=cache)
    assert fresh.returncode == 0, fresh.stderr
    for name in ("alpha.md", "beta.md", "gamma.tex"):
        assert (tmp_path / "fresh" / name).read_bytes() == (out / name).read_bytes()


def test_a_deleted_cache_file_is_a_miss_not_a_wrong_hit(sources, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ("build", "--source", str(sources), "-o", str(out), "--format", "md")
    assert cli(*args, cache=cache).returncode == 0
    stored = sorted((cache / "build").rglob("alpha.md"))
    assert len(stored) == 1
    stored[0].unlink()
    (out / "alpha.md").unlink()
    again = cli(*args, cache=cache)
    assert again.returncode == 0 and "(2 from the cache, 1 rebuilt)" in again.stdout
    assert (out / "alpha.md").exists()


def test_cache_key_covers_source_imports_helpers_options_and_symlearn(sources, tmp_path):
    env_md = environment_digest(("md",), pdf_required=False)
    env_tex = environment_digest(("md", "tex"), pdf_required=False)
    assert env_md != env_tex
    alpha = sources / "alpha.py"
    key = source_key(alpha, env_md)
    assert key == source_key(alpha, env_md)  # stable
    assert key != source_key(alpha, env_tex)
    # a sibling the source imports, and a shared helper, are inputs
    (sources / "_shared.py").write_text("K = 1\n")
    (sources / "delta.py").write_text("import symlearn_derivations_beta\nfrom gamma import x\n")
    inputs = {p.name for p in source_inputs(sources / "delta.py")}
    assert inputs == {"delta.py", "beta.py", "gamma.py", "_shared.py"}
    before = source_key(alpha, env_md)
    (sources / "_shared.py").write_text("K = 2\n")
    assert source_key(alpha, env_md) != before
    # symlearn's own files are hashed (not its version string): simulate an edit
    import symlearn.render.cache as cache_module

    digest = cache_module._package_tree_digest(ROOT / "symlearn")
    copy = tmp_path / "pkg"


    shutil.copytree(ROOT / "symlearn", copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert cache_module._package_tree_digest(copy) == digest
    (copy / "render" / "latex.py").write_text((copy / "render" / "latex.py").read_text() + "\n#\n")
    assert cache_module._package_tree_digest(copy) != digest


def test_store_refuses_incomplete_entries(tmp_path):
    store = Store(tmp_path)
    staging = store.staging("ab" * 32, "doc")
    (staging / "files" / "doc.md").write_text("x")
    store.commit("ab" * 32, "doc", staging, {"files": ["doc.md", "figures/f.svg"], "skipped": []})
    assert store.entry("ab" * 32, "doc") is None  # a listed file is missing: a miss


def test_output_naming_a_file_is_refused_before_any_work(tmp_path):
    target = tmp_path / "afile"
    target.write_text("mine")
    start = time.perf_counter()
    done = cli("build", "-o", str(target), cache=tmp_path / "cache")
    elapsed = time.perf_counter() - start
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "FileExistsError" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "is an existing file" in done.stderr
    assert target.read_text() == "mine"
    assert elapsed < 10  # no document was built (a build of all takes minutes)
    below = cli("build", "-o", str(target / "sub"), cache=tmp_path / "cache")
    assert below.returncode == 2 and "which is a file" in below.stderr


def test_stale_temporary_files_are_removed(tmp_path):
    gone_pid = 2**22 + 12345  # above Linux's default pid_max: no such process
    orphan = tmp_path / f".doc.tmp{gone_pid}.abc123.tex"
    orphan.write_text("")
    mine = tmp_path / f".doc.tmp{os.getpid()}.abc124.md"
    mine.write_text("")
    legacy_old = tmp_path / ".doc.k2j4h5g6.pdf"
    legacy_old.write_text("")
    old = time.time() - 7200
    os.utime(legacy_old, (old, old))
    legacy_new = tmp_path / ".doc.a1b2c3d4.svg"
    legacy_new.write_text("")
    user_file = tmp_path / ".gitignore"
    user_file.write_text("*\n")
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted([orphan.name, legacy_old.name])
    assert mine.exists() and legacy_new.exists() and user_file.exists()
    mine_old = tmp_path / f".doc.tmp{os.getpid()}.abc125.md"
    mine_old.write_text("")
    os.utime(mine_old, (old, old))
    assert remove_stale_temporaries(tmp_path) == [mine_old]  # an hour old: stale whoever wrote it


def test_build_removes_stale_temporaries_of_a_killed_build(sources, tmp_path):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    left = [out / ".alpha.tmp4199999.x1.md", out / "figures" / ".f.tmp4199998.x2.svg"]
    for path in left:
        path.write_text("")
    done = cli("build", "--source", str(sources), "-o", str(out), "--format", "md",
               cache=tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in left)


@pytest.mark.parametrize("command", [["list"], ["losses"], ["optimizers"]])
def test_a_reader_that_leaves_early_is_not_a_traceback(command, tmp_path):
    env = {**os.environ, "SYMLEARN_CACHE_DIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, "-m", "symlearn", *command], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        child.stdout.close()  # like `symlearn list | true`: nobody reads
        err = child.stderr.read().decode()
        code = child.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert code == 141


def test_list_says_where_it_loads_sources_from(sources, tmp_path):
    done = cli("list", cache=tmp_path / "cache", cwd=sources.parent)  # ./derivations is used
    assert done.returncode == 0
    assert f"loading derivation sources from {sources}" in done.stderr
    assert "alpha" in done.stdout


def test_jobs_must_be_a_positive_whole_number(tmp_path):
    done = cli("build", "-j", "0", "-o", str(tmp_path / "o"), cache=tmp_path / "cache")
    assert done.returncode == 2 and "-j" in done.stderr and "Traceback" not in done.stderr


FIGURES = '''"""Two figures: matplotlib and Graphviz."""
import sympy as sp
from symlearn import Derivation, Figure, graph
from symlearn.render.figures import plotted

x, y, q, f = sp.symbols("x y q f")


def draw(path):
    with plotted(path) as (_, ax):
        ax.plot([0, 1, 2], [1, 0, 1], label="a line")
        ax.legend()


def build():
    doc = graph(q=x + y, f=q * 2).backward(at={x: 1, y: 2}, name="figs", title="Figures")
    return doc.figure(Figure("line", "A line.", draw, requires="matplotlib"))
'''


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_two_builds_give_identical_bytes(tmp_path):
    pytest.importorskip("matplotlib")
    source = tmp_path / "derivations"
    source.mkdir()
    (source / "figs.py").write_text(FIGURES)
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        args = ["build", "--no-cache", "--source", str(source), "-o", str(out)]
        done = cli(*args, "--format", "tex", "--format", "md", "--format", "pdf", cache=tmp_path)
        if "no TeX engine" in done.stderr or done.returncode != 0:
            done = cli(*args, "--format", "tex", "--format", "md", cache=tmp_path)
        assert done.returncode == 0, done.stderr
        outs.append(out)
        time.sleep(1.1)  # a date written to the second would differ
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert {p.suffix for p in files} >= {".tex", ".md", ".svg", ".pdf"}
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel
    svg = (outs[0] / "figures" / "line.svg").read_text()
    assert "<dc:date>1970-01-01" in svg


def _optim_documents():
    """derivations/_optim_documents.py, loaded as derivations/optim.py loads it."""
    from symlearn.registry import load_helper

    return load_helper(Path(__file__).resolve().parent.parent / "derivations" / "optim.py",
                       "_optim_documents")


def test_sgd_document_is_the_same_on_every_build_and_holds_no_timings():
    from symlearn.render import to_latex, to_markdown

    documents = _optim_documents()
    gradient_operation_count = documents.gradient_operation_count
    sgd_document = documents.sgd_document

    first, second = sgd_document(), sgd_document()
    assert to_markdown(first) == to_markdown(second)
    assert to_latex(first) == to_latex(second)
    md = to_markdown(first)
    assert not re.search(r"\(ms\)|\d ms\b|\d(\.\d+)? s\b", md)  # no measured time
    assert "linear in N" in md
    # the count is the numpy expression's, by hand: X @ w (n d mults, n (d-1) adds), sigmoid
    # (4 n), residual (n), X.T @ r (d n mults, d (n-1) adds), / n (d): 4 n d + 4 n
    for n, d in ((4096, 16), (10, 3)):
        assert gradient_operation_count(n, d) == 4 * n * d + 4 * n


def test_optimizer_settings_print_as_maths_not_a_dict():
    _settings_math = _optim_documents()._settings_math

    assert _settings_math({"lr": 0.005, "momentum": 0.9, "nesterov": True}) == (
        r"$\eta = 0.005$, $\mu = 0.9$, Nesterov")
    assert _settings_math({"lr": 2e-4}) == r"$\eta = 0.0002$"
    assert _settings_math({"lr": 1e-5, "nesterov": False}) == r"$\eta = 1 \cdot 10^{-5}$"
