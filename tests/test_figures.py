"""Figure contracts, run for every registered figure: it draws from a synthetic table of the
right shape (the smoke runs' tables, every value replaced by a random positive number) for each
family that declares it, and shows the learner and the references it names. Figures of opt-in
probes (`OPTIONAL`) draw from the LSA smoke run, which selects them."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import EXTRA_SMOKE, SMOKE, emergence_table

from mesaopt import plots, registry, results
from mesaopt.plots import style
from mesaopt.vocabulary import METRIC


def _declared_by():
    """figure -> the families (task names) that declare it."""
    out = {}
    for name in registry.available("tasks"):
        module = registry.load("tasks", name, "task")
        for figure in module.build(module.Config()).figures:
            out.setdefault(figure, []).append(name)
    return out


DECLARED = _declared_by()


def test_every_figure_is_declared_by_a_family():
    assert set(DECLARED) | set(plots.ACROSS_FAMILIES) == set(plots.available())
    assert not set(DECLARED) & set(plots.ACROSS_FAMILIES)


def _synthetic(run_dir, seed=0):
    df = results.load(run_dir)
    rng = np.random.default_rng(seed)
    return df.assign(value=rng.uniform(0.05, 2.0, len(df)))


def _labels(fig):
    """Legend entries, titles and axis labels: where a figure names its series."""
    legends = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    return legends + [text for ax in fig.axes
                      for text in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())]


def _run_for(family: str, optional: bool, smoke_runs):
    """The family's smoke run; for a figure of opt-in probes, a smoke run that selects them."""
    extra = [p for p, f in EXTRA_SMOKE.items() if f == family]
    return smoke_runs[extra[0] if optional and extra else SMOKE[family]]


# Figures of one threshold analysis refuse runs that differ in a setting (the bandit smoke run's
# two proxy rates, the maze smoke run's two corner sizes; test_run checks the refusal): in these
# synthetic tables (random values) each swept axis is made one setting, so that what is drawn is
# the whole table.
ONE_SETTING = {"phase", "deltas"}


# Figures over a sweep axis the smoke runs hold at one value: the synthetic table spreads its
# members over these values (alpha: objective-phase reads alpha* off the maze sweep over the
# goal-anywhere share, and off the bandit sweep over the proxy rate, alpha = 1 - rho).
SPREAD = {"objective-phase": {"maze": ("anywhere_rate", (0.0, 0.01, 0.1, 0.3)),
                              "bandit": ("proxy_rate", (1.0, 0.99, 0.9, 0.7))}}


def _one_setting(df, figure: str, family: str):
    from mesaopt.analysis.emergence import RECORD_COLUMNS
    if figure in SPREAD:
        column, values = SPREAD[figure][family]
        return df.assign(**{column: np.asarray(values)[df.member.to_numpy() % len(values)]})
    if figure not in ONE_SETTING:
        return df
    axes = [c for c in df.columns if "." not in c and c not in RECORD_COLUMNS]
    return df.assign(**{c: df[c].min() for c in axes if df[c].nunique() > 1})


@pytest.mark.parametrize("figure", sorted(DECLARED))
def test_figure_draws_its_series_from_a_synthetic_table(figure, smoke_runs):
    module = plots.module(figure)
    optional = plots.spec(figure).optional
    for family in DECLARED[figure]:
        df = _one_setting(_synthetic(_run_for(family, optional, smoke_runs)), figure, family)
        fig = module.plot(df)
        labels = " ".join(_labels(fig))
        assert any(ax.lines or ax.collections for ax in fig.axes), f"{figure}: nothing drawn"
        learner = style.learner_names(df)[0]
        assert learner in labels, f"{figure}: no series of the learner {learner!r} in {labels!r}"
        for name in getattr(module, "REFERENCES", ()):
            if name in set(df.predictor):
                assert name in labels, f"{figure}: no series of reference {name!r}"
        # What it draws follows the table: other values, other drawing.
        other = module.plot(_one_setting(_synthetic(_run_for(family, optional, smoke_runs),
                                                    seed=1), figure, family))
        drawn, drawn_other = _drawn(fig), _drawn(other)
        assert drawn.size and (drawn.shape != drawn_other.shape
                               or not np.allclose(drawn, drawn_other, equal_nan=True)), figure
        plt.close(fig)
        plt.close(other)


def test_the_thresholds_figure_draws_each_familys_m_star_and_interval():
    from mesaopt.analysis import emergence
    df = emergence_table({"linreg": 3.5, "maze": 7.0, "bandit": 5.0})
    fig = plots.draw("thresholds", df)
    table = emergence.family_thresholds(df, samples=300)
    x = np.concatenate([np.asarray(c.lines[0].get_xdata(), float) for c in fig.axes[0].containers])
    np.testing.assert_allclose(np.sort(x), np.sort(np.log2(table.m_star.to_numpy(float))))
    assert {"linreg", "maze", "bandit"} <= set(" ".join(_labels(fig)).split())
    plt.close(fig)


