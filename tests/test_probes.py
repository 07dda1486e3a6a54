"""Probe contracts, run for every registered probe on every family it applies to: each probe
measures something, with the right shapes and finite values, jit == no-jit, and the population
equals a per-member loop. One population per family runs all of its probes (compile time)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import SMOKE

from mesaopt import compose, evaluation, registry
from mesaopt.population import state_of

PRESETS = SMOKE  # every family
# One reference beside the probes' needs: the first of these the family offers.
CHEAPEST = ("zero", "random", "chance")
SMALL = {"interpolation": "{per_alpha: 2}",             # options that keep eager evaluation quick
         "layer_probes": "{penalty: 0.1}",              # and its 4-episode regression well posed
         "adapt_mse": "{steps: [0, 1, 3]}",
         "thinking_ticks": "{ticks: [0, 1], noop: true}", "maze_paths": "{episodes: 1}",
         "proxy_weight": "{weights: 3, betas: [1.0, 10.0]}",
         "steering": "{coefficients: [0.0, 1.0], null_directions: 2}"}


def _fitting(family_name):
    module = registry.load("tasks", family_name, "task")
    family = module.build(module.Config())
    return [p for p in registry.available("probes")
            if evaluation.fits(registry.spec("probes", p), family)]


def test_every_probe_applies_to_some_family():
    assert set().union(*map(_fitting, PRESETS)) == set(registry.available("probes"))


@pytest.mark.parametrize("family_name", sorted(PRESETS))
def test_probe_contracts(compose_cfg, family_name):
    probes = _fitting(family_name)
    family = compose.build_family(compose.load_config(compose_cfg(f"experiment={PRESETS[family_name]}")))
    cheapest = next(r for r in CHEAPEST if r in family.references)
    references = sorted({cheapest, *[
        r for p in probes for r in registry.spec("probes", p).needs(family)]})
    options = ", ".join(f"{p}: {SMALL[p]}" for p in probes if p in SMALL)
    cfg = compose.load_config(compose_cfg(
        f"experiment={PRESETS[family_name]}", "logger=none", "sweep.seeds=1", "eval.batch_size=8",
        f"eval.probes=[{','.join(probes)}]", f"eval.references=[{','.join(references)}]",
        "eval.options=null", f"eval.options={{{options}}}"))  # replaced, not merged into a preset's
    family, learner, pop = compose.build(cfg)
    params = pop.init(pop.hparams).params
    eval_set = pop.make_eval_set(pop.hparams)
    records = pop.evaluate(params, eval_set)
    # Every probe measured something, but one whose PREDICTOR_NEEDS the learner lacks measures
    # nothing (the cheapest references have none: no inner loop, no `think`).
    needs = {p: registry.spec("probes", p).predictor_needs for p in probes}
    assert {r.source for r in records} == {
        p for p in probes if all(getattr(learner, n, None) is not None for n in needs[p])}
    for r in records:
        assert r.role == ("learner" if r.predictor == pop.learner_name else "reference")
        assert r.predictor in (pop.learner_name, *references)
        assert r.value.shape[0] == pop.size and r.value.ndim in (1, 2), (r.metric, r.value.shape)
        # A probe declares the metrics that may be NaN, and why (MAY_BE_NAN: metric -> reason).
        may_be_nan = registry.spec("probes", r.source).may_be_nan
        defined = r.value[np.isfinite(r.value)] if r.metric in may_be_nan else r.value
        assert np.all(np.isfinite(defined)), (r.source, r.split, r.predictor, r.metric)
    # The compiled population's member equals the member evaluated eagerly, one at a time: jit ==
    # eager and vmap == a loop at once (one compilation less than checking them apart).
    member = pop.size - 1
    member_set, member_params = state_of(eval_set, member), state_of(params, member)
    eager = pop.evaluator.member_evaluate(pop.evaluator.probes, member_params, member_set)
    key = lambda r: (r.source, r.split, r.predictor, r.metric)
    assert [key(r) for r in eager] == [key(r) for r in records]
    for one, population in zip(eager, records):
        np.testing.assert_allclose(population.value[member], one.value, rtol=1e-4, atol=1e-6,
                                   err_msg=str(key(one)))
