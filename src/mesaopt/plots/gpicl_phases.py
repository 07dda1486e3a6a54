"""General-purpose in-context learning's phases (Kirsch et al. 2022): the learner's accuracy on
its training tasks (`pretrain`) and on unseen tasks (`true`: fresh projections and label
permutations of held-out images), late in the context, against the number of training tasks M,
with the accuracy on training tasks at the first position (before any context), the in-context
references' (ncm, knn: what learning from the context alone reaches) and chance; each
M is labelled with its seeds' phases (analysis/classification.py: memorization, task
identification, general; with counts where the seeds split). Last evaluation; seed intervals."""
from __future__ import annotations

import pandas as pd

from mesaopt.analysis.classification import gpicl_phases, query_accuracy
from mesaopt.plots import NotDrawable, style

SHORT = {"memorization": "mem", "task identification": "task id", "general": "general",
         "none": "none"}


def phase_label(by_seed: list[str]) -> str:
    """The seeds' phases: one name where they agree, else each with its count ('2 general,
    2 task id, 1 mem'), most frequent first."""
    counts = pd.Series(by_seed).map(SHORT).value_counts()
    return counts.index[0] if len(counts) == 1 else ", ".join(f"{n} {p}" for p, n in counts.items())


def plot(df: pd.DataFrame):
    learners = style.learner_names(df)
    last = style.final_step(df)
    try:
        phases = gpicl_phases(last, learners[0])
    except (ValueError, IndexError) as err:
        raise NotDrawable(str(err)) from None
    late, early = query_accuracy(last), query_accuracy(last, late=False)
    fig, axes = style.figure(width=5.0, height=3.2)
    ax = axes[0][0]
    lines = [(late, "pretrain", "training tasks, late", "-"),
             (late, "true", "unseen tasks, late", "-"),
             (early, "pretrain", "training tasks, first position", ":")]
    for i, (rows, split, label, dash) in enumerate(lines):
        part = rows[(rows.split == split) & (rows.predictor == learners[0])]
        part = part.assign(x=style.log2_diversity_axis(part.num_tasks)[0])
        style.band(ax, style.seed_band(part, "x"), label, color=style.LEARNER_COLORS[i % 2],
                   linestyle=dash, marker="o")
    for name in sorted(set(late.predictor) - {*learners, "chance"}):   # in-context references
        part = late[(late.split == "true") & (late.predictor == name)]
        part = part.assign(x=style.log2_diversity_axis(part.num_tasks)[0])
        style.band(ax, style.seed_band(part, "x"), f"{name}, unseen tasks, late",
                   **style.reference_style(name))
    x, ticks, labels = style.log2_diversity_axis(phases.num_tasks)
    for xi, (_, row) in zip(x, phases.iterrows()):
        ax.annotate(phase_label(row.phase_by_seed), (xi, 1.0), fontsize=6, ha="center",
                    va="bottom", rotation=30)
    ax.axhline(phases.chance.mean(), **style.reference_style("chance"), label="chance")
    ax.set_xticks(ticks, labels)
    ax.set_xlabel("M, training tasks (log scale)")
    ax.set_ylabel(f"{learners[0]} accuracy")
    ax.set_ylim(-0.02, 1.12)
    ax.legend(fontsize=6, loc="center left")
    fig.tight_layout()
    return fig
