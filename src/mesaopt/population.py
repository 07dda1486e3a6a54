"""A population: every member (seeds x dynamic hyperparameters) in one jit(vmap(...)) program."""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from mesaopt import distributed, evaluation, metrics, registry
from mesaopt.sweep import SweepConfig, check_pool_limit, members
from mesaopt.train import Hparams, TrainState


def member_sharding(num_members: int) -> NamedSharding | None:
    """Members split across devices (GPUs, or CPU cores exposed as devices; in a multi-process run
    every process's devices, see `distributed`), or None for one device of one process.

    Uses the most devices that divide the population evenly.
    """
    devices = distributed.member_devices(num_members)
    if len(devices) == 1:
        return None
    return NamedSharding(Mesh(np.array(devices), ("members",)), PartitionSpec("members"))


def replay_form(learner, num_members: int):
    """The learner as this population trains it. A recurrent policy that splits its forward pass
    (`Policy.encode`) replays recorded steps with its encoder applied to all of them at once,
    except on a CPU device holding several members: there XLA runs the member-batched sequence
    matmuls of a dense encoder slower than the stepwise form. Measured (scripts/bench_replay.py,
    PPO gradient step, encoded / stepwise time at 1 / 2 / 4 / 16 members on one device): mlp_gru
    0.87 / 1.18 / 1.32 / 1.02, conv16_s2_gru 0.76 / 0.91 / 1.02 / 0.89, conv16_gru 0.88 / 0.91 /
    0.91 / 0.79. Convolutional encoders would gain from it at several members too; the rule is
    kept to one that is never slower."""
    if getattr(learner, "encode", None) is None or jax.default_backend() != "cpu":
        return learner
    devices = distributed.member_devices(num_members)
    return learner if num_members <= len(devices) else learner.stepwise()


def group_size(share: int, requested: int) -> int:
    """Members per device at a time for `requested` (train/eval.member_chunk; 0: all): the largest
    divisor of each device's `share` up to it, so that a preset's setting holds on any number of
    devices (30 members with member_chunk 10: 10 at a time on one GPU, 5 on two of 15 each)."""
    if not requested or requested >= share:
        return share
    return max(d for d in range(1, requested + 1) if share % d == 0)


def in_groups(members_fn, size: int, requested: int, devices: int = 1):
    """`members_fn` (mapping over the member axis) applied to at most `requested` members of
    every device's share at a time (`group_size`), one group after another (a `lax.map`: one
    program, a group's memory), or to all at once (0, or at least a device's share). Each device
    takes its group from its own share: no member moves between devices."""
    share = size // devices
    group = group_size(share, requested)
    if group == share:
        return members_fn
    rounds = share // group

    def grouped(*trees):
        # member (device d, round r, slot j) = d * share + r * group + j
        split = jax.tree.map(lambda a: a.reshape(devices, rounds, group, *a.shape[1:])
                             .swapaxes(0, 1).reshape(rounds, devices * group, *a.shape[1:]),
                             trees)
        out = jax.lax.map(lambda args: members_fn(*args), split)
        return jax.tree.map(lambda a: a.reshape(rounds, devices, group, *a.shape[2:])
                            .swapaxes(0, 1).reshape(size, *a.shape[2:]), out)
    return grouped


class Population:
    """Compiled programs for one static configuration; every method maps over the member axis,
    which is sharded across local devices when there are several (see `member_sharding`)."""

    def __init__(self, family, learner, learner_name: str, train_cfg, eval_cfg,
                 sweep: SweepConfig):
        method = self.method = registry.spec("train", train_cfg.name, "train.name")
        self.hparams, self.rows = members(sweep, train_cfg.learning_rate, family.axes,
                                          method.axes(train_cfg))
        check_pool_limit(sweep, family, "sweep")
        learner = replay_form(learner, self.size)
        self.learner_name = learner_name  # the learner's predictor name in the tables
        self.chunk_steps = eval_cfg.every
        # States laid out like the members from the start (parameters that do not depend on the
        # hparams would otherwise come out replicated, and the first chunk compile twice).
        self.init = jax.jit(jax.vmap(partial(method.init_state, family, learner, train_cfg)),
                            out_shardings=member_sharding(self.size))
        devices = len(distributed.member_devices(self.size))
        # The state is donated: its buffers are reused for the next state (half the memory).
        self.train_chunk = jax.jit(in_groups(jax.vmap(
            partial(declared_chunk(method, train_cfg.name), family, learner, train_cfg,
                    eval_cfg.every)),
            self.size, train_cfg.member_chunk, devices), donate_argnums=0)
        self.evaluator = evaluation.driver(family.setting).Evaluator(
            family, learner, learner_name, eval_cfg, max(sweep.finite_num_tasks(), default=1))
        # Every evaluation's program, and the last one's (the same one unless eval.final_only
        # names probes that only the last evaluation runs).
        def evaluate_program(probes):
            return jax.jit(in_groups(jax.vmap(partial(self.evaluator.member_evaluate, probes)),
                                     self.size, eval_cfg.member_chunk, devices))
        self.evaluate = evaluate_program(
            evaluation.every_evaluation(self.evaluator.probes, eval_cfg))
        self.evaluate_final = (evaluate_program(self.evaluator.probes) if eval_cfg.final_only
                               else self.evaluate)
        self.make_eval_set = self.evaluator.make_eval_set

    @property
    def size(self) -> int:
        return len(self.rows)

    def placed_hparams(self) -> Hparams:
        """The stacked hyperparameters on device, split across devices along the member axis;
        jit propagates that placement to states and metrics."""
        sharding = member_sharding(self.size)
        return distributed.place(self.hparams, sharding) if sharding else jax.tree.map(
            jnp.asarray, self.hparams)

    def member(self, i: int) -> Hparams:
        return jax.tree.map(lambda a: jnp.asarray(a[i]), self.hparams)


def state_of(state: TrainState, i: int) -> TrainState:
    """Member i's slice of a population state."""
    return jax.tree.map(lambda a: a[i], state)


def declared_chunk(method, name: str):
    """The method's `train_chunk`, failing when traced if it returns an undeclared metric, with
    `diverged_at` (metrics.DIVERGED_AT) added from its per-step `alive`: the member's step count
    before the update that first failed, at that step (NaN at every other)."""
    def chunk(family, learner, cfg, num_steps, state, hparams):
        new_state, out = method.train_chunk(family, learner, cfg, num_steps, state, hparams)
        metrics.check_written(f"training method {name}", method.metrics,
                              {(metric, metrics.TRAIN_SPLIT) for metric in out})
        alive_S = out[metrics.ALIVE]
        before_S = jnp.concatenate([state.alive[None], alive_S[:-1]])
        step_S = (state.step + jnp.arange(num_steps)).astype(jnp.float32)
        return new_state, {**out, metrics.DIVERGED_AT: jnp.where(before_S & ~alive_S, step_S,
                                                                 jnp.nan)}
    return chunk
