"""Shortest-path policies on gridworld levels read from the full boolean view (the channels the
env declares in `Env.gridworld`): breadth-first distances to a target square, and the action(s)
that go down them."""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from mesaopt.algorithms import gridworld
from mesaopt.predictor import Policy


def square_of(channel) -> jax.Array:
    """(2,) the (first) True square of a (H, W) boolean channel."""
    flat = jnp.argmax(channel.ravel())
    return jnp.stack([flat // channel.shape[1], flat % channel.shape[1]]).astype(jnp.int32)


def greedy_logits(distance_HxW, walls, square, moves):
    """Uniform over the actions whose next square is closest to the target; -inf elsewhere."""
    nxt = gridworld.next_squares(walls, square, moves)
    d_A = distance_HxW[nxt[:, 0], nxt[:, 1]]
    return jnp.where(d_A <= jnp.min(d_A), 0.0, -jnp.inf)


def policy(env, target: Callable, init: Callable = lambda context: ()) -> Policy:
    """Follows the shortest path to the nearest square of `target(params, obs) -> (H, W) bool`;
    distances are computed once, on the first observation, and carried. `init(context)` gives
    the params (e.g. a member's proxy region)."""
    moves, channels = env.gridworld.moves, env.gridworld.channels

    def carry(params):
        size = env.obs_shape[0]
        return jnp.full((size, size), -1, jnp.int32)

    def act(params, distance_HxW, obs, key):
        walls = obs[..., channels.walls]
        distance_HxW = jax.lax.cond(distance_HxW[0, 0] < 0,
                                    lambda: gridworld.distances_from(walls, target(params, obs)),
                                    lambda: distance_HxW)
        return distance_HxW, greedy_logits(distance_HxW, walls, square_of(obs[..., channels.agent]), moves), \
            jnp.zeros(())

    return Policy(init, carry, act)

