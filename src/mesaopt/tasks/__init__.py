"""Task families. One module per family; each exposes `Config` and `build(cfg)` returning a
`Family` (supervised episodes) or an `Env` (reinforcement learning, gymnax-style reset/step).

A family *declares* what generic code needs to know (shapes, the prior parameters references use,
its dynamic sweep axes, which references and figures apply, and capabilities such as a
`Gridworld` record or `linear_targets`); generic code never reads a family's config: `Family` and
`Env` do not carry it.

Task diversity is generic: a finite pool of M tasks is the first M of one key-determined sequence
(task i is drawn from `fold_in(pool_key, i)`, so pools are nested across M), and M = `FRESH` (0)
draws a fresh task every time. M is an ordinary traced integer, so members with different M train
in one compiled program.

This module holds the contracts (`Family`, `Env`, `Episode`, `Transition`, ...); the samplers
(pools, draws at M, held-out regions) are in `tasks/sampling.py` and the rollout engine in
`tasks/episodes.py`, every name of both re-exported here (`tasks.draw_task`, `tasks.rollout`).
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

FRESH = 0  # the traced value of num_tasks that means M = infinity


class Axis(NamedTuple):
    """A dynamic hyperparameter declared by a family or a training method: a list in the sweep
    config (`sweep.<name>`), traced per member (`hparams.axes[name]`), a column of the table."""
    name: str
    default: float          # the value when the sweep leaves the axis null
    low: float              # allowed range, inclusive
    high: float
    true_value: float | None = None  # families: the value of the held-out ("true") split


class Episode(NamedTuple):
    """One supervised episode: K inputs and targets (a batch adds a leading B axis)."""
    x_KxD: jax.Array
    y_K: jax.Array


class Emergence(NamedTuple):
    """How a family scores the emergence of learned search (probes/emergence_score.py): the
    reference best for a member's training pool (the *memorizer*: dMMSE, `bayes_train`,
    `lookup`) and the one best for the true task distribution (the *generalizer*: ridge, the
    grid posterior, `bayes`, `bfs_goal`); both among the family's references."""
    memorizer: str
    generalizer: str
    # What the score's distance D compares: the two predictors' "predictions" (regression: the
    # mean squared difference per target dimension) or their "performance", the number the
    # setting's driver judges every predictor by (classification: accuracy; rl: mean return),
    # where the memorizer's outputs on held-out tasks are arbitrary (probes/emergence_score.py).
    compare: str = "predictions"


class Classes(NamedTuple):
    """What a classification family declares: targets are labels 0 .. L-1 (`y_K` int32),
    predictors output (K, L) label logits (references: log-probabilities), the loss is the
    cross-entropy."""
    num_labels: int        # L
    # Training loss and probes on the last position only (the query of Chan et al.'s and Reddy's
    # sequences), else on every position (GPICL's sequences predict every label).
    query_only: bool = False
    # (pool, num_tasks, x_D) -> (L,) probabilities of x's label given only the member's training
    # tasks, no context: the in-weights oracle (reference `iw_oracle`), or None.
    in_weights: Callable | None = None


