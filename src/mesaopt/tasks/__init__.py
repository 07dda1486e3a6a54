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


def pool_task(sample_task: Callable, pool_key: jax.Array, index: jax.Array) -> Any:
    """Task number `index` of the member's fixed task sequence (`sample_task`: key -> task)."""
    return sample_task(jax.random.fold_in(pool_key, index))


def task_pool(sample_task: Callable, pool_key: jax.Array, size: int) -> Any:
    """The first `size` tasks of the sequence, stacked on a leading axis."""
    return jax.vmap(lambda i: pool_task(sample_task, pool_key, i))(jnp.arange(size))


def draw_task(sample_task: Callable, key: jax.Array, pool_key: jax.Array,
              num_tasks: jax.Array, index: jax.Array | None = None) -> Any:
    """A task uniformly from the first `num_tasks` of the pool (or task `index` of it, where
    given), or a fresh one if num_tasks == FRESH. The key is chosen before the task is drawn:
    one draw, not both (under vmap a branch on M would compute both)."""
    return sample_task(task_key(key, pool_key, num_tasks, index))


def draw_tasks(sample_tasks: Callable, keys_N: jax.Array, pool_key: jax.Array,
               num_tasks: jax.Array) -> Any:
    """N tasks, task i the one `draw_task` draws from key i, with `sample_tasks` (keys (N,) ->
    N tasks, e.g. `env_batch_sampler`'s) drawing them all at once."""
    return sample_tasks(jax.vmap(lambda k: task_key(k, pool_key, num_tasks))(keys_N))


def task_key(key: jax.Array, pool_key: jax.Array, num_tasks: jax.Array,
             index: jax.Array | None = None) -> jax.Array:
    """The key `draw_task` samples its task from: the pool's key of a uniform index below
    `num_tasks` (or of `index`), or a fresh key if num_tasks == FRESH."""
    index_key, fresh_key = jax.random.split(key)
    if index is None:
        index = jax.random.randint(index_key, (), 0, jnp.maximum(num_tasks, 1))
    pooled_key = jax.random.fold_in(pool_key, index)
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    data = jax.random.key_data if typed else (lambda k: k)
    chosen = jnp.where(num_tasks == FRESH, data(fresh_key), data(pooled_key))
    return jax.random.wrap_key_data(chosen) if typed else chosen


def sample_labeled_batch(family: Family, key: jax.Array, pool_key: jax.Array,
                         num_tasks: jax.Array, noise_std: jax.Array, batch_size: int,
                         held_out: bool = False, split: str | None = None,
                         axes: dict | None = None) -> tuple:
    """(tasks, episodes): B episodes, each on its own task drawn by `draw_task` (with
    `held_out`, fresh tasks of the family's held-out split where it declares one), and the
    tasks. A family with `draw_episode` draws each episode's tasks itself, for `split` (default
    "true" with `held_out`, else "pretrain") at the member's values of its axes (`axes`)."""
    if family.draw_episode is not None:
        split = split or ("true" if held_out else "pretrain")
        values = {a.name: (axes or {}).get(a.name, a.default) for a in family.axes}
        return jax.vmap(lambda k: family.draw_episode(k, pool_key, num_tasks, values, split))(
            jax.random.split(key, batch_size))
    sample = (family.heldout_task if held_out and family.heldout_task is not None
              else family.sample_task)

    def one(k):
        task_key, episode_key = jax.random.split(k)
        task = draw_task(sample, task_key, pool_key, num_tasks)
        return task, family.sample_episode(episode_key, task, noise_std)
    return jax.vmap(one)(jax.random.split(key, batch_size))


def sample_batch(family: Family, key: jax.Array, pool_key: jax.Array, num_tasks: jax.Array,
                 noise_std: jax.Array, batch_size: int, axes: dict | None = None) -> Episode:
    """A batch of B training episodes, each on its own task drawn by `draw_task`."""
    return sample_labeled_batch(family, key, pool_key, num_tasks, noise_std, batch_size,
                                axes=axes)[1]


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


# Held-out levels of a finite level space: a level whose id is 0 modulo HELDOUT_MODULUS lies in
# the reserved region. Training (the pool at any M, and fresh levels at M = inf) draws only
# outside it, the held-out ("true") split only inside it, so no member ever trains on a held-out
# level, at any M and any step.
HELDOUT_MODULUS = 8


def in_heldout_region(level_id: jax.Array) -> jax.Array:
    return level_id % HELDOUT_MODULUS == 0


