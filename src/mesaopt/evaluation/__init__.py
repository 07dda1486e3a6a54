"""Evaluation: one driver per setting runs the selected probes on every member.

`evaluation/supervised.py` evaluates on episodes (the member's pretraining pool, fresh tasks, and
splits that probes bring); `evaluation/rl.py` on environment rollouts. Each driver exposes
`Evaluator(family, learner, learner_name, eval_cfg, pool_size)` with `make_eval_set(hparams)`
(evaluation data, reference outputs and probe preparations, once per member) and
`evaluate(params, eval_set) -> list[probes.Record]` (jitted, vmapped over members), and
`performance(family, outputs, data)`: the one number, higher is better, that the setting judges a
predictor's outputs on a split's data by (probes read it as `View.performance`).
"""
from __future__ import annotations

import dataclasses
import importlib
from functools import partial
from types import ModuleType
from typing import Any, NamedTuple

from mesaopt import metrics, registry
from mesaopt.config import parse, positive, require
from mesaopt.probes import View


@dataclasses.dataclass(frozen=True)
class Config:
    every: int = 256        # training steps between evaluations (one compiled chunk)
    batch_size: int = 512   # episodes per split
    references: tuple[str, ...] | None = None  # null: every reference of the task family
    probes: tuple[str, ...] | None = None      # null: every probe that applies
    options: Any = None     # probe or reference name -> its options (that module's Config fields)
    # Evaluate at most this many members per device at a time, one group after another inside
    # one program (a group's memory; population.in_groups); 0: every member at once.
    member_chunk: int = 0
    # Selected probes that run only at the run's last evaluation (costly diagnostics read at the
    # end, e.g. steering); every other evaluation leaves them out (a second compiled program).
    final_only: tuple[str, ...] = ()

    def validate(self, path: str) -> None:
        positive(self, path, "every", "batch_size")
        require(self.member_chunk >= 0, f"{path}.member_chunk",
                f"must be >= 0 (0: all members at once), got {self.member_chunk}")
        for name in ("references", "probes"):  # empty would silently mean "every one" or "none"
            require(getattr(self, name) != (), f"{path}.{name}",
                    "empty; name at least one, or null for every one that applies")


class Probe(NamedTuple):
    name: str
    spec: registry.ProbeSpec
    options: Any            # the probe's parsed Config, or None


def fits(spec: registry.ProbeSpec, family) -> bool:
    """The probe's setting is the family's, the family has the traits it needs and offers the
    references it needs."""
    offered = {*family.references, *family.optional_references}
    return (family.setting in spec.settings and spec.applies(family)
            and set(spec.needs(family)) <= offered)


def references_of(family, eval_cfg: Config) -> tuple[str, ...]:
    return eval_cfg.references or family.references


def select(family, eval_cfg: Config, path: str = "eval") -> list[Probe]:
    """The probes to run, sorted by name; ConfigError naming the field for a bad choice."""
    references = set(references_of(family, eval_cfg))
    fitting = [n for n in registry.available("probes") if fits(_spec(n), family)]
    if eval_cfg.probes is None:
        names = [n for n in fitting if set(_spec(n).needs(family)) <= references
                 and _spec(n).default]
    else:
        names = sorted(set(eval_cfg.probes))
        for name in names:
            require(name in fitting, f"{path}.probes", f"unknown option {name!r} for task "
                    f"{family.name!r} (allowed: {', '.join(fitting)})")
            missing = sorted(set(_spec(name).needs(family)) - references)
            require(not missing, f"{path}.probes",
                    f"{name} needs references {', '.join(missing)} ({path}.references)")
    options = eval_cfg.options or {}
    require(isinstance(options, dict), f"{path}.options", f"expected a mapping, got {options!r}")
    for name in options:
        require(name in names or name in references, f"{path}.options.{name}",
                f"not a selected probe or reference (selected: {', '.join([*names, *sorted(references)])})")
    from mesaopt.references import option_values
    for name in set(options) & references - set(names):
        option_values(name, options)
    probes = []
    for name in names:
        spec = _spec(name)
        if spec.config is None:
            require(name not in options, f"{path}.options.{name}", "this probe has no options")
        parsed = (parse(spec.config, options.get(name, {}), f"{path}.options.{name}")
                  if spec.config else None)
        if spec.check is not None:
            spec.check(family, parsed, f"{path}.options.{name}")
        probes.append(Probe(name, spec, parsed))
    for name in eval_cfg.final_only:
        require(name in names, f"{path}.final_only",
                f"{name!r} is not a selected probe (selected: {', '.join(names)})")
    return probes


def every_evaluation(probes: list[Probe], eval_cfg: Config) -> list[Probe]:
    """The probes of every evaluation: all but `eval.final_only`'s, which the last adds."""
    return [p for p in probes if p.name not in eval_cfg.final_only]


def lacks(probe: Probe, predictor) -> bool:
    """Whether `predictor` lacks an attribute the probe declares in `PREDICTOR_NEEDS` (e.g. an
    inner loop, thinking ticks, layer features): the drivers then derive nothing for it (None),
    and the probe writes no records of it."""
    return any(getattr(predictor, need, None) is None for need in probe.spec.predictor_needs)


def _spec(name: str) -> registry.ProbeSpec:
    return registry.spec("probes", name, "eval.probes")


def measure(probes: list[Probe], family, learner_name: str, data: dict, learner_outputs: dict,
            reference_outputs: dict, prepared: dict, derived: dict | None = None,
            tasks: dict | None = None) -> list:
    """Every probe's records for one member; the outputs each probe sees are, per split, the
    learner's first, then the references' by name (so pairwise metrics have stable names), and
    so are a probe's derived values (`derived`: probe -> (learner's, references' by name)).
    Probes judge outputs by the setting driver's `performance(family, outputs, data)`."""
    performance = partial(driver(family.setting).performance, family)
    outputs = {split: {learner_name: mine, **dict(sorted(reference_outputs[split].items()))}
               for split, mine in learner_outputs.items()}
    own_splits = getattr(family, "splits", ())  # an Env has none
    records = []
    for probe in probes:
        mine, theirs = (derived or {}).get(probe.name, (None, {}))
        view = View(probe.name, family, learner_name, data, outputs, prepared.get(probe.name),
                    probe.options, {learner_name: mine, **dict(sorted(theirs.items()))}, tasks,
                    performance)
        written = probe.spec.measure(view)
        metrics.check_written(f"probe {probe.name}", probe.spec.metrics,
                              {(r.metric, r.split) for r in written}, own_splits)
        records += written
    return records


def driver(setting: str) -> ModuleType:
    return importlib.import_module(f"mesaopt.evaluation.{setting}")
