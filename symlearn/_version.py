"""The package's version, in a module of its own so that modules can read it without importing
the package ``__init__`` (which re-exports them: that would be an import circle)."""

__version__ = "0.1.0"
