"""A run's config: compose it (Hydra, with every option's defaults from the dataclass that owns
them), validate it into a typed `RunConfig` (a bad value raises `ConfigError` naming the field),
and build what it describes (family, learner, population). `mesaopt.command` is the command line
that calls this for every job before anything compiles; `mesaopt.run` trains a validated config.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mesaopt import evaluation, loggers, registry
from mesaopt.config import parse, require, to_dict
from mesaopt.population import Population
from mesaopt.sweep import SweepConfig, check_pool_limit, members, parse_sweep

CONFIG_DIR = next(p for p in (Path(__file__).resolve().parents[2] / "configs",
                              Path(__file__).resolve().parent / "configs") if p.is_dir())


SELECTED = {"task": "tasks", "learner": "learners", "train": "train"}  # schema owned by the chosen module


@dataclasses.dataclass(frozen=True)
class RunConfig:
    name: str
    out_dir: str
    progress: bool
    checkpoint_every: int  # chunks between checkpoints; 0 = never (a crash restarts the run)
    task: Any      # the selected family's Config
    learner: Any   # the selected learner's Config
    train: Any     # the selected training method's Config (optimizer fields + its own)
    sweep: Any     # SweepConfig, with the axes the family and the method declare
    eval: evaluation.Config
    logger: loggers.Config
    plan: Any = False  # true: print the plan (memory, FLOPs) and stop; "time": and time a chunk
    deterministic: bool = False  # XLA's deterministic GPU ops (devices.make_deterministic)
    run_tag: str = ""  # set by mesaopt-train: "-" + a hash of the overrides that change the run

    def as_dict(self) -> dict:
        return {**to_dict(self), "sweep": self.sweep.as_dict()}


def load_config(data: Mapping) -> RunConfig:
    """Typed, validated config from a composed mapping; raises ConfigError naming the field."""
    cfg = parse(RunConfig, data, "")
    require(cfg.plan in (False, True, "time"), "plan",
            f"must be false, true or time, got {cfg.plan!r}")
    chosen = {}
    for group, kind in SELECTED.items():
        section = getattr(cfg, group)
        require(isinstance(section, Mapping) and "name" in section, group,
                f"must select an option (allowed: {', '.join(registry.available(kind))})")
        chosen[group] = parse(registry.spec(kind, section["name"], f"{group}.name").config,
                              section, group)
    cfg = dataclasses.replace(cfg, **chosen)
    registry.load("loggers", cfg.logger.name, "logger.name")
    family = build_family(cfg)
    for group, kind in (("learner", "learners"), ("train", "train")):
        name = getattr(cfg, group).name
        fitting = [n for n in registry.available(kind) if fits(registry.spec(kind, n, group),
                                                                 family, group)]
        kind_of_task = f"{family.setting}{' classification' if classifies(family) else ''} task"
        require(name in fitting, f"{group}.name", f"{name!r} does not fit task {cfg.task.name!r} "
                f"(a {kind_of_task}; allowed: {', '.join(fitting)})")
    method = registry.spec("train", cfg.train.name, "train.name")
    if method.check is not None:  # what the method needs of the learner
        method.check(registry.spec("learners", cfg.learner.name, "learner.name"), "learner.name")
    cfg = dataclasses.replace(cfg, sweep=parse_sweep(
        cfg.sweep, (*family.axes, *method.axes(cfg.train)),
        f"task {cfg.task.name!r} with train {cfg.train.name!r}"))
    check_pool_limit(cfg.sweep, family, "sweep")
    require(cfg.checkpoint_every >= 0, "checkpoint_every", f"must be >= 0, got {cfg.checkpoint_every}")
    require(cfg.train.steps % cfg.eval.every == 0, "eval.every",
            f"must divide train.steps={cfg.train.steps}, got {cfg.eval.every}")
    allowed = (*family.references, *family.optional_references)
    for name in cfg.eval.references or ():
        require(name in allowed, "eval.references",
                f"unknown option {name!r} for task {cfg.task.name} (allowed: {', '.join(allowed)})")
    evaluation.select(family, cfg.eval)
    return cfg


def classifies(family) -> bool:
    """A classification family (`Family.classes`; environments have none)."""
    return getattr(family, "classes", None) is not None


def fits(spec, family, group: str) -> bool:
    """A learner or training method fits a family of its setting; a classification family takes
    only learners that predict labels (`CLASSIFIES = True`)."""
    labels = group != "learner" or not classifies(family) or spec.classifies
    settings = spec.settings if group == "learner" else (spec.setting,)
    return family.setting in settings and labels


def build_family(cfg: RunConfig):
    return registry.load("tasks", cfg.task.name, "task.name").build(cfg.task)


def build(cfg: RunConfig):
    """(family, learner, population) of a validated config: the parts every entry point needs."""
    family = build_family(cfg)
    learner = registry.load("learners", cfg.learner.name, "learner.name").build(cfg.learner, family)
    return family, learner, Population(family, learner, predictor_name(cfg), cfg.train, cfg.eval,
                                       cfg.sweep)


def predictor_name(cfg: RunConfig) -> str:
    """The learner's name in tables, figures and legends: what its module says it is for this
    configuration (`predictor_name(cfg)`, e.g. `mlp` for the gridworld agent without convolution
    or recurrence), else the learner's name."""
    name_of = registry.spec("learners", cfg.learner.name, "learner.name").predictor_name
    return cfg.learner.name if name_of is None else name_of(cfg.learner)