def pack_bits(bits: jax.Array) -> jax.Array:
    """A flat boolean vector as uint32 words (32 bits each, zero-padded)."""
    bits = jnp.concatenate([bits, jnp.zeros((-bits.shape[0]) % 32, bool)])
    return jnp.sum(bits.reshape(-1, 32).astype(jnp.uint32) << jnp.arange(32, dtype=jnp.uint32),
                   axis=1)


def mix32(words: jax.Array) -> jax.Array:
    """A uint32 hash of a vector of uint32 words (FNV-1a over the words, murmur3's finalizer)."""
    def step(h, w):
        return (h ^ w) * jnp.uint32(0x01000193), None
    h = jax.lax.scan(step, jnp.uint32(0x811C9DC5), words.astype(jnp.uint32))[0]
    h = (h ^ (h >> 16)) * jnp.uint32(0x85EBCA6B)
    h = (h ^ (h >> 13)) * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def region_sampler(sample: Callable, level_id: Callable, held_out: bool) -> Callable:
    """key -> a task of `sample` inside (held_out) or outside the held-out region: candidates
    from fold_in(key, 0), fold_in(key, 1), ... until one falls on the wanted side."""
    def draw(key):
        def wrong_side(state):
            return in_heldout_region(level_id(state[1])) != held_out

        def next_candidate(state):
            return state[0] + 1, sample(jax.random.fold_in(key, state[0] + 1))
        return jax.lax.while_loop(wrong_side, next_candidate,
                                  (jnp.int32(0), sample(jax.random.fold_in(key, 0))))[1]
    return draw


