"""Dynamic sweep axes: their cartesian product (x seeds) is one population, trained in one program.

Generic axes (seed, task diversity M, learning rate, noise) belong to every run; a task family or
a training method may declare more (`tasks.Axis`: the bandits' proxy rate, A2C's entropy
coefficient), and only runs that use them carry them.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping

import numpy as np

from mesaopt import tasks
from mesaopt.config import ConfigError, parse, plain, require
from mesaopt.tasks import Axis
from mesaopt.train import Hparams


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    seeds: int = 1
    first_seed: int = 0
    num_tasks: tuple[int | float | None, ...] = (None,)  # M values; null or inf = unlimited
    learning_rate: tuple[float, ...] | None = None       # null: train.learning_rate
    noise_std: tuple[float, ...] = (0.5,)                # sigma of the observation/reward noise
    # Declared axes (name -> values, or None for the declared default), in declaration order.
    axes: dict = dataclasses.field(default_factory=dict)

    def validate(self, path: str) -> None:
        require(self.seeds > 0, f"{path}.seeds", f"must be > 0, got {self.seeds}")
        require(self.first_seed >= 0, f"{path}.first_seed", f"must be >= 0, got {self.first_seed}")
        for i, m in enumerate(self.num_tasks):
            require(m is None or (isinstance(m, int) and m >= 1) or m == math.inf,
                    f"{path}.num_tasks[{i}]", f"must be a positive integer, null or inf, got {m}")
        for name in ("learning_rate", "noise_std"):
            for i, v in enumerate(getattr(self, name) or ()):
                require(v > 0 and math.isfinite(v), f"{path}.{name}[{i}]", f"must be > 0, got {v}")
        for name in ("num_tasks", "learning_rate", "noise_std"):
            values = getattr(self, name)
            require(values is None or len(values) > 0, f"{path}.{name}", "must not be empty")

    def finite_num_tasks(self) -> list[int]:
        return [m for m in self.num_tasks if m is not None and m != math.inf]

    def as_dict(self) -> dict:
        """Flat, as written in YAML: declared axes next to the generic ones."""
        generic = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "axes"}
        return plain({**generic, **self.axes})


def parse_sweep(data: Mapping, declared: tuple[Axis, ...], owners: str, path: str = "sweep"
                ) -> SweepConfig:
    """The sweep section, with the axes `declared` by the run's family and method (`owners` names
    them in errors)."""
    require(isinstance(data, Mapping), path, f"expected a mapping of fields, got {data!r}")
    names = {a.name for a in declared}
    generic = [f.name for f in dataclasses.fields(SweepConfig) if f.name != "axes"]
    for key in data:
        require(key in generic or key in names, f"{path}.{key}",
                f"not a sweep axis of {owners} (allowed: {', '.join(generic + sorted(names))})")
    config = parse(SweepConfig, {k: v for k, v in data.items() if k in generic}, path)
    axes = {}
    for axis in declared:
        values = data.get(axis.name)
        if values is not None:
            values = parse(_AxisValues, {"values": values}, f"{path}.{axis.name}").values
            require(len(values) > 0, f"{path}.{axis.name}", "must not be empty")
            for i, v in enumerate(values):
                require(axis.low <= v <= axis.high and math.isfinite(v), f"{path}.{axis.name}[{i}]",
                        f"must be in [{axis.low:g}, {axis.high:g}], got {v:g}")
        axes[axis.name] = values
    return dataclasses.replace(config, axes=axes)


@dataclasses.dataclass(frozen=True)
class _AxisValues:
    values: tuple[float, ...]


def members(sweep: SweepConfig, default_lr: float, family_axes: tuple[Axis, ...],
            method_axes: tuple[Axis, ...]) -> tuple[Hparams, list[dict]]:
    """Stacked hyperparameters of every member, and a readable row per member (M = inf if
    unlimited). Order: M, the family's axes, learning rate, the method's axes, noise; seeds inner."""
    def values(axis):
        return sweep.axes.get(axis.name) or (axis.default,)
    declared = (*family_axes, *method_axes)
    rows = []
    for m, *point in itertools.product(
            sweep.num_tasks, *map(values, family_axes), sweep.learning_rate or (default_lr,),
            *map(values, method_axes), sweep.noise_std):
        family_values, (lr, *rest) = point[:len(family_axes)], point[len(family_axes):]
        method_values, noise = rest[:-1], rest[-1]
        for seed in range(sweep.first_seed, sweep.first_seed + sweep.seeds):
            unlimited = m is None or m == math.inf
            rows.append(dict(seed=seed, num_tasks=math.inf if unlimited else int(m),
                             learning_rate=float(lr), noise_std=float(noise),
                             **{a.name: float(v) for a, v in zip(declared,
                                                                 (*family_values, *method_values))}))
    column = lambda name, dtype: np.array([r[name] for r in rows], dtype)
    hparams = Hparams(
        seed=column("seed", np.uint32),
        num_tasks=np.array([tasks.FRESH if math.isinf(r["num_tasks"]) else r["num_tasks"]
                            for r in rows], np.int32),
        learning_rate=column("learning_rate", np.float32),
        noise_std=column("noise_std", np.float32),
        axes={a.name: column(a.name, np.float32) for a in declared})
    return hparams, rows


def check_pool_limit(sweep: SweepConfig, family, path: str) -> None:
    limit = family.max_pool_size
    for i, m in enumerate(sweep.num_tasks):
        if m is not None and m != math.inf and m > limit:
            raise ConfigError(f"{path}.num_tasks[{i}]: {m} exceeds task.max_pool_size={limit}")
