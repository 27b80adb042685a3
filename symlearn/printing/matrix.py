"""Moved to :mod:`symlearn.codegen.matrix`; this name stays while ``symlearn/_export_model.py``
imports ``HELPERS`` from here (it is to import it from ``symlearn.codegen.matrix``)."""

from ..codegen.matrix import HELPERS

__all__ = ["HELPERS"]