def population_size(cfg: RunConfig) -> int:
    """Members of the population a validated config trains (without building it)."""
    method = registry.spec("train", cfg.train.name, "train.name")
    return len(members(cfg.sweep, cfg.train.learning_rate, build_family(cfg).axes,
                       method.axes(cfg.train))[1])


@functools.cache
def store_defaults() -> None:
    """Every group option into Hydra's ConfigStore, its values the defaults of the dataclass that
    owns them (the selected module's `Config`; `evaluation.Config`, `SweepConfig`,
    `loggers.Config`): the one source of defaults. YAML files only select and override (presets;
    a group file that sets a value says why in a comment). An option that declares sweep axes
    (a family, a training method) is a `_global_` node that also adds `sweep.<axis>: null`."""
    from hydra.core.config_store import ConfigStore
    store = ConfigStore.instance()
    for group, kind in SELECTED.items():
        for name in registry.available(kind):
            spec = registry.spec(kind, name, group)
            defaults = to_dict(spec.config())
            # Families and methods that declare axes say which in `axes(cfg)`, pure Python:
            # nothing here may start JAX's backend (devices are chosen after composing).
            axes = spec.axes(spec.config()) if kind != "learners" and spec.axes else ()
            if axes:
                store.store(group=group, name=name, package="_global_",
                            node={group: defaults, "sweep": {a.name: None for a in axes}})
            else:
                store.store(group=group, name=name, node=defaults)
    store.store(group="eval", name="default", node=to_dict(evaluation.Config()))
    store.store(group="sweep", name="default", node=SweepConfig().as_dict())
    store.store(group="logger", name="wandb", node=to_dict(loggers.Config()))


def compose_config(*overrides: str) -> dict:
    """The resolved config mapping that `mesaopt-train <overrides>` would run (one job)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    store_defaults()
    with initialize_config_dir(str(CONFIG_DIR), version_base=None):
        return OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True)


def groups() -> dict[str, list[str]]:
    """group -> its options: YAML files and the stored defaults (`store_defaults`)."""
    from hydra.core.config_store import ConfigStore
    store_defaults()
    stored = {group: [n.removesuffix(".yaml") for n in node if n.endswith(".yaml")]
              for group, node in ConfigStore.instance().repo.items() if isinstance(node, dict)}
    files = {d.name: [p.stem for p in d.glob("*.yaml")] for d in CONFIG_DIR.iterdir() if d.is_dir()}
    return {g: sorted(set(stored.get(g, [])) | set(files.get(g, []))) for g in {*stored, *files}}
