"""README.md's Python snippets run as written (a user copies them first)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SNIPPETS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_readme_has_python_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs(index):
    namespace: dict = {"__name__": f"readme_snippet_{index}"}
    exec(compile(SNIPPETS[index], f"README.md snippet {index}", "exec"), namespace)  # our README
