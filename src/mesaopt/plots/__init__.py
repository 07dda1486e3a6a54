"""Paper-style figures: one module per figure, `plot(df, ...) -> Figure`, reading only result tables."""
