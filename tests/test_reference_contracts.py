"""The reference contract, over every (family, reference) pair the registry allows: each family at
its smoke preset's settings, each of its references and optional references. A reference builds,
takes its parameters from a member's context (a pool of the family's own tasks, M, the noise and
the axes' defaults), and then
- supervised: predicts one value (or label logits) per context position, finite, the same under
  jit(vmap) as alone;
- rl: acts for a whole episode with finite action probabilities, the same twice given one key."""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import SMOKE

from mesaopt import compose, references, tasks
from mesaopt.references import Context

NUM_TASKS, POOL = 3, 4
# the tuned gradient-descent baselines at a small size: the contract, not their tuning, is tested
SMALL = {name: {"steps": 1, "hidden": [8], "learning_rates": [0.01, 0.1]}
         for name in ("sgd", "adam")}


@functools.cache
def _family(name):
    return compose.build_family(compose.load_config(compose.compose_config(f"experiment={SMOKE[name]}")))


def _pairs():
    from mesaopt import registry
    for name in sorted(SMOKE):
        module = registry.load("tasks", name, "task")
        family = module.build(module.Config())
        for reference in (*family.references, *family.optional_references):
            yield name, reference


def _context(family, key) -> Context:
    noise = jnp.float32(0.1)
    axes = {a.name: jnp.float32(a.default) for a in family.axes}
    if family.setting == "rl":
        pool = tasks.env_batch_sampler(family, noise, axes)(jax.random.split(key, POOL))
    else:
        pool = tasks.task_pool(family.sample_task, key, POOL)
    if family.setting == "rl":
        return Context(pool, jnp.asarray(NUM_TASKS), noise, axes)
    return Context(pool, jnp.asarray(NUM_TASKS), noise, pool_key=key)


@pytest.mark.parametrize("family_name, name", list(_pairs()))
def test_every_reference_keeps_the_contract_on_every_family(family_name, name):
    family = _family(family_name)
    if name not in (*family.references, *family.optional_references):
        pytest.skip(f"{name} is not offered at {SMOKE[family_name]}'s settings")
    reference = references.build_selected(family, (name,), SMALL)[name]
    params = reference.init(_context(family, jax.random.key(0)))
    if family.setting == "rl":
        task = tasks.env_batch_sampler(family, jnp.float32(0.1), {
            a.name: jnp.float32(a.default) for a in family.axes})(jax.random.split(
                jax.random.key(1), 1))
        task = jax.tree.map(lambda a: a[0], task)
        play = lambda k: tasks.rollout(family, reference, params, task, k)  # noqa: E731
        same_key = jnp.stack([jax.random.key_data(jax.random.key(2))] * 2)
        both = jax.jit(jax.vmap(play))(jax.random.wrap_key_data(same_key))
        assert both.logits_A.shape == (2, family.horizon, family.num_actions)
        assert bool(jnp.all(jnp.isfinite(jax.nn.softmax(both.logits_A))))
        np.testing.assert_array_equal(both.action[0], both.action[1])  # the key decides
        return
    _, episodes = tasks.sample_labeled_batch(family, jax.random.key(1), jax.random.key(0),
                                             jnp.asarray(NUM_TASKS), jnp.float32(0.1), 2)
    alone = reference.apply(params, jax.tree.map(lambda a: a[0], episodes))
    together = jax.jit(jax.vmap(reference.apply, in_axes=(None, 0)))(params, episodes)
    assert alone.shape[0] == family.context_len and bool(jnp.all(jnp.isfinite(together)))
    if family.classes is not None:
        assert alone.shape == (family.context_len, family.classes.num_labels)
    np.testing.assert_allclose(together[0], alone, rtol=1e-4, atol=1e-4)
