"""Meta-training a learned optimizer on a population of inner problems, and evaluating any
optimizer on held-out instances.

Inner problems run vmapped, each `InnerState` one instance at some step of its training; a
truncation advances every problem by `truncation` inner steps; a problem that reached `horizon`
steps restarts on a fresh instance (and PES restarts its accumulated perturbation). Problems start
staggered (problem i begins at step i * horizon / N), so resets spread over meta-steps. The
meta-objective is the mean training (or validation) loss over the truncation's steps, clipped at
`loss_cap` (a diverging unroll must not dominate the estimate).
Letters: N inner problems.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from mesaopt.lopt import estimators, optimizer
from mesaopt.lopt.problems import Problem


class InnerState(NamedTuple):
    instance: Any
    params: Any
    opt_state: Any
    step: jax.Array


def fresh(problem: Problem, tx: optax.GradientTransformation, key, step=0) -> InnerState:
    instance_key, init_key = jax.random.split(key)
    params = problem.init(init_key)
    return InnerState(problem.sample(instance_key), params, tx.init(params),
                      jnp.asarray(step, jnp.int32))


def inner_step(problem: Problem, tx, state: InnerState, key, objective: str = "train"):
    """One optimizer step; returns (state, the loss the meta-objective reads after the step)."""
    loss, grads = jax.value_and_grad(problem.loss)(state.params, problem.batch(state.instance, key))
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    if objective == "validation":
        loss = problem.loss(params, problem.validation(state.instance))
    return InnerState(state.instance, params, opt_state, state.step + 1), loss


def make_truncation(problem: Problem, cfg: optimizer.Config, length: int, objective: str = "train",
                    loss_cap: float = 10.0):
    def truncation(meta, state: InnerState, key):
        tx = optimizer.transformation(cfg, meta)
        state, loss_T = jax.lax.scan(lambda s, k: inner_step(problem, tx, s, k, objective), state,
                                     jax.random.split(key, length))
        loss_T = jnp.minimum(jnp.nan_to_num(loss_T, nan=loss_cap), loss_cap)
        return loss_T.mean(), state
    return truncation


def meta_train(problem: Problem, cfg: optimizer.Config, key, *, estimator: str = "pes",
               num_problems: int = 8, truncation: int = 10, horizon: int = 100,
               meta_steps: int = 200, meta_lr: float = 3e-3, sigma: float = 0.01,
               objective: str = "train"):
    """(meta-parameters, meta-loss per meta-step): `estimator` is pes, tbptt or es."""
    if estimator not in ("pes", "tbptt", "es"):
        raise ValueError(f"estimator: unknown option {estimator!r} (allowed: pes, tbptt, es)")
    init_key, problems_key, loop_key = jax.random.split(key, 3)
    meta = optimizer.init(cfg, init_key)
    meta_tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(meta_lr))
    run = make_truncation(problem, cfg, truncation, objective)
    base_tx = optimizer.transformation(cfg, meta)
    stagger = (jnp.arange(num_problems) * horizon // num_problems) // truncation * truncation
    states = jax.vmap(lambda k, s: fresh(problem, base_tx, k, s))(
        jax.random.split(problems_key, num_problems), stagger)
    particles = 2 if estimator == "pes" else 1
    states = jax.tree.map(lambda a: jnp.concatenate([a] * particles), states)
    accum = estimators.pes_init(meta, num_problems)

    def restart(states, key):
        """Problems at the horizon restart on fresh instances; returns (states, reset flags)."""
        done = states.step >= horizon
        new = jax.vmap(lambda k: fresh(problem, base_tx, k))(
            jax.random.split(key, done.shape[0]))
        keep = lambda n, o: jnp.where(done.reshape(-1, *[1] * (o.ndim - 1)), n, o)
        return jax.tree.map(keep, new, states), done

    @jax.jit
    def meta_step(carry, key):
        meta, opt_state, states, accum = carry
        restart_key, problem_key, noise_key = jax.random.split(key, 3)
        if particles == 2:  # both particles of a pair restart together, on the same instance
            half = jax.tree.map(lambda a: a[:num_problems], states)
            half, reset = restart(half, restart_key)
            states = jax.tree.map(lambda h, a: jnp.concatenate([h, jnp.where(
                reset.reshape(-1, *[1] * (a.ndim - 1)), h, a[num_problems:])]), half, states)
        else:
            states, reset = restart(states, restart_key)
        keys = jax.random.split(problem_key, num_problems)
        if estimator == "pes":
            grads, states, accum, loss = estimators.pes(run, meta, states, accum, keys, reset,
                                                        noise_key, sigma)
        elif estimator == "es":
            grads, states, loss = estimators.antithetic_es(run, meta, states, keys, noise_key, sigma)
        else:
            grads, states, loss = estimators.tbptt(run, meta, states, keys)
        updates, opt_state = meta_tx.update(grads, opt_state, meta)
        return (optax.apply_updates(meta, updates), opt_state, states, accum), loss.mean()

    carry = (meta, meta_tx.init(meta), states, accum)
    carry, losses = jax.lax.scan(meta_step, carry, jax.random.split(loop_key, meta_steps))
    return carry[0], losses


def curves(problem: Problem, tx: optax.GradientTransformation, key, steps: int, instances: int,
           objective: str = "train"):
    """(instances, steps) losses of `tx` training held-out instances from scratch (each step's
    minibatch loss before the update, or the validation loss after it)."""
    def one(key):
        state_key, loop_key = jax.random.split(key)
        state = fresh(problem, tx, state_key)
        def step(s, k):
            if objective == "validation":
                return inner_step(problem, tx, s, k, objective)
            loss = problem.loss(s.params, problem.batch(s.instance, k))
            return inner_step(problem, tx, s, k)[0], loss
        return jax.lax.scan(step, state, jax.random.split(loop_key, steps))[1]
    return jax.vmap(one)(jax.random.split(key, instances))


def tune_lr(problem: Problem, make_tx, lrs, key, steps: int, instances: int):
    """(best learning rate, mean final loss per lr): each lr trains `instances` instances for
    `steps` steps; scored by the mean loss over the last tenth of training (inf if it diverged)."""
    scores = []
    for lr in lrs:
        loss = curves(problem, make_tx(lr), key, steps, instances)
        tail = jnp.mean(loss[:, -max(steps // 10, 1):])
        scores.append(float(jnp.where(jnp.isfinite(tail), tail, jnp.inf)))
    return lrs[int(jnp.argmin(jnp.asarray(scores)))], scores
