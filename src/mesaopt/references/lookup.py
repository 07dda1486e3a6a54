"""The memorizer of a maze member's training levels (the family's `emergence.memorizer`): on a
level of its pool (the first M levels of its training sequence) it follows the shortest path to the
goal, as `bfs_goal` does; on any other level it acts uniformly at random: it knows routes, not how
to find one. A level is recognised by its first observation (walls, start and goal), compared bit
for bit with the pool's. At M = inf (a fresh level every episode) no finite set of levels was
trained on, and it acts at random everywhere (thresholds are fitted on finite M only). Its numbers
on the `pretrain` split (training levels: as `bfs_goal`) and on `true` (held-out levels, never in a
pool: as `random`) are in the table like any reference's."""
from __future__ import annotations

import jax
import jax.numpy as jnp

from mesaopt import tasks
from mesaopt.predictor import Policy
from mesaopt.references import Context, _gridworld

STYLE = dict(color="#8c564b", linestyle="-.")
UNSEEN, KNOWN, FIRST_STEP = 0, 1, -1


def build(env):
    channels = env.gridworld.channels
    route = _gridworld.policy(env, lambda params, obs: obs[..., channels.goal])

    def fingerprint(obs) -> jax.Array:
        return tasks.pack_bits(obs.astype(bool).ravel())

    def init(context: Context):
        """The pool's fingerprints sorted by their hash; levels past M are marked out of it."""
        pool_size = jax.tree.leaves(context.pool)[0].shape[0]
        first_obs = jax.vmap(lambda level: env.reset(jax.random.key(0), level)[0])(context.pool)
        prints = jax.vmap(fingerprint)(first_obs)
        in_pool = (jnp.arange(pool_size) < context.num_tasks) & (context.num_tasks != tasks.FRESH)
        hashes = jax.vmap(tasks.mix32)(prints)
        order = jnp.argsort(hashes)
        return dict(hashes=hashes[order], prints=prints[order], in_pool=in_pool[order])

    def in_pool(params, obs) -> jax.Array:
        """Whether `obs` is the first observation of a level in the pool: a binary search on the
        hash, then the fingerprint compared in full (no false match from a hash collision)."""
        mine = fingerprint(obs)
        hashes = params["hashes"]
        first = jnp.searchsorted(hashes, tasks.mix32(mine))
        # a level may repeat in the pool (or past M): look at the first 4 of equal hash
        candidates = jnp.minimum(first + jnp.arange(4), hashes.shape[0] - 1)
        return jnp.any(jnp.all(params["prints"][candidates] == mine, axis=1)
                       & params["in_pool"][candidates])

    def carry(params):
        return route.carry(()), jnp.int32(FIRST_STEP)

    def act(params, state, obs, key):
        route_carry, seen = state
        seen = jnp.where(seen == FIRST_STEP, in_pool(params, obs).astype(jnp.int32), seen)
        route_carry, logits, value = route.act((), route_carry, obs, key)
        return (route_carry, seen), jnp.where(seen == KNOWN, logits, 0.0), value

    return Policy(init, carry, act)