def region_batch_sampler(sample: Callable, level_id: Callable, held_out: bool) -> Callable:
    """keys (N,) -> N tasks, task i the one `region_sampler` draws from key i (the same tasks),
    with less work than vmapping it: under vmap every key's loop would run as long as the
    unluckiest key's, drawing N candidates a round. Here the first candidates of all keys are
    drawn at once, then rounds draw the next candidate only for keys still on the wrong side, a
    compact batch of at most ceil(N / HELDOUT_MODULUS) of them (the share a training draw rejects;
    all N for the held-out side, which rejects most)."""
    def draw(keys_N):
        n = keys_N.shape[0]
        size = n if held_out else -(-n // HELDOUT_MODULUS)
        candidate = jax.vmap(lambda key, j: sample(jax.random.fold_in(key, j)))
        wrong_side = jax.vmap(lambda task: in_heldout_region(level_id(task)) != held_out)

        def next_round(state):
            tasks_N, tries_N, pending_N = state
            slots = jnp.nonzero(pending_N, size=size, fill_value=n)[0]  # n: no slot (dropped)
            inside = jnp.minimum(slots, n - 1)
            tries = tries_N[inside] + 1
            drawn = candidate(keys_N[inside], tries)
            put = lambda a, new: a.at[slots].set(new, mode="drop")  # noqa: E731
            return (jax.tree.map(put, tasks_N, drawn), put(tries_N, tries),
                    put(pending_N, wrong_side(drawn)))

        first = candidate(keys_N, jnp.zeros(n, jnp.int32))
        return jax.lax.while_loop(lambda state: jnp.any(state[2]), next_round,
                                  (first, jnp.zeros(n, jnp.int32), wrong_side(first)))[0]
    return draw


def env_sampler(env: Env, noise_std: jax.Array, axes: dict, held_out: bool = False) -> Callable:
    """key -> task of an environment at a member's noise and values of the env's axes; for an env
    with a finite level space, from the training region (default) or the held-out region."""
    sample = _value_sampler(env, noise_std, axes)
    if env.level_id is None:
        return sample
    return region_sampler(sample, env.level_id, held_out)


def env_batch_sampler(env: Env, noise_std: jax.Array, axes: dict,
                      held_out: bool = False) -> Callable:
    """keys (N,) -> N tasks, task i the one `env_sampler` draws from key i, drawn at once."""
    sample = _value_sampler(env, noise_std, axes)
    if env.level_id is None:
        return jax.vmap(sample)
    return region_batch_sampler(sample, env.level_id, held_out)


def _value_sampler(env: Env, noise_std: jax.Array, axes: dict) -> Callable:
    values = {"noise_std": noise_std, **{a.name: axes[a.name] for a in env.axes}}
    return lambda key: env.sample_task(key, values)


def true_axes(env: Env) -> dict:
    """The env's axes at their held-out ("true" split) values."""
    return {a.name: jnp.asarray(a.true_value, jnp.float32) for a in env.axes}


def tree_where(flag: jax.Array, a: Any, b: Any) -> Any:
    """Leaf by leaf, `a` where `flag` else `b` (e.g. a fresh agent memory where an episode
    starts)."""
    return jax.tree.map(lambda x, y: jnp.where(flag, x, y), a, b)


def rollout(env: Env, policy, params, task: Any, key: jax.Array,
            keep_obs: bool = False) -> Transition:
    """One episode of `policy` on `task`, `env.horizon` steps long: every step's logits, value,
    sampled action and reward (and observation, with keep_obs); steps after the episode ended are
    marked not alive."""
    return run_episodes(env, policy, params, jax.tree.map(lambda a: a[None], task), key,
                        env.horizon, keep_obs)[0]


def episode_start(policy, params, fresh_E: Any = None) -> Callable[[jax.Array], Any]:
    """e -> the agent's memory at the start of episode e: `fresh_E[e]` where given (leading E
    axis, e.g. each episode with its own thinking ticks), else `policy.carry(params)`."""
    if fresh_E is None:
        fresh = policy.carry(params)
        return lambda e: fresh
    return lambda e: jax.tree.map(lambda a: a[e], fresh_E)


def run_episodes(env: Env, policy, params, tasks_E: Any, key: jax.Array, num_steps: int,
                 keep_obs: bool = False, fresh_E: Any = None) -> tuple[Transition, tuple]:
    """`num_steps` steps of `policy` in one environment that resets itself: when an episode ends,
    the next begins on the next of the E tasks (leading axis of `tasks_E`), with the agent's
    memory reset. After the E-th episode ends the remaining steps are not live (masked). The last
    episode may be cut by `num_steps`; (trajectory, (carry, obs, alive) after the last step) lets
    a learner bootstrap it. With E = 1 and `env.horizon` steps: one whole episode (`rollout`).

    `fresh_E` (optional, leading E axis): the agent's memory at the start of each episode
    (e.g. with that episode's thinking ticks); default `policy.carry(params)` for every episode.
    Every step's keys come from `fold_in(loop_key, t)`; episode e > 0 resets with
    `fold_in(reset_key, e)`."""
    num_episodes = jax.tree.leaves(tasks_E)[0].shape[0]
    reset_key, loop_key = jax.random.split(key)
    task_of = lambda e: jax.tree.map(lambda a: a[e], tasks_E)  # noqa: E731
    obs, state = env.reset(reset_key, task_of(0))
    # Every later episode's start, computed at once before the loop (not reset at every step
    # and selected where an episode ended): e > 0 resets with fold_in(reset_key, e).
    resets = jax.vmap(lambda e: env.reset(jax.random.fold_in(reset_key, e), task_of(e)))(
        jnp.arange(num_episodes)) if num_episodes > 1 else None
    fresh_of = episode_start(policy, params, fresh_E)

    def step(loop, t):
        carry, obs, state, episode, alive, first = loop
        act_key, sample_key, env_key = jax.random.split(jax.random.fold_in(loop_key, t), 3)
        carry = tree_where(first, fresh_of(episode), carry)
        carry, logits_A, value = policy.act(params, carry, obs, act_key)
        action = jax.random.categorical(sample_key, logits_A)
        task = task_of(episode)
        next_obs, next_state, reward, done, info = env.step(env_key, state, action, task)
        ended = alive & done
        transition = Transition(logits_A, value, action, jnp.where(alive, reward, 0.0), alive,
                                ended, info, obs if keep_obs else None, first)
        if num_episodes > 1:
            restart = ended & (episode < num_episodes - 1)
            episode = episode + restart
            next_obs, next_state = tree_where(restart, jax.tree.map(lambda a: a[episode], resets),
                                              (next_obs, next_state))
        else:
            restart = jnp.bool_(False)
        alive = alive & ~(ended & ~restart)
        return (carry, next_obs, next_state, episode, alive, restart), transition

    initial = (fresh_of(0), obs, state, jnp.int32(0), jnp.bool_(True), jnp.bool_(True))
    (carry, obs, _, episode, alive, first), trajectory = jax.lax.scan(step, initial,
                                                                      jnp.arange(num_steps))
    return trajectory, (tree_where(first, fresh_of(episode), carry), obs, alive)
