"""Intervals over seeds (analysis/seeds.py): the t-interval on data with a known answer, n/a below
three seeds, a hierarchical bootstrap whose width follows the spread between seeds, and the
figures' seed bands."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mesaopt.analysis import seeds


def test_t_interval_of_known_values():
    estimate = seeds.over_seeds([1.0, 2.0, 3.0, 4.0, 5.0])
    # mean 3, s = sqrt(2.5), t(0.975, 4) = 2.7764: half-width 2.7764 * 1.5811 / sqrt(5) = 1.9632
    assert estimate.value == pytest.approx(3.0)
    assert (estimate.lo, estimate.hi) == pytest.approx((3 - 1.96324, 3 + 1.96324), abs=1e-4)
    assert estimate.seeds == 5 and estimate.per_seed == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert estimate.covers(3.0) and estimate.above(0.5) and not estimate.above(1.5)


def test_below_three_seeds_the_interval_is_na():
    for values in ([0.4, 0.6], [0.4], [0.4, math.nan, 0.6]):
        estimate = seeds.over_seeds(values)
        assert math.isfinite(estimate.value) and not estimate.has_interval
        assert not estimate.above(-10.0) and not estimate.below(10.0)  # no claim without one
        assert "n/a" in str(estimate)
    assert math.isnan(seeds.over_seeds([]).value)


def test_paired_differences_pair_seeds():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.9, 1.8, 2.9, 3.7])
    estimate = seeds.paired(a, b)
    assert estimate.value == pytest.approx(0.175)
    assert estimate.above(0.0)  # each seed's difference is positive, though the seeds spread
    assert not seeds.over_seeds(a).below(seeds.over_seeds(b).lo)
    with pytest.raises(ValueError, match="pair the same seeds"):
        seeds.paired(a, b[:3])


def test_hierarchical_bootstrap_widens_with_the_spread_between_seeds():
    rng = np.random.default_rng(0)
    widths = []
    for spread in (0.0, 0.5, 2.0):
        offsets = rng.normal(0, spread, 6) if spread else np.zeros(6)
        groups = [offset + rng.normal(0, 1, 200) for offset in offsets]
        estimate = seeds.hierarchical(groups, samples=2000, seed=1)
        assert estimate.value == pytest.approx(np.mean([g.mean() for g in groups]))
        assert estimate.covers(estimate.value)
        widths.append(estimate.hi - estimate.lo)
    assert widths[0] < widths[1] < widths[2]
    # With no spread between seeds: the episode-level interval (2 x 1.96 / sqrt(1200)) widened by
    # sqrt(2), since resampling seeds and then episodes counts the episode noise twice (the
    # two-level bootstrap errs on the wide side)
    assert widths[0] == pytest.approx(math.sqrt(2) * 2 * 1.96 / math.sqrt(1200), rel=0.15)
    assert not seeds.hierarchical([[1.0, 2.0], [3.0]]).has_interval


def test_per_seed_averages_within_a_seed_before_the_interval():
    """Episodes are nested in seeds: 100 rows of seed 0 and 1 of seed 1 weigh the same."""
    frame = pd.DataFrame({"seed": [0] * 100 + [1, 2], "value": [1.0] * 100 + [3.0, 5.0]})
    assert list(seeds.per_seed(frame)) == [1.0, 3.0, 5.0]
    assert seeds.estimate(frame).value == pytest.approx(3.0)


def test_figure_bands_are_seed_intervals():
    from mesaopt.plots import style
    frame = pd.DataFrame({"x": [1] * 6 + [2] * 2, "seed": [0, 0, 1, 1, 2, 2, 0, 1],
                          "value": [0.0, 2.0, 2.0, 2.0, 3.0, 3.0, 5.0, 7.0]})
    band = style.seed_band(frame, "x")
    expected = seeds.over_seeds([1.0, 2.0, 3.0])
    assert band.loc[1, ["mean", "lo", "hi", "seeds"]].tolist() == pytest.approx(
        [expected.value, expected.lo, expected.hi, 3])
    assert band.loc[2, ["lo", "hi", "seeds"]].tolist() == [5.0, 7.0, 2]  # the range of 2 seeds
    assert "range of 2 seeds" in style.band_note(band)


def test_equivalence_needs_a_tight_interval_inside_the_margin():
    tight = [0.001, -0.002, 0.0015, 0.0, -0.001, 0.0005, 0.002, -0.0015]
    assert seeds.equivalent(tight, margin=0.01)
    assert not seeds.equivalent(tight, margin=0.001)          # the margin is narrower than the data
    loose = [0.02, -0.03, 0.025, -0.01, 0.03, -0.02, 0.015, -0.025]
    assert not seeds.over_seeds(loose).above(0) and not seeds.over_seeds(loose).below(0)
    assert not seeds.equivalent(loose, margin=0.01)           # "no difference found" is not this
    assert not seeds.equivalent([0.0, 0.0], margin=1.0)       # two seeds: no claim
