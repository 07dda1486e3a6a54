"""One shared look for every figure, and helpers every figure uses. Figures are built with
matplotlib's object API (`matplotlib.figure.Figure`), never pyplot: importing a figure sets no
backend and keeps no global figure registry; `plots.draw` applies the look (`RC`) while drawing."""
from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mesaopt import registry
from mesaopt.analysis import emergence, final_step, seeds  # noqa: F401 (figures read them from here)
from mesaopt.config import ConfigError
from mesaopt.plots import NotDrawable

RC = {
    "figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "legend.fontsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "lines.linewidth": 1.6,
    "lines.markersize": 4,
}
LEARNER_COLORS = ["#1f77b4", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22"]
INF_LABEL = "∞"


def figure(ncols: int = 1, nrows: int = 1, width: float = 3.4, height: float = 2.8):
    """(fig, axes[nrows, ncols]) of a new figure outside pyplot."""
    fig = Figure(figsize=(width * ncols, height * nrows))
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def colormap(name: str):
    return matplotlib.colormaps[name]


def learner_names(df: pd.DataFrame) -> list[str]:
    """Predictors that were trained, as opposed to references (the table's role column)."""
    return sorted(df.loc[df.role == "learner", "predictor"].unique())


@functools.cache
def reference_style(name: str) -> dict:
    """A reference's colour and linestyle in every figure: its module's STYLE, or derived from its
    name (a stable colour from a 20-colour map, dotted) for a reference that sets none."""
    try:
        return dict(registry.load("references", name, "reference").STYLE)
    except (ConfigError, AttributeError):
        index = int(hashlib.sha1(name.encode()).hexdigest(), 16) % 20
        return dict(color=matplotlib.colors.to_hex(colormap("tab20")(index)), linestyle=":")


def scores(df: pd.DataFrame, learner: str) -> pd.DataFrame:
    """The emergence scores of `learner`; NotDrawable when the tables cannot give any."""
    try:
        return emergence.require_scores(emergence.scores(df, learner))
    except ValueError as err:
        raise NotDrawable(str(err)) from None


def varying_static(df: pd.DataFrame) -> list[str]:
    """Static config columns that differ between the runs in `df` (e.g. learner.depth)."""
    static = [c for c in df.columns if "." in c]
    per_run = df.groupby("run_id")[static].first()
    return [c for c in static if per_run[c].nunique() > 1]


def run_label(row: pd.Series, columns: list[str]) -> str:
    return ", ".join(f"{c.split('.', 1)[1]}={row[c]}" for c in columns)


def diversity_label(m: float) -> str:
    """M as a tick label: the number up to 4096, a power of two as 2^k above, ∞ for inf."""
    if not np.isfinite(m):
        return INF_LABEL
    k = math.log2(m)
    return f"$2^{{{int(k)}}}$" if m > 4096 and k.is_integer() else f"{m:g}"


def log2_diversity_axis(num_tasks: pd.Series) -> tuple[pd.Series, list, list]:
    """x positions log2(M), with M = inf placed two steps right of the largest finite M; tick
    labels are the M values themselves (1, 16, 256, 2^13, ..., ∞), never their logarithms (a
    label 0 read as M = 0)."""
    finite = num_tasks[np.isfinite(num_tasks)]
    top = math.log2(finite.max()) if len(finite) else 0.0
    x = np.where(np.isfinite(num_tasks), np.log2(num_tasks.where(np.isfinite(num_tasks), 1)), top + 2)
    ticks = sorted({float(v) for v in np.log2(finite.unique())}) if len(finite) else []
    labels = [diversity_label(2.0**t) for t in ticks]
    if not np.all(np.isfinite(num_tasks)):
        ticks.append(top + 2)
        labels.append(INF_LABEL)
    return pd.Series(x, index=num_tasks.index), ticks, labels


def seed_band(data: pd.DataFrame, by: str, column: str = "value") -> pd.DataFrame:
    """Per `by` value: the mean over seeds of `column` and its band, the 95 % t-interval over
    seeds (each seed's rows, i.e. its episodes, members or positions, averaged first: never
    pooled across seeds), or the seeds' range where fewer than 3 seeds make an interval n/a;
    columns mean, lo, hi, seeds. Without a seed column every row counts as one seed."""
    units = (data.groupby([by, "seed"])[column].mean() if "seed" in data
             else data.set_index([by, data.index])[column])
    rows = {}
    for key, part in units.groupby(level=0):
        values = part.to_numpy()
        estimate = seeds.over_seeds(values)
        finite = values[np.isfinite(values)]  # none where no seed has a value: nothing drawn
        lo, hi = ((estimate.lo, estimate.hi) if estimate.has_interval
                  else (finite.min(), finite.max()) if len(finite) else (np.nan, np.nan))
        rows[key] = (estimate.value, lo, hi, estimate.seeds)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "lo", "hi", "seeds"],
                                  dtype=float).sort_index()  # float also where there are no rows


