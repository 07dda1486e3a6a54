"""Robust prioritized level replay (PLR-perp, Jiang et al. 2021, "Replay-guided adversarial
environment design"), per member and inside the compiled update (train=ppo, train.curriculum=plr).

A buffer of `plr_buffer` training levels, each with a score (positive value loss: the mean over
the level's live steps of max(GAE advantage, 0), an estimate of the regret of the current policy
there) and the update at which it was last played. Each update is a *replay* update with
probability 1 - `plr_new_rate` once the buffer holds a batch of levels: its levels are drawn from
the buffer with probability (1 - rho) P_score + rho P_stale, P_score proportional to
(1 / rank)^(1 / beta) (rank 1 = the highest score; `plr_temperature` beta) and P_stale to the
updates since a level was last played (`plr_staleness` rho), and the policy is trained on them.
Otherwise new levels of the member's training distribution are played and scored *without* a
gradient step (the robust variant: the policy learns only from replayed, curated levels) and enter
the buffer where they score higher than its lowest. Levels, scores and staleness are arrays in the
member's optimizer state (`TrainState.opt_state`), so they are checkpointed and vmapped with it.
Dimension letters: N buffer slots, L levels of an update (B environments x E episodes).
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class Buffer(NamedTuple):
    levels: Any            # N levels (leading axis N)
    score: jax.Array       # (N,) positive value loss when last played
    played: jax.Array      # (N,) the update at which it was last played
    filled: jax.Array      # (N,) bool: the slot holds a level


def empty(levels_L: Any, size: int) -> Buffer:
    """A buffer of `size` empty slots shaped like the levels `levels_L` (leading axis L)."""
    return Buffer(jax.tree.map(lambda a: jnp.zeros((size, *a.shape[1:]), a.dtype), levels_L),
                  jnp.zeros(size, jnp.float32), jnp.zeros(size, jnp.int32),
                  jnp.zeros(size, bool))


def replay_distribution(buffer: Buffer, now: jax.Array, temperature: float,
                        staleness: float) -> jax.Array:
    """(N,) the probability of drawing each slot: (1 - rho) P_score + rho P_stale over the filled
    slots (rank-based P_score with temperature beta; P_stale proportional to now - played)."""
    masked = jnp.where(buffer.filled, buffer.score, -jnp.inf)
    rank = jnp.empty_like(buffer.played).at[jnp.argsort(-masked)].set(
        jnp.arange(1, masked.shape[0] + 1, dtype=buffer.played.dtype))
    weight = jnp.where(buffer.filled, (1.0 / rank) ** (1.0 / temperature), 0.0)
    by_score = weight / jnp.maximum(weight.sum(), 1e-30)
    age = jnp.where(buffer.filled, (now - buffer.played).astype(jnp.float32), 0.0)
    by_age = jnp.where(age.sum() > 0, age / jnp.maximum(age.sum(), 1e-30),
                       buffer.filled / jnp.maximum(buffer.filled.sum(), 1))
    return (1 - staleness) * by_score + staleness * by_age


def draw(key: jax.Array, buffer: Buffer, now: jax.Array, count: int, temperature: float,
         staleness: float) -> jax.Array:
    """(count,) slots drawn with replacement from the replay distribution."""
    probs = replay_distribution(buffer, now, temperature, staleness)
    return jax.random.choice(key, probs.shape[0], (count,), p=probs)


def episode_scores(advantage_BxT, alive_BxT, first_BxT, episodes: int) -> tuple:
    """((B, E) positive value loss of each environment's e-th episode, (B, E) whether it was
    played): the mean of max(advantage, 0) over the episode's live steps."""
    index_BxT = jnp.cumsum(first_BxT, axis=1) - 1
    member_BxTxE = jax.nn.one_hot(index_BxT, episodes) * alive_BxT[..., None]
    total = jnp.einsum("bt,bte->be", jnp.maximum(advantage_BxT, 0.0), member_BxTxE)
    steps = member_BxTxE.sum(axis=1)
    return total / jnp.maximum(steps, 1.0), steps > 0


def rescore(buffer: Buffer, slots_L: jax.Array, score_L: jax.Array, played_L: jax.Array,
            now: jax.Array) -> Buffer:
    """The buffer after replaying `slots_L`: the played ones get their new score and `now`."""
    where = jnp.where(played_L, slots_L, buffer.score.shape[0])  # out of range: dropped
    return buffer._replace(score=buffer.score.at[where].set(score_L, mode="drop"),
                           played=buffer.played.at[where].set(now, mode="drop"))


def admit(buffer: Buffer, levels_L: Any, score_L: jax.Array, played_L: jax.Array,
          now: jax.Array) -> Buffer:
    """The buffer after new levels were played: of its levels and the played new ones, the
    `N` highest-scoring stay (an empty slot scores below every level; ties keep the older)."""
    size = buffer.score.shape[0]
    score = jnp.concatenate([jnp.where(buffer.filled, buffer.score, -jnp.inf),
                             jnp.where(played_L, score_L, -jnp.inf)])
    keep = jax.lax.top_k(score, size)[1]
    levels = jax.tree.map(lambda old, new: jnp.concatenate([old, new])[keep], buffer.levels,
                          levels_L)
    played = jnp.concatenate([buffer.played, jnp.full(score_L.shape, now, buffer.played.dtype)])
    return Buffer(levels, jnp.where(jnp.isfinite(score[keep]), score[keep], 0.0), played[keep],
                  jnp.isfinite(score[keep]))