def _drawn(fig) -> np.ndarray:
    """Every number a figure draws: line data, marker and polygon vertices, image pixels, bars."""
    out = []
    for ax in fig.axes:
        out += [np.asarray(line.get_xydata(), float).ravel() for line in ax.lines]
        for collection in ax.collections:
            out += [np.asarray(collection.get_offsets(), float).ravel()]
            out += [np.asarray(p.vertices, float).ravel() for p in collection.get_paths()]
            if collection.get_array() is not None:  # colour values: a mesh's cells (phase)
                out += [np.ma.filled(np.asarray(collection.get_array(), float), np.nan).ravel()]
        out += [np.asarray(image.get_array(), float).ravel() for image in ax.images]
        out += [np.asarray([p.get_height() for p in ax.patches], float)]
    return np.concatenate(out) if out else np.zeros(0)


def test_the_diversity_figure_draws_the_tables_means_per_diversity(smoke_run):
    """The learner's line on fresh tasks is the mean over seeds of its final MSE at each M."""
    df = _synthetic(smoke_run)
    fig = plots.module("diversity").plot(df)
    learner = style.learner_names(df)[0]
    rows = style.final_step(df[(df.metric == "mse") & (df.position == -1) & (df.split == "true")
                               & (df.predictor == learner)])
    expected = rows.groupby("num_tasks")["value"].mean().sort_index()
    line = next(l for l in fig.axes[1].lines if l.get_label() == learner)
    np.testing.assert_allclose(line.get_ydata(), expected.to_numpy(), rtol=1e-6)
    plt.close(fig)


def test_a_figure_of_an_axis_the_run_does_not_vary_is_not_drawable(bandit_run):
    df = _synthetic(bandit_run)
    one_rate = df[df.proxy_rate == df.proxy_rate.min()]
    with pytest.raises(plots.NotDrawable, match="1 proxy rate"):
        plots.module("proxy").plot(one_rate)


EMERGENCE = (METRIC.emergence_score, METRIC.emergence_d_mem, METRIC.emergence_d_gen,
             METRIC.emergence_separation, METRIC.emergence_role, METRIC.emergence_performance)


@pytest.mark.parametrize("kept, drawn", [
    ((METRIC.mse,), {"diversity", "icl-curve"}),
    ((METRIC.mse, METRIC.delta_ridge, METRIC.delta_dmmse, *EMERGENCE),
     {"diversity", "icl-curve", "deltas", "dynamics", "phase"}),
])
def test_a_table_missing_probes_draws_exactly_the_figures_it_can(smoke_run, kept, drawn):
    """Each regression figure draws from the metrics it needs and says NotDrawable (never an
    exception, never an empty figure) where the table lacks them."""
    df = _synthetic(smoke_run)
    df = df[df.metric.isin(kept) & df.split.isin(["pretrain", "true"])]
    made = set()
    for figure in DECLARED:
        if "linreg" in DECLARED[figure]:
            try:
                plt.close(plots.draw(figure, df))
                made.add(figure)
            except plots.NotDrawable:
                pass
    assert made == drawn


def test_a_figure_of_another_family_refuses_the_table_instead_of_drawing_it_empty(smoke_run):
    """`regret` on a regression sweep used to write an empty figure and exit 0."""
    with pytest.raises(plots.NotDrawable, match="no regret rows"):
        plots.draw("regret", _synthetic(smoke_run))


def test_a_figure_that_draws_no_series_is_not_drawable(smoke_run, monkeypatch):
    """Whatever a figure module forgets to check, `plots.draw` (mesaopt-plot and the runs) does not
    hand on a figure without a single series."""
    empty = type("Empty", (), {"plot": staticmethod(lambda df: plt.subplots()[0])})
    monkeypatch.setattr(plots, "module", lambda name: empty)
    with pytest.raises(plots.NotDrawable, match="nothing in these tables"):
        plots.draw("empty", _synthetic(smoke_run))


def test_optional_figures_say_not_drawable_without_their_probes(smoke_run):
    for figure in plots.available():
        if plots.spec(figure).optional:
            with pytest.raises(plots.NotDrawable):
                plots.module(figure).plot(_synthetic(smoke_run))


def test_a_reference_without_a_style_gets_a_stable_derived_one():
    assert style.reference_style("ridge") == {"color": "#d62728", "linestyle": "--"}
    derived = style.reference_style("no_such_reference")
    assert derived == style.reference_style("no_such_reference") and derived["linestyle"] == ":"


def test_diversity_ticks_are_the_m_values_not_their_logarithms():
    """log2 positions labelled "0, 2, inf" read as M = 0: the labels are M itself."""
    import pandas as pd
    x, ticks, labels = style.log2_diversity_axis(pd.Series([1.0, 4.0, 16.0, 8192.0, np.inf]))
    assert labels == ["1", "4", "16", "$2^{13}$", "∞"]
    assert ticks == [0.0, 2.0, 4.0, 13.0, 15.0] and list(x) == [0.0, 2.0, 4.0, 13.0, 15.0]


def test_the_deltas_figure_has_a_y_label_and_no_point_off_its_log_axis(smoke_run):
    """D(memorizer, generalizer) is 0 where the references coincide (M = inf): drawn on a log
    axis that point dropped to the axis; it is left out, and the axis says what it shows."""
    fig = plots.draw("deltas", results.load(smoke_run))
    for ax in fig.axes[:2]:
        assert "distance D" in ax.get_ylabel()
        for line in ax.lines:
            if line.get_label().startswith("M*"):  # vertical marks span the axes, not data
                continue
            ys = np.asarray(line.get_ydata(), float)
            assert not (np.isfinite(ys) & (ys <= 0)).any(), line.get_label()
    plt.close(fig)