def band_note(stats: pd.DataFrame) -> str:
    """What a figure's bands are, for its caption: the interval over n seeds, or the range."""
    n = int(stats["seeds"].min()) if len(stats) else 0
    if n >= seeds.MIN_SEEDS:
        return f"bands: 95 % t-interval over {n} seeds"
    return f"bands: range of {n} seed{'s' * (n != 1)} (an interval needs >= {seeds.MIN_SEEDS})"


def band(ax, stats: pd.DataFrame, label: str, **kw) -> None:
    """A mean line with its seed band (`seed_band`); the figure remembers the fewest seeds behind
    a band, for the caption `plots.draw` adds (`caption`). No rows: nothing drawn."""
    if stats.empty:
        return
    line, = ax.plot(stats.index, stats["mean"], label=label, **kw)
    ax.fill_between(stats.index, stats["lo"], stats["hi"], color=line.get_color(), alpha=0.15,
                    linewidth=0)
    behind = stats["seeds"][stats["seeds"] > 0]
    if len(behind):  # points without a value (no seed) draw nothing and say nothing
        fig = ax.figure
        fig.band_seeds = min(getattr(fig, "band_seeds", math.inf), int(behind.min()))


def step_note(df: pd.DataFrame, over_steps: bool = False) -> str:
    """The training steps a figure shows: each run's last evaluation, or the steps drawn."""
    if "step" not in df or df.empty:
        return ""
    if over_steps:
        return f"training steps {int(df.step.min())}-{int(df.step.max())}"
    last = df.groupby("run_id").step.max() if "run_id" in df else df.step.agg(["max"])
    lo, hi = int(last.min()), int(last.max())
    return (f"each run at its last evaluation: step {hi}" if lo == hi
            else f"each run at its last evaluation: steps {lo}-{hi}")


def caption(fig, step: str = "") -> None:
    """A grey line under the figure: the step it shows and, where it drew seed bands, what they
    are (the fewest seeds behind a band)."""
    seeds_behind = getattr(fig, "band_seeds", None)
    parts = [step] if step else []
    if seeds_behind is not None:
        parts.append(band_note(pd.DataFrame({"seeds": [seeds_behind]})))
    if parts:
        fig.text(0.01, -0.02, "; ".join(parts), fontsize=6, color="grey", va="top")


def cell_edges(centers: np.ndarray) -> np.ndarray:
    """The edges of heat-map cells centred on `centers` (pcolormesh's `flat` shading)."""
    if len(centers) == 1:
        return np.array([centers[0] - 0.5, centers[0] + 0.5])
    mids = (centers[1:] + centers[:-1]) / 2
    return np.concatenate([[2 * centers[0] - mids[0]], mids, [2 * centers[-1] - mids[-1]]])


def log2_errors(center, lo, hi) -> list[np.ndarray]:
    """xerr/yerr in log2 of a value and its interval; 0 where the interval is n/a (nan)."""
    center, lo, hi = (np.log2(np.asarray(v, float)) for v in (center, lo, hi))
    return [np.nan_to_num(center - lo), np.nan_to_num(hi - center)]


def compute_axis(frame: pd.DataFrame) -> str:
    """`emergence.compute_axis`, NotDrawable where the runs mix settings."""
    try:
        return emergence.compute_axis(frame)
    except emergence.MixedSettings as err:
        raise NotDrawable(str(err)) from None


def save(fig, out_dir: Path, name: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {ext: out_dir / f"{name}.{ext}" for ext in ("png", "pdf")}
    for path in paths.values():
        fig.savefig(path, bbox_inches="tight")
    return paths
