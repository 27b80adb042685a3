"""Matplotlib figures for documents: the Agg backend, a layout, a save, and a close, once."""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["plotted"]


@contextmanager
def plotted(path, nrows: int = 1, ncols: int = 1, figsize=(5.5, 3.4)):
    """``with plotted(path) as (fig, ax): ...`` draws on a new figure and saves it to ``path``
    (format from the suffix) when the block ends; the figure is closed either way."""
    import matplotlib

    matplotlib.use("Agg")  # no display: documents are built headless
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