class Family(NamedTuple):
    """A supervised task family: pure functions of PRNG keys, and what it declares."""
    name: str                    # the family's registry name (task=<name>)
    sample_task: Callable[[jax.Array], Any]                      # key -> task pytree
    sample_episode: Callable[[jax.Array, Any, jax.Array], Episode]  # key, task, noise_std -> episode
    context_len: int             # K, pairs per episode
    input_dim: int               # D, size of each x
    target_dim: int              # errors are reported per dimension (MSE / target_dim)
    references: tuple[str, ...]  # reference predictors that apply to this family
    figures: tuple[str, ...]     # drawn (and logged) at the end of every run
    max_pool_size: int           # largest finite task diversity M
    prior_std: float | None = None  # tau of a Gaussian task prior w ~ N(0, tau^2 I), if it has one
    # Targets linear in the inputs, y = w . x + noise, with the task w (the linear references
    # and the probes that read the ridge path or GD iterates apply).
    linear_targets: bool = False
    axes: tuple[Axis, ...] = ()
    optional_references: tuple[str, ...] = ()  # apply too, run only when eval.references names them
    setting: str = "supervised"
    # Families whose targets are not linear in x: (task, x_KxD) -> noiseless y_K, and a grid of
    # tasks covering the prior (stacked), for posterior-mean references (dmmse).
    task_mean: Callable[[Any, jax.Array], jax.Array] | None = None
    prior_grid: Callable[[], Any] | None = None
    # False for a finite set of discrete tasks (digits' class pairs): fresh draws repeat, and a
    # mixture of two tasks is not a task (no interpolation probe).
    continuous_tasks: bool = True
    # Families whose data is finite (digits' images): key -> a task of the held-out ("true")
    # split, whose episodes use only data that training episodes never do.
    heldout_task: Callable[[jax.Array], Any] | None = None
    emergence: Emergence | None = None  # its memorizer and generalizer, if it declares them
    classes: Classes | None = None      # classification families (labels, cross-entropy)
    # Families whose episodes mix several tasks of the pool (clusters: an episode's classes):
    # (key, pool_key, num_tasks, axes, split) -> (the episode's tasks, Episode), drawn instead of
    # one task and `sample_episode`; axes: name -> the member's value of each declared axis;
    # split is "pretrain" (the member's training distribution: training and its evaluation),
    # "true" or one of `splits`.
    draw_episode: Callable | None = None
    splits: tuple[str, ...] = ()        # evaluation splits the family draws beside pretrain, true


class Layout(NamedTuple):
    """A gridworld level as probes and planning references read it: walls, squares (row, col)."""
    walls: jax.Array   # (H, W) bool
    start: jax.Array   # (2,) int32
    goal: jax.Array    # (2,) the true goal
    proxy: jax.Array   # (2,) the proxy cell that coincides with the goal in training levels
    moves: jax.Array   # (A, 2) each action's step; a move into a wall stays put


class GridChannels(NamedTuple):
    """Which channel of a gridworld's (H, W, C) boolean observation shows what."""
    walls: int = 0
    agent: int = 1
    goal: int = 2


# The per-step `info` of a gridworld (each a scalar per step): reaching the goal, reaching the
# proxy cell for the first time, and the square the step started from (row * W + col; a name
# starting with "_" is data for probes, not a training metric).
GOAL_REACHED, PROXY_REACHED, SQUARE = "goal_reached", "proxy_reached", "_square"
GRIDWORLD_INFO = (GOAL_REACHED, PROXY_REACHED, SQUARE)


class Gridworld(NamedTuple):
    """What a gridworld with a goal and a proxy target declares (mazes); probes and planning
    references read levels through it, never the env's internals."""
    layout: Callable[[Any], Layout]                # task -> its level
    reward_at: Callable[[jax.Array], jax.Array]    # steps to the goal -> reward (optimal returns)
    # a member's axis values -> (H, W) bool: the region its training rewarded beside the goal
    # (mazes: the top-right k x k cells)
    proxy_region: Callable[[dict], jax.Array]
    moves: jax.Array                               # (A, 2) each action's step (row, col)
    channels: GridChannels = GridChannels()        # what the observation's channels show
    info: tuple[str, ...] = GRIDWORLD_INFO         # the info keys every step reports
    resized: Callable[[int], Any] | None = None   # n -> the same family's Env at size n (cells)


class Bandit(NamedTuple):
    """What a stateless multi-armed bandit declares; its references read observations through it."""
    reward_model: str   # "bernoulli" | "gaussian" | "dependent": the likelihood references solve
    # obs -> ((A,) one-hot of the arm pulled at the previous step, zeros before the first; its
    # reward)
    last_pull: Callable[[jax.Array], tuple[jax.Array, jax.Array]]


