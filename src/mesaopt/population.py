"""A population: every member (seeds x dynamic hyperparameters) in one jit(vmap(...)) program."""
from __future__ import annotations

import dataclasses
import itertools
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from mesaopt import registry, tasks
from mesaopt.config import ConfigError, require
from mesaopt.probes import errors, regret
from mesaopt.train import Hparams, TrainState


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Dynamic axes: their cartesian product (x seeds) is one population, trained in one program."""
    seeds: int = 1
    first_seed: int = 0
    num_tasks: tuple[int | float | None, ...] = (None,)  # M values; null or inf = unlimited
    learning_rate: tuple[float, ...] | None = None       # null: train.learning_rate
    noise_std: tuple[float, ...] = (0.5,)                # sigma of the observation/reward noise
    proxy_rate: tuple[float, ...] | None = None  # environments: P(action 0 best); null: unbiased
    entropy_coef: tuple[float, ...] | None = None  # policy-gradient methods; null: train.entropy_coef

    def validate(self, path: str) -> None:
        require(self.seeds > 0, f"{path}.seeds", f"must be > 0, got {self.seeds}")
        require(self.first_seed >= 0, f"{path}.first_seed", f"must be >= 0, got {self.first_seed}")
        for i, m in enumerate(self.num_tasks):
            require(m is None or (isinstance(m, int) and m >= 1) or m == math.inf,
                    f"{path}.num_tasks[{i}]", f"must be a positive integer, null or inf, got {m}")
        for name in ("learning_rate", "noise_std"):
            for i, v in enumerate(getattr(self, name) or ()):
                require(v > 0 and math.isfinite(v), f"{path}.{name}[{i}]", f"must be > 0, got {v}")
        for i, v in enumerate(self.proxy_rate or ()):
            require(0 <= v <= 1, f"{path}.proxy_rate[{i}]", f"must be in [0, 1], got {v}")
        for i, v in enumerate(self.entropy_coef or ()):
            require(v >= 0 and math.isfinite(v), f"{path}.entropy_coef[{i}]", f"must be >= 0, got {v}")
        for name in ("num_tasks", "learning_rate", "noise_std", "proxy_rate", "entropy_coef"):
            values = getattr(self, name)
            require(values is None or len(values) > 0, f"{path}.{name}", "must not be empty")

    def finite_num_tasks(self) -> list[int]:
        return [m for m in self.num_tasks if m is not None and m != math.inf]


def members(sweep: SweepConfig, train_cfg, family) -> tuple[Hparams, list[dict]]:
    """Stacked hyperparameters of every member, and a readable row per member (M = inf if unlimited).

    Environments add proxy_rate and entropy_coef to the rows; supervised members carry unused
    placeholders for them.
    """
    rl = family.setting == "rl"
    rows = []
    for m, proxy, lr, entropy, noise in itertools.product(
            sweep.num_tasks, sweep.proxy_rate or (family.natural_proxy_rate if rl else 0.0,),
            sweep.learning_rate or (train_cfg.learning_rate,),
            sweep.entropy_coef or (train_cfg.entropy_coef if rl else 0.0,), sweep.noise_std):
        for seed in range(sweep.first_seed, sweep.first_seed + sweep.seeds):
            unlimited = m is None or m == math.inf
            rows.append(dict(seed=seed, num_tasks=math.inf if unlimited else int(m),
                             learning_rate=float(lr), noise_std=float(noise),
                             **(dict(proxy_rate=float(proxy), entropy_coef=float(entropy)) if rl
                                else {})))
    column = lambda name, dtype, fill=0.0: np.array([r.get(name, fill) for r in rows], dtype)
    hparams = Hparams(
        seed=column("seed", np.uint32),
        num_tasks=np.array([tasks.FRESH if math.isinf(r["num_tasks"]) else r["num_tasks"]
                            for r in rows], np.int32),
        learning_rate=column("learning_rate", np.float32),
        noise_std=column("noise_std", np.float32),
        proxy_rate=column("proxy_rate", np.float32),
        entropy_coef=column("entropy_coef", np.float32))
    return hparams, rows


def check_pool_limit(sweep: SweepConfig, family: tasks.Family, path: str) -> None:
    limit = family.cfg.max_pool_size
    for i, m in enumerate(sweep.num_tasks):
        if m is not None and m != math.inf and m > limit:
            raise ConfigError(f"{path}.num_tasks[{i}]: {m} exceeds task.max_pool_size={limit}")


def member_sharding(num_members: int) -> NamedSharding | None:
    """Members split across local devices (GPUs, or CPU cores exposed as devices), or None.

    Uses the most devices that divide the population evenly; one device means no sharding.
    """
    devices = jax.local_devices()
    count = max(d for d in range(1, len(devices) + 1) if num_members % d == 0)
    if count == 1:
        return None
    return NamedSharding(Mesh(np.array(devices[:count]), ("members",)), PartitionSpec("members"))


class Population:
    """Compiled programs for one static configuration; every method maps over the member axis,
    which is sharded across local devices when there are several (see `member_sharding`)."""

    def __init__(self, family, learner, learner_name: str, train_cfg, eval_cfg: errors.Config,
                 sweep: SweepConfig):
        self.hparams, self.rows = members(sweep, train_cfg, family)
        check_pool_limit(sweep, family, "sweep")
        method = registry.load("train", train_cfg.name, "train.name")
        self.chunk_steps = eval_cfg.every
        self.init = jax.jit(jax.vmap(partial(method.init_state, learner, train_cfg)))
        self.train_chunk = jax.jit(jax.vmap(
            partial(method.train_chunk, family, learner, train_cfg, eval_cfg.every)))
        probe = regret if family.setting == "rl" else errors
        self.evaluator = probe.Evaluator(family, learner, learner_name, eval_cfg,
                                         max(sweep.finite_num_tasks(), default=1))
        self.evaluate = self.evaluator.evaluate
        self.make_eval_set = self.evaluator.make_eval_set

    @property
    def size(self) -> int:
        return len(self.rows)

    def placed_hparams(self) -> Hparams:
        """The stacked hyperparameters on device, split across devices along the member axis;
        jit propagates that placement to states and metrics."""
        sharding = member_sharding(self.size)
        return jax.device_put(self.hparams, sharding) if sharding else jax.tree.map(
            jnp.asarray, self.hparams)

    def member(self, i: int) -> Hparams:
        return jax.tree.map(lambda a: jnp.asarray(a[i]), self.hparams)


def state_of(state: TrainState, i: int) -> TrainState:
    """Member i's slice of a population state."""
    return jax.tree.map(lambda a: a[i], state)
