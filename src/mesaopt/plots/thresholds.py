"""Every family's threshold side by side: M* (where the seed-mean emergence score on held-out
tasks crosses 0, bootstrap 95% CI over seeds; n/a below 3 seeds) per family, learner and compute
budget on one log2 M axis.
Reads a directory holding several families' diversity sweeps (e.g. the runs of
`scripts/thresholds_cpu.sh`); rows without a threshold in their range are listed with an open
marker at the axis' left edge. Also writes the table (CSV and markdown) next to the figure."""
from __future__ import annotations

import numpy as np
import pandas as pd

from mesaopt.analysis import emergence
from mesaopt.plots import NotDrawable, style


def tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"family_thresholds": _table(df, samples=1000)}


def _table(df: pd.DataFrame, samples: int) -> pd.DataFrame:
    table = emergence.family_thresholds(df, samples=samples)
    if not len(table) or "m_star" not in table:
        raise NotDrawable("no family in these tables has emergence scores at finite M "
                          "(sweep.num_tasks with finite values, the emergence_score probe)")
    return table


def plot(df: pd.DataFrame):
    table = _table(df, samples=300)
    table = table[table.m_star.notna() | table.compute.notna()].reset_index(drop=True)
    labels = [" · ".join(filter(None, (r.family, r.learner, r.task, r.compute)))
              for r in table.itertuples()]
    # The labels set the width: long ones (task settings) must not squeeze the axis.
    width = 4.5 + 0.06 * max(len(label) for label in labels)
    fig, axes = style.figure(width=width, height=1.2 + 0.3 * len(table))
    ax = axes[0][0]
    y = np.arange(len(table))[::-1]
    families = sorted(table.family.unique())
    finite_m = df.num_tasks[np.isfinite(df.num_tasks) & (df.num_tasks > 0)]
    left, right = np.log2(finite_m.min()), np.log2(finite_m.max())
    for family_index, family in enumerate(families):
        color = style.LEARNER_COLORS[family_index % len(style.LEARNER_COLORS)]
        rows = table.family == family
        found = rows & np.isfinite(table.m_star)
        x = np.log2(table.m_star[found])
        ax.errorbar(x, y[found], xerr=style.log2_errors(table.m_star[found], table.m_star_lo[found],
                                                        table.m_star_hi[found]),
                    fmt="o", color=color, capsize=3, label=family)
        missing = rows & ~np.isfinite(table.m_star)
        ax.plot(np.full(missing.sum(), left), y[missing], "o", mfc="none", color=color)
    if not np.isfinite(table.m_star).all():
        ax.plot([], [], "o", mfc="none", color="grey", label="no M* in its range")
    ax.set_yticks(y, labels)
    ax.set_xlim(left - 0.5, right + 0.5)
    ax.set_xlabel("log2 M* (task diversity where learned search emerges)")
    ax.set_title("M* per family (95% CI over seeds)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7)  # beside, not over rows
    fig.tight_layout()
    return fig
