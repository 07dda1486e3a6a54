"""The Q2 twin of `phase`: how much disambiguating data until the agent pursues the true goal.
Left: alpha (the share of training tasks on which proxy and true objective disagree, log scale:
mazes' goal-anywhere levels, bandits' 1 - rho; alpha = 0, the control that never saw a conflict,
at the left edge) x compute budget (per curriculum where the runs differ in `train.curriculum`),
colour = the seed mean of the knob's implied-objective metric on held-out tasks where they
disagree (`proxy_weight`, `proxy_pursuit_late`; 1: the proxy, 0: the true objective; see
analysis/objective.py); alpha* per budget where it crosses 0.5
(interpolated, 95 % interval over seeds) and where a free-asymptote logistic fit crosses it.
Row labels give a budget's mean gradient steps where they are fewer than its updates (robust PLR:
compare its rows with uniform's at equal gradient steps too).
Middle: the proxy weight against alpha per budget with seed bands, beside (where recorded) the
Bayes-optimal policy under the member's training prior at the last budget (`bayes_train`, the
bandits' control: what following the training prior rationally gives). Right, where the runs recorded
`goal_probes`: the objective inside along alpha at the last budget, on the same axes as the
behaviour: the proxy weight beside how much better a linear probe of the last layer decodes the
goal's square than the same probe on the untrained network (the control), per curriculum. Also
writes the alpha* table (CSV and markdown) next to the figure (analysis/objective.py)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mesaopt.analysis import objective
from mesaopt.plots import NotDrawable, style

OVER_STEPS = True  # budgets are evaluation steps (the caption names them)
REFERENCES = ("bayes_train",)  # controls drawn beside the learner's curves, where recorded


def _frame(df: pd.DataFrame) -> tuple[pd.DataFrame, str, list[str]]:
    learner = style.learner_names(df)[0]
    try:
        frame = objective.weights(df, learner)
        rows = objective.settings(frame)  # curriculum and the compute axis
    except ValueError as err:
        raise NotDrawable(str(err)) from None
    return frame, learner, rows


def tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"alpha-thresholds": objective.summary(df, style.learner_names(df)[0])}


def _x(alpha: np.ndarray, floor: float) -> np.ndarray:
    """log10 alpha, alpha = 0 one decade left of the smallest positive alpha."""
    alpha = np.asarray(alpha, float)
    return np.where(alpha > 0, np.log10(np.where(alpha > 0, alpha, 1.0)), floor)


def plot(df: pd.DataFrame):
    frame, learner, rows = _frame(df)
    knob = objective.knob_of(df)
    axis = rows[-1]
    frame = objective.emergence.at_budgets(frame, axis, count=4) if axis == "step" else frame
    positive = np.sort(frame.loc[frame[objective.AXIS] > 0, objective.AXIS].unique())
    if len(positive) < 2:
        raise NotDrawable(f"alpha* needs a sweep over sweep.{knob.axis} with at least two "
                          "values that make alpha > 0")
    floor = math.log10(positive[0]) - 1
    frame = frame.assign(x=_x(frame[objective.AXIS], floor),
                         row=frame[rows].astype(str).agg(", ".join, axis=1))
    labels = [", ".join(map(str, k if isinstance(k, tuple) else (k,)))
              for k in frame.groupby(rows, sort=True).groups]
    grid = frame.pivot_table(index="row", columns="x", values="weight").reindex(labels)
    probes = _goal_probes(df, frame, rows[:-1])
    fig, axes = style.figure(ncols=3 if probes is not None else 2,
                             width=4.2, height=3.4)
    ax, curve_ax = axes[0][:2]
    xs = grid.columns.to_numpy(float)
    ys = np.arange(len(labels), dtype=float)
    mesh = ax.pcolormesh(style.cell_edges(xs), style.cell_edges(ys), grid.to_numpy(),
                         cmap="coolwarm", vmin=0, vmax=1, shading="flat")
    table = objective.thresholds(frame, rows, samples=200)
    table["row"] = table[rows].astype(str).agg(", ".join, axis=1)
    star = table[np.isfinite(table.alpha_star)]
    y_of = {label: i for i, label in enumerate(labels)}
    if len(star):
        lo = star.alpha_star_lo.fillna(star.alpha_star)
        hi = star.alpha_star_hi.fillna(star.alpha_star)
        ax.errorbar(np.log10(star.alpha_star), star.row.map(y_of),
                    xerr=[np.log10(star.alpha_star) - np.log10(lo),
                          np.log10(hi) - np.log10(star.alpha_star)],
                    color="black", marker="o", linestyle="none", capsize=3,
                    label="α*: weight crosses 0.5 (95 % CI)")
        fit = table[np.isfinite(table.alpha_star_fit)]
        ax.plot(np.log10(fit.alpha_star_fit), fit.row.map(y_of), "D", mfc="none", color="black",
                label="α*: logistic fit crosses 0.5")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=2, fontsize=6,
                  frameon=False)
    else:
        ax.text(0.02, 0.97, "no α* in this grid: the weight does not go from > 0.75 to < 0.375",
                transform=ax.transAxes, va="top", fontsize=7)
    ticks = [floor, *np.log10(positive)]
    names = ["0", *[f"{a:g}" for a in positive]]
    ax.set_xticks(ticks, names, rotation=45)
    ax.set_yticks(range(len(labels)), [_with_gradient_steps(label, frame) for label in labels])
    ax.set_xlabel(f"α: {knob.alpha_means}")
    ax.set_ylabel(", ".join(c.removeprefix("train.") for c in rows))
    seeds = int(table.seeds.min()) if len(table) else 0
    ax.set_title(f"{learner}: {knob.metric} on held-out conflict tasks\n(colour: mean of {seeds} "
                 "seeds; α*: 95 % CI over seeds)", fontsize=7)
    fig.colorbar(mesh, ax=ax, label=f"{knob.metric} (0 true … 1 proxy)")
    ax.grid(False)
    colours = style.colormap("viridis")  # by budget; one line style per curriculum
    budgets = sorted(frame[axis].unique())
    groups = sorted({tuple(k) for k in frame[rows[:-1]].itertuples(index=False)})
    for label, part in frame.groupby("row", sort=False):
        group = groups.index(tuple(part[rows[:-1]].iloc[0]))
        rank = budgets.index(part[axis].iloc[0]) / max(1, len(budgets) - 1)
        style.band(curve_ax, style.seed_band(part, "x", "weight"), label, color=colours(rank),
                   marker="os^v"[group % 4], markersize=3, linestyle=["-", "--", ":", "-."][group % 4])
    for name in REFERENCES:
        if name in set(df.predictor):
            reference = objective.weights(df, name)
            reference = reference[reference.step == reference.step.max()]
            style.band(curve_ax, style.seed_band(reference.assign(
                x=_x(reference[objective.AXIS], floor)), "x", "weight"),
                f"{name} (last budget)", color="black", linestyle="--", marker="s", markersize=3)
    curve_ax.axhline(0.5, color="grey", linestyle=":", linewidth=0.8)
    curve_ax.set_xticks(ticks, names, rotation=45)
    curve_ax.set_ylim(-0.02, 1.02)
    curve_ax.set_xlabel("α (log scale; 0 at the left)")
    curve_ax.set_ylabel(knob.metric)
    curve_ax.legend(fontsize=6, title=", ".join(c.removeprefix("train.") for c in rows),
                    title_fontsize=6)
    if probes is not None:
        _draw_inside(axes[0][2], probes, ticks, names)
    fig.tight_layout()
    return fig


def _with_gradient_steps(label: str, frame: pd.DataFrame) -> str:
    """A budget's row label, with its mean gradient steps where fewer than its updates (robust
    PLR steps on replay updates only)."""
    part = frame[frame.row == label]
    taken, updates = part.gradient_steps.mean(), part.step.mean()
    return f"{label} ({taken:.0f} grad.)" if taken < updates - 0.5 else label


def _goal_probes(df: pd.DataFrame, frame: pd.DataFrame, curricula: list[str]):
    """Per member at the last step: the proxy weight and the goal probe's gain over the untrained
    network (objective.goal_probe_gain), with its curriculum group."""
    out = objective.goal_probe_gain(df, frame)
    if out is None:
        return None
    out["group"] = out[curricula].astype(str).agg(", ".join, axis=1) if curricula else "agent"
    return out


def _draw_inside(ax, probes: pd.DataFrame, ticks: list, names: list) -> None:
    for i, (group, part) in enumerate(probes.groupby("group", sort=True)):
        colour = f"C{i}"
        style.band(ax, style.seed_band(part, "x", "weight"), f"{group}: proxy weight",
                   color=colour, marker="o", markersize=3)
        style.band(ax, style.seed_band(part, "x", "gain"), f"{group}: goal probe − untrained",
                   color=colour, marker="s", markersize=3, linestyle="--")
    ax.axhline(0.0, color="grey", linewidth=0.6)
    ax.set_xticks(ticks, names, rotation=45)
    ax.set_xlabel("α (log scale; 0 at the left)")
    ax.set_ylabel("proxy weight; accuracy gain")
    ax.set_title("inside vs behaviour (last budget, last layer)", fontsize=8)
    ax.legend(fontsize=6)
