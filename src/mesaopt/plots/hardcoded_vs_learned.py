"""Hard-coded vs learned optimization on one family across task diversity M (a multirun over
learners, e.g. experiment=hardcoded_vs_learned_cpu): MSE (mean over context positions, last
evaluation, mean and seed band) vs log2 M on the pretraining tasks (left: memorization shows as
a low error there) and on fresh tasks (right: generalization). Each learner is drawn by its kind:
hard-coded inner optimization with a learned initialization (the MAML family: SGD we wrote),
a learned optimizer (`lopt`; "lopt (fixed init)" where it starts from the references' fixed
initialization, as sgd and adam do, instead of learning one), and learned in-context optimization
(transformer, GRU, LSA); the references (e.g. dmmse, the Bayes posterior mean over the member's
pool) as dotted lines."""
from __future__ import annotations

import pandas as pd

from mesaopt.plots import NotDrawable, style
from mesaopt.vocabulary import METRIC

MARKERS = {"hard-coded": "s", "learned optimizer": "^", "in-context": "o"}


def kinds(df: pd.DataFrame) -> dict[str, str]:
    """learner -> its kind, from the table: a learner whose runs carry `learner.optimizer.*`
    columns adapts with a learned optimizer, one with `learner.inner_steps` by hand-written SGD
    (the MAML family), any other learns in context."""
    out = {}
    for name, rows in df[df.role == "learner"].groupby("predictor"):
        def has(column):
            return column in rows and rows[column].notna().any()
        learned = any(has(c) for c in rows.columns if c.startswith("learner.optimizer."))
        out[name] = ("learned optimizer" if learned else
                     "hard-coded" if has("learner.inner_steps") else "in-context")
    return out


def with_init(df: pd.DataFrame) -> pd.DataFrame:
    """Learners that start from the references' fixed initialization instead of learning one
    (`learner.learn_init: false`) named apart: "lopt (fixed init)"."""
    if "learner.learn_init" not in df:
        return df
    fixed = (df.role == "learner") & (df["learner.learn_init"] == False)  # noqa: E712 (NaN: n/a)
    return df.assign(predictor=df.predictor.where(~fixed, df.predictor + " (fixed init)"))


def _final(df: pd.DataFrame) -> pd.DataFrame:
    final = with_init(style.final_step(df[(df.metric == METRIC.mse) & (df.position == -1)]))
    if not (final.role == "learner").any() or final.num_tasks.nunique() < 2:
        raise NotDrawable("needs learners' mse at two or more task diversities M")
    return final


def tables(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """`hardcoded_vs_learned`: per learner and M, the mean MSE on pretraining and fresh tasks."""
    final = _final(df)
    learners = final[(final.role == "learner") & final.split.isin(["pretrain", "true"])]
    table = learners.pivot_table(index=["predictor", "num_tasks"], columns="split",
                                 values="value", aggfunc="mean").reset_index()
    table.insert(1, "kind", table.predictor.map(kinds(learners)))
    return {"hardcoded_vs_learned": table}


def plot(df: pd.DataFrame):
    final = _final(df)
    learners = style.learner_names(final)
    x_all, ticks, labels = style.log2_diversity_axis(final.num_tasks)
    final = final.assign(x=x_all)
    kind = kinds(final)
    fig, axes = style.figure(ncols=2, width=3.8, height=3.0)
    for ax, split, title in zip(axes[0], ("pretrain", "true"),
                                ("pretraining tasks (memorization)", "fresh tasks (generalization)")):
        rows = final[final.split == split]
        for i, name in enumerate(learners):
            part = rows[(rows.predictor == name) & (rows.role == "learner")]
            style.band(ax, style.seed_band(part, "x"), f"{name} ({kind[name]})",
                       marker=MARKERS[kind[name]], color=style.LEARNER_COLORS[
                           i % len(style.LEARNER_COLORS)])
        references = rows[rows.role == "reference"]
        first_run = references.run_id.iloc[0] if len(references) else None
        for name, part in references[references.run_id == first_run].groupby("predictor"):
            style.band(ax, style.seed_band(part, "x"), name, marker=".",
                       **style.reference_style(name))
        ax.set_xticks(ticks, labels)
        ax.set_yscale("log")
        ax.set_xlabel("task diversity M (log scale)")
        ax.set_ylabel("MSE (mean over positions)")
        ax.set_title(title)
    axes[0][1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=6)
    fig.tight_layout()
    return fig
