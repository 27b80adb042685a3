"""Test-wide settings: the parser cache of ``symlearn verify`` lives in a temporary directory."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI (CI=true) draws the same examples on every run, so a submission's verdict does not depend on
# the luck of the draw; a developer's run draws new ones and keeps exploring.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True, scope="session")
def _isolated_parser_cache(tmp_path_factory):
    """CLI processes started by the tests write their parser cache here, never to ~/.cache."""
    previous = os.environ.get("SYMLEARN_CACHE_DIR")
    os.environ["SYMLEARN_CACHE_DIR"] = str(tmp_path_factory.mktemp("symlearn-cache"))
    yield
    if previous is None:
        os.environ.pop("SYMLEARN_CACHE_DIR", None)
    else:
        os.environ["SYMLEARN_CACHE_DIR"] = previous
