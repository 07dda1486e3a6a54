"""M* against the task dimension D (Raventos et al. 2023, Fig. 2's dimension panel): log2 M* with
its 95 % interval over seeds per D and evaluation budget, the least-squares line of log2 M* on
log2 D per budget with its slope and interval in the legend, and the published numbers beside
ours: Lu et al. 2025's M* ~ D for linear attention (slope 1 through M* = D) and Raventos et al.'s
D = 8 threshold at their scale. A D whose score stays below 0 wherever the references are
separated is drawn as a lower bound (a caret at the largest such M). Reads a sweep with one run
per D (preset linreg_dimension_cpu); also writes the two tables (M* per D and budget, slopes)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.analysis import scaling
from mesaopt.plots import NotDrawable, style


def _tables(df: pd.DataFrame, samples: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    try:
        return scaling.scaling(df, samples=samples)
    except ValueError as err:  # MixedSettings included
        raise NotDrawable(str(err)) from None


def tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    per_dim, slopes = _tables(df, samples=1000)
    return {"threshold_scaling": per_dim, "threshold_slopes": slopes}


def plot(df: pd.DataFrame):
    per_dim, slopes = _tables(df, samples=500)
    fig, axes = style.figure(width=5.2, height=3.6)
    ax = axes[0][0]
    dims = np.array(sorted(per_dim.dim.unique()), float)
    x_line = np.log2(dims)
    bounds_labelled = False
    for i, (step, part) in enumerate(per_dim.groupby("step")):
        color = style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)]
        slope = slopes[slopes.step == step].iloc[0]
        found = part[np.isfinite(part.m_star)]
        label = (f"step {step:g}: slope {slope.slope:.2f} [{slope.slope_lo:.2f}, "
                 f"{slope.slope_hi:.2f}]" if np.isfinite(slope.slope)
                 else f"step {step:g}: no slope (< 2 D with an M*)")
        ax.errorbar(np.log2(found.dim.astype(float)) + 0.03 * (i - 1), np.log2(found.m_star),
                    yerr=style.log2_errors(found.m_star, found.m_star_lo, found.m_star_hi),
                    fmt="o", color=color, capsize=3, label=label)
        if np.isfinite(slope.slope):
            ax.plot(x_line, slope.intercept + slope.slope * x_line, color=color, linewidth=1)
        above = part[part.censored == "above"]
        ax.plot(np.log2(above.dim.astype(float)) + 0.03 * (i - 1), np.log2(above.m_star_bound),
                linestyle="none", marker=6, markersize=8, color=color,
                label=None if bounds_labelled or not len(above) else
                "no crossing where the references differ: M* > caret")
        bounds_labelled |= bool(len(above))
    lu, raventos = scaling.PUBLISHED["lu"], scaling.PUBLISHED["raventos"]
    ax.plot(x_line, np.log2(lu["ratio"]) + lu["slope"] * x_line, color="grey", linestyle="--",
            linewidth=1, label=lu["label"])
    middle = np.log2(np.sqrt(raventos["m_star_lo"] * raventos["m_star_hi"]))
    ax.errorbar([np.log2(raventos["dim"])], [middle], yerr=[[0.5], [0.5]], fmt="x", color="black",
                capsize=3, label=raventos["label"])
    ax.set_xticks(x_line, [f"{d:g}" for d in dims])
    ax.set_xlabel("task dimension D (K = 2D examples)")
    ax.set_ylabel("log2 M* (score crosses 0)")
    seeds = int(per_dim.seeds.min())
    ax.set_title("Threshold of task diversity vs dimension")
    ax.legend(loc="upper left", fontsize=6)
    fig.text(0.01, 0.005, f"M*: interpolated zero crossing of the mean score over {seeds} seeds; "
             f"bars and slope intervals: 95 % bootstrap over seeds", fontsize=6, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig

