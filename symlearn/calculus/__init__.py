"""Calculus layers on top of ``sympy.diff``: chain-rule derivations over named intermediates."""
