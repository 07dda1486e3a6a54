"""Reference algorithms a learner is compared with. Same `apply(params, episode)` as learners.

Each module exposes `build(family)`: a `Predictor` for supervised families, a `Policy` for
environments; `init(context)` turns a member's `Context` (its task pool, diversity, noise and the
values of the family's axes) into the algorithm's parameters. A family lists the references that
apply to it. A module may set `STYLE` (matplotlib colour and linestyle) for its lines in every
figure; without one, figures derive a colour from its name.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from mesaopt import tasks


class Context(NamedTuple):
    """What a reference may know about a member's training distribution."""
    pool: Any              # the member's first `pool_size` tasks, stacked (padded past num_tasks)
    num_tasks: jax.Array   # M, or tasks.FRESH for unlimited diversity
    noise_std: jax.Array   # sigma of the observation (or reward) noise
    axes: Any = None       # environments: name -> the member's value of each axis the env declares
    pool_key: Any = None   # supervised: the key the pool was drawn from (training_episodes)


def training_episodes(family, context: Context, key, batch_size: int):
    """Episodes of the member's training distribution, drawn by the family's own training sampler
    (`tasks.sample_batch`: its pool, or fresh tasks when M = inf, or its `draw_episode`); what
    supervised references fit or tune their parameters on."""
    if context.pool_key is None:
        raise ValueError("training_episodes needs the member's pool key (Context.pool_key)")
    return tasks.sample_batch(family, key, context.pool_key, context.num_tasks, context.noise_std,
                              batch_size, axes=context.axes)


def training_tasks(env, context: Context, key, count: int):
    """`count` tasks of the member's training distribution for an environment: uniformly from its
    pool (fresh from the env's own sampler at its axes when M = inf); what environment references
    tune their parameters on. Read from `context.pool` (the tasks training draws, materialized),
    so that a test can hand a reference a pool of its own."""
    index_key, fresh_key = jax.random.split(key)
    index_N = jax.random.randint(index_key, (count,), 0, jnp.maximum(context.num_tasks, 1))
    pooled = jax.tree.map(lambda p: p[index_N], context.pool)
    fresh = tasks.env_batch_sampler(env, context.noise_std, context.axes)(
        jax.random.split(fresh_key, count))
    return jax.tree.map(lambda p, f: jnp.where(context.num_tasks == tasks.FRESH, f, p), pooled,
                        fresh)


def build_selected(family, names: tuple[str, ...] | None, options: dict | None = None) -> dict:
    """name -> built reference for `names` (the eval config's list; None: every reference the
    family offers by default). A module with a `Config` is built with its parsed options
    (`eval.options={<name>: {...}}`)."""
    built = {}
    for name in names or family.references:
        parsed = option_values(name, options)
        built[name] = _spec(name).build(family, *([] if parsed is None else [parsed]))
    return built


def option_values(name: str, options: dict | None):
    """The parsed `Config` of reference `name` from `eval.options`, or None if it has none."""
    from mesaopt.config import parse, require
    schema = _spec(name).config
    given = (options or {}).get(name, {})
    if schema is None:
        require(not given, f"eval.options.{name}", "this reference has no options")
        return None
    return parse(schema, given, f"eval.options.{name}")


def host_init(name: str) -> bool:
    """Whether reference `name` builds its parameters on the host (numpy: its module sets
    `HOST_INIT = True`), so that its `init` cannot be traced (vmapped over members)."""
    return _spec(name).host_init


def _spec(name: str):
    from mesaopt import registry
    return registry.spec("references", name, "eval.references")
