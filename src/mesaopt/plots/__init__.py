"""Paper-style figures: one module per figure (module name = figure name with "-" for "_"),
`plot(df) -> Figure` reading only result tables, and optionally `tables(df) -> {name: DataFrame}`
of summary tables written next to it. A figure whose tables lack what it needs raises
`NotDrawable` (mesaopt-plot: one-line error; a training run: the figure is skipped with a note,
silently for a figure that sets `OPTIONAL = True`: one drawn from opt-in probes). Every figure
gets a grey caption line naming the step it shows (each run's last evaluation; the steps drawn
for a figure over training, `OVER_STEPS = True`) and what its bands are (`style.band`).
Families declare which figures their runs draw; `ACROSS_FAMILIES` are drawn by `mesaopt-plot` from a
directory of several families' runs (no family's run draws them)."""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

NOT_FIGURES = ("cli", "style")  # and private modules (`_name`): helpers shared by figures
ACROSS_FAMILIES = ("thresholds", "threshold-scaling")


class NotDrawable(ValueError):
    """The result tables lack what a figure needs (e.g. no finite M, or a reference not evaluated)."""


def available() -> list[str]:
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(__path__)
                  if m.name not in NOT_FIGURES and not m.name.startswith("_"))


def spec(name: str):
    """Figure `name`'s checked spec (`registry.FigureSpec`)."""
    from mesaopt import registry
    return registry.check("plots", module(name))


def module(name: str):
    """Figure `name`'s module, checked against the figure spec (`registry.FigureSpec`)."""
    from mesaopt import registry
    found = importlib.import_module(f"mesaopt.plots.{name.replace('-', '_')}")
    registry.check("plots", found)
    return found


def draw(name: str, df):
    """Figure `name` drawn from the table `df` in the shared look (`style.RC`)."""
    import matplotlib

    from mesaopt.plots import style
    with matplotlib.rc_context(style.RC):
        fig = module(name).plot(df)
        if not any(ax.lines or ax.collections or ax.patches or ax.images for ax in fig.axes):
            import matplotlib.pyplot as plt
            plt.close(fig)
            raise NotDrawable("nothing in these tables to draw (no series of this figure)")
        style.caption(fig, style.step_note(df, spec(name).over_steps))
        return fig


def render(name: str, directory: Path, out_dir: Path | None = None,
           where: list[str] = ()) -> dict[str, Path]:
    """Draw figure `name` from the tables under `directory` (PNG + PDF), plus any summary tables
    the figure module offers (`tables(df)`, written as CSV and markdown next to it); `where`:
    "column=value" conditions selecting the runs drawn (`results.select`)."""
    from mesaopt import results
    from mesaopt.analysis.emergence import to_markdown
    from mesaopt.plots import style
    figure = spec(name)  # checked before any table is read
    df = results.load(directory)
    if where:
        try:
            df = results.select(df, list(where))
        except ValueError as err:
            raise NotDrawable(str(err)) from None
    out_dir = out_dir or Path(directory) / "figures"
    paths = style.save(draw(name, df), out_dir, name)
    for table_name, table in (figure.tables or (lambda _: {}))(df).items():
        paths[f"{table_name}.csv"] = out_dir / f"{table_name}.csv"
        table.to_csv(paths[f"{table_name}.csv"], index=False)
        paths[f"{table_name}.md"] = out_dir / f"{table_name}.md"
        paths[f"{table_name}.md"].write_text(to_markdown(table))
    return paths
