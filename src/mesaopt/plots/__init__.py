"""Paper-style figures: one module per figure, `plot(df, ...) -> Figure`, reading only result tables.
A figure whose tables lack what it needs raises `NotDrawable` (mesaopt-plot: one-line error; a
training run: the figure is skipped with a note)."""


class NotDrawable(ValueError):
    """The result tables lack what a figure needs (e.g. no finite M, or a reference not evaluated)."""