class Env(NamedTuple):
    """A reinforcement-learning task family with gymnax's functional API.

    A task is the environment's params, drawn by `sample_task(key, values)` where `values` maps
    "noise_std" and each of the env's declared `axes` to the member's value.
    `reset(key, task) -> (obs, state)` and `step(key, state, action, task) -> (obs, state, reward,
    done, info)` are pure; `info` is a dict of per-step arrays (e.g. "regret" where the env knows
    it). Episodes last at most `horizon` steps; after `done` a rollout masks the remaining steps.
    """
    name: str                    # the family's registry name (task=<name>)
    sample_task: Callable[[jax.Array, dict], Any]
    reset: Callable
    step: Callable
    num_actions: int
    obs_shape: tuple[int, ...]
    horizon: int                 # steps per episode at most
    references: tuple[str, ...]
    figures: tuple[str, ...]
    max_pool_size: int
    axes: tuple[Axis, ...] = ()
    # Stateless environments (bandits) know every action's expected reward: task -> (A,).
    action_values: Callable[[Any], jax.Array] | None = None
    proxy_action: int | None = None  # the action a proxy knob makes best in training tasks
    optional_references: tuple[str, ...] = ()
    setting: str = "rl"
    bandit: Bandit | None = None  # stateless multi-armed bandits
    # Gridworlds with a goal and a proxy target (mazes): levels, channels and info (`Gridworld`).
    gridworld: Gridworld | None = None
    # Families with a finite level space (mazes): task -> uint32 id of what makes a level distinct
    # (the maze layout). Levels whose id is in the held-out region are never trained on.
    level_id: Callable[[Any], jax.Array] | None = None
    emergence: Emergence | None = None  # its memorizer and generalizer, if it declares them


def target_width(family: Family) -> int:
    """How wide a target is as a token: L (a one-hot label) for classification, else 1."""
    return family.classes.num_labels if family.classes is not None else 1


def encode_targets(family: Family, y_K: jax.Array) -> jax.Array:
    """(K,) targets -> (K, target_width): one-hot labels, or the value itself."""
    if family.classes is not None:
        return jax.nn.one_hot(y_K, family.classes.num_labels)
    return y_K[:, None]


def scored_positions(family: Family) -> slice:
    """The positions losses and probes score: the query (last) only for a `query_only`
    classification family, else every one."""
    query_only = family.classes is not None and family.classes.query_only
    return slice(-1, None) if query_only else slice(None)


def prediction_loss(family: Family, preds: jax.Array, y: jax.Array) -> jax.Array:
    """The training loss of predictions for targets (any leading axes, positions last): the mean
    cross-entropy of label logits (..., K, L) on the scored positions (classification), else the
    mean squared error."""
    if family.classes is None:
        return jnp.mean((preds - y) ** 2)
    at = scored_positions(family)
    log_probs = jax.nn.log_softmax(preds[..., at, :], axis=-1)
    return -jnp.mean(jnp.take_along_axis(log_probs, y[..., at, None], axis=-1))


class Transition(NamedTuple):
    """One step of a rollout (a rollout stacks them on a leading T axis)."""
    logits_A: jax.Array
    value: jax.Array
    action: jax.Array
    reward: jax.Array      # 0 on steps that are not live
    alive: jax.Array       # live: the env was in an episode at this step
    done: jax.Array        # an episode ended with this step
    info: dict
    obs: Any = None        # the observation acted on (keep_obs=True)
    first: Any = None      # this step starts an episode (the agent's memory was reset before it)


# The samplers and the rollout engine live in their own modules; every name is `tasks.<name>`.
HELPERS = ("sampling", "episodes")  # modules here that are not task families
from mesaopt.tasks.sampling import (  # noqa: E402, F401
    pool_task, task_pool, draw_task, draw_tasks, task_key, sample_labeled_batch, sample_batch,
    HELDOUT_MODULUS, in_heldout_region, pack_bits, mix32, region_sampler, region_batch_sampler,
    env_sampler, env_batch_sampler, true_axes)
from mesaopt.tasks.episodes import (  # noqa: E402, F401
    tree_where, rollout, episode_start, run_episodes)
