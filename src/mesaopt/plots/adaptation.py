"""Error vs inner steps (`adapt_mse`, fresh tasks, last evaluation, mean and seed band): every
learner with an explicit inner loop (MAML variants, the learned optimizer, the pretrained baseline
fine-tuned by the same SGD) and the hard-coded optimizers with tuned step sizes (references sgd,
adam), and as horizontal lines the in-context learners and the other references given the same
context (their `mse` at position = the probe's support size). At the largest task diversity."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.probes import adapt_mse
from mesaopt.vocabulary import METRIC

SUPPORT_COLUMN = "eval.options.adapt_mse.support"


def plot(df: pd.DataFrame):
    df = df[df.num_tasks == df.num_tasks.max()]
    adapting = style.final_step(df[(df.split == "true") & (df.metric == METRIC.adapt_mse)])
    rows = adapting[adapting.role == "learner"]
    if rows.empty:
        raise NotDrawable("no adapt_mse rows: no learner with an inner loop (learner=maml, ...)")
    given = df[SUPPORT_COLUMN].iloc[0] if SUPPORT_COLUMN in df else None
    support = adapt_mse.support_size(int(df["task.context_len"].iloc[0]), adapt_mse.Config(
        support=None if given is None or pd.isna(given) else int(given)))
    fig, axes = style.figure(width=6.4, height=3.4)
    ax = axes[0][0]
    for i, ((name, run_id), part) in enumerate(rows.groupby(["predictor", "run_id"])):
        # Runs of the same learner name: label them by the options in which they differ.
        same_name = rows[rows.predictor == name]
        varying = [c for c in style.varying_static(same_name) if c.startswith(("learner.", "train."))]
        broken = part[~np.isfinite(part.value)].position  # a seed diverged (NaN or inf)
        diverged = f", diverged by {broken.min()} steps" if len(broken) else ""
        stats = style.seed_band(part[part.position < (broken.min() if len(broken) else np.inf)],
                               "position")
        label = ", ".join([name, *[f"{c.split('.', 1)[1]}={part[c].iloc[0]}" for c in varying]])
        style.band(ax, stats, label + diverged,
                   color=style.LEARNER_COLORS[i % len(style.LEARNER_COLORS)], marker="o")
    # References with an inner loop (the tuned sgd and adam): curves, from one run (all alike).
    optimizers = adapting[(adapting.role == "reference")
                          & (adapting.run_id == adapting.run_id.iloc[0])]
    for name, part in optimizers.groupby("predictor"):
        style.band(ax, style.seed_band(part[np.isfinite(part.value)], "position"),
                   f"{name} (tuned step size)", marker=".", **style.reference_style(name))
    same_context = style.final_step(df[(df.split == "true") & (df.metric == METRIC.mse)
                                       & (df.position == support)])
    for name, part in same_context.groupby("predictor"):
        if name in set(adapting.predictor):
            continue
        role = part.role.iloc[0]
        look = dict(color="k", linestyle="-.") if role == "learner" else style.reference_style(name)
        ax.axhline(part.value.mean(), label=f"{name} (in context, {support} pairs)"
                   if role == "learner" else f"{name} ({support} pairs)", **look)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_yscale("log")
    before = rows[rows.position == 0].value
    if len(before) and np.isfinite(before).any():  # far beyond the unadapted error: off the plot
        ax.set_ylim(top=30 * float(np.nanmax(before)))
    ax.set_xlabel("inner steps on the support set")
    ax.set_ylabel(f"MSE on queries, fresh tasks ({support} support pairs)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=6)
    fig.tight_layout()
    return fig
