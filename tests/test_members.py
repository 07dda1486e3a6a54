"""Member i of a population equals the single run with the same key, for every training method
the registry holds, each on a small config that uses it (a method without one fails here)."""
from __future__ import annotations

from functools import partial

import jax
import numpy as np
import pytest

from mesaopt import compose, registry
from mesaopt.population import state_of

# method -> the overrides of a small population it trains: for supervised, a2c and ppo the
# populations other tests compile (test_population, test_rl, test_ppo), which the session's
# compilation cache then holds
CONFIGS = {
    "supervised": ("experiment=smoke", "sweep.num_tasks=[1,4,null]",
                   "sweep.learning_rate=[0.001,0.003]", "sweep.noise_std=[0.25,0.5]"),
    "a2c": ("experiment=bandit_smoke", "sweep.entropy_coef=[0.01,0.1]",
            "sweep.learning_rate=[0.003,0.01]"),
    "ppo": ("experiment=maze_smoke",),
    "reptile": ("experiment=maml_smoke", "train=reptile", "sweep.num_tasks=[8,null]",
                "sweep.seeds=2", "train.steps=2", "eval.every=1", "train.warmup_steps=0"),
    "pes": ("experiment=maml_smoke", "learner=lopt", "train=pes", "learner.hidden=[4]",
            "train.batch_size=4", "train.horizon=4", "train.truncation=2",
            "sweep.num_tasks=[8,null]", "sweep.seeds=2", "train.steps=2", "eval.every=1",
            "train.warmup_steps=0"),
}


def test_every_training_method_is_checked_here():
    assert set(CONFIGS) == set(registry.available("train"))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_member_equals_the_single_run_with_the_same_key(compose_cfg, name):
    cfg = compose.load_config(compose_cfg(*CONFIGS[name], "logger=none"))
    family, learner, pop = compose.build(cfg)
    assert cfg.train.name == name and pop.size >= 4
    state, first = pop.train_chunk(pop.init(pop.hparams), pop.hparams)
    state, second = pop.train_chunk(state, pop.hparams)
    method = registry.spec("train", name)
    init = jax.jit(partial(method.init_state, family, learner, cfg.train))
    chunk = jax.jit(partial(method.train_chunk, family, learner, cfg.train,
                            pop.chunk_steps))
    for member in (0, pop.size - 1):
        hparams = pop.member(member)
        alone, mine_first = chunk(init(hparams), hparams)
        alone, mine_second = chunk(alone, hparams)
        for mine, theirs in ((mine_first, first), (mine_second, second)):
            assert mine, "the method returned no metrics"
            for metric, values in mine.items():
                np.testing.assert_allclose(values, theirs[metric][member], rtol=1e-4, atol=1e-5,
                                           err_msg=f"{name} member {member} {metric}")
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5),
                     alone.params, state_of(state, member).params)

