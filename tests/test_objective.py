"""alpha*: the disambiguating data at which the implied objective becomes the true goal, read from
a synthetic table with a known answer (and none where the curve never crosses 0.5)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mesaopt.analysis import objective

ALPHAS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3)


def _table(weight, seeds: int = 5, steps=(512, 1024), noise: float = 0.02, seed: int = 0):
    """The table rows a maze sweep over alpha writes: the learner's proxy weight per member."""
    rng = np.random.default_rng(seed)
    rows = []
    for member, (alpha, s) in enumerate((a, s) for a in ALPHAS for s in range(seeds)):
        for step in steps:
            w = float(np.clip(weight(alpha, step) + noise * rng.standard_normal(), 0, 1))
            rows.append(dict(run_id="r", member=member, seed=s, step=step, split="true",
                             predictor="agent", role="learner", position=-1,
                             metric=objective.KNOBS[0].metric, value=w, anywhere_rate=alpha))
    return pd.DataFrame(rows)


def _falling(alpha_star):
    """w = 1 / (1 + (alpha / alpha*)^2): 0.5 at alpha*, 1 at alpha = 0."""
    return lambda alpha, step: 1 / (1 + (alpha / alpha_star(step)) ** 2)


def test_alpha_star_is_where_the_weight_crosses_one_half_per_budget():
    table = objective.summary(_table(_falling(lambda step: 0.01 if step == 512 else 0.003)),
                              "agent", samples=300)
    assert list(table.step) == [512, 1024]
    for (_, row), truth in zip(table.iterrows(), (0.01, 0.003)):
        assert row.seeds == 5
        # the grid is x3 apart: the interpolated crossing is within a grid step of the truth
        assert abs(math.log(row.alpha_star / truth)) < math.log(3), row.alpha_star
        assert row.alpha_star_lo <= row.alpha_star <= row.alpha_star_hi
        assert abs(math.log(row.alpha_star_fit / truth)) < 0.3, row.alpha_star_fit
        assert row.falls_monotonically and row.rank_correlation < -0.95
        assert row.weight_at_0 > 0.95 and row.weight_at_max < 0.1


def test_the_bandit_knob_reads_alpha_as_one_minus_the_proxy_rate():
    """Bandits: rho = P(the proxy arm is the best), so alpha = 1 - rho; the implied objective is
    the late proxy pursuit. The same estimators find the same crossing."""
    maze = _table(_falling(lambda step: 0.03), steps=(1024,))
    bandit = maze.assign(proxy_rate=1 - maze.anywhere_rate,
                         metric=objective.KNOBS[1].metric).drop(columns="anywhere_rate")
    assert objective.knob_of(bandit).axis == "proxy_rate"
    frame = objective.weights(bandit, "agent")
    assert sorted(frame.alpha.unique()) == list(ALPHAS)  # 1 - 0.97 is 0.03, not 0.030000000000000027
    table = objective.summary(bandit, "agent", samples=200)
    assert abs(math.log(table.alpha_star.iloc[0] / 0.03)) < math.log(3)
    reference = objective.summary(maze.assign(predictor="bayes_train"), "bayes_train", samples=50)
    assert reference.alpha_star.iloc[0] == pytest.approx(
        objective.summary(maze, "agent", samples=50).alpha_star.iloc[0])


def test_no_alpha_star_where_the_weight_never_falls_below_one_half():
    table = objective.summary(_table(lambda alpha, step: 0.9 - 0.2 * alpha), "agent", samples=100)
    assert table.alpha_star.isna().all() and table.alpha_star_fit.isna().all()
    assert (table.alpha_star_share == 0).all()


def test_a_weight_that_rises_with_alpha_is_not_called_monotone():
    table = objective.summary(_table(lambda alpha, step: 0.2 + 2 * alpha, noise=0.0), "agent",
                              samples=50)
    assert not table.falls_monotonically.any() and (table.rank_correlation > 0.9).all()


def test_a_table_without_the_proxy_weight_or_alpha_is_refused():
    with pytest.raises(ValueError, match="sweep.anywhere_rate with proxy_weight"):
        objective.weights(_table(_falling(lambda s: 0.01)).drop(columns="anywhere_rate"), "agent")


def test_gradient_steps_count_only_the_updates_that_trained():
    """Robust PLR steps its parameters on replay updates only: its gradient steps at an
    evaluation are the chunks' replay shares times their updates, summed; a uniform run's are
    its steps."""
    plr = _table(_falling(lambda s: 0.01), seeds=3, steps=(256, 512)).assign(
        **{objective.CURRICULUM: "plr"})
    uniform = plr.assign(run_id="u", **{objective.CURRICULUM: "uniform"})
    share = {256: 0.25, 512: 0.75}
    replay = plr.drop_duplicates(["member", "step"]).assign(
        split="train", metric=objective.REPLAY, value=lambda f: f.step.map(share))
    frame = objective.weights(pd.concat([plr, replay, uniform]), "agent")
    counted = frame.groupby([objective.CURRICULUM, "step"]).gradient_steps.unique()
    assert list(counted["plr", 256]) == [64.0] and list(counted["plr", 512]) == [256.0]
    assert list(counted["uniform", 512]) == [512.0]
    table = objective.thresholds(frame, [objective.CURRICULUM, "step"], samples=20)
    assert list(table.gradient_steps) == [64.0, 256.0, 256.0, 512.0]
