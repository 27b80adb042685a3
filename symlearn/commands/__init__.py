"""Subcommands of the ``symlearn`` CLI, one module each (see :mod:`symlearn.cli`)."""
