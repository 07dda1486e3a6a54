"""Probes: measurements of a trained learner (and of every reference alike), one module per probe,
selected by `eval.probes` (default: every probe that applies). Module name = registry key.

A probe module exposes the fields of `registry.ProbeSpec` (checked when the registry loads it: a
misspelled field fails in one line):
- `SETTING`: "supervised" or "rl" (the evaluation driver that runs it, `evaluation/<setting>.py`),
  or a tuple of both for a probe that serves every setting (`emergence_score`);
- `METRICS`: the metrics it writes (`mesaopt.metrics.Metric`; writing another fails the run);
- `NEEDS`: reference names it compares with (optional, default none), or `needs(family)` where they
  depend on the family (its declared memorizer and generalizer); a probe whose needs are not
  among the selected references is left out by default and rejected when asked for;
- `applies(family) -> bool` (optional): family traits it needs beyond the setting;
- `Config` (optional): a dataclass of its options, set with `eval.options={<name>: {...}}`;
  `check(family, options, path)` (optional) validates them against the family;
- `SPLIT` and `episodes(family, options, key, pool_key, hparams)` (optional, supervised): an
  extra evaluation split it brings, computed once per member; references predict on it too;
- `prepare(family, options, hparams, data) -> pytree` (optional): per-member data computed once
  (after the episodes), e.g. the implied-prior probe's ridge path;
- `MAY_BE_NAN` (optional): metric -> why it may be NaN (the contract test allows NaN only there);
- `PREDICTOR_NEEDS` (optional): attributes a predictor must have (not None), e.g. `inner`, for
  the probe to measure it; predictors without them get no records;
- `DEFAULT = False` (optional): an opt-in probe (costly), run only when `eval.probes` names it;
- `derive(family, predictor, params, data, options, prepared) -> pytree` (optional): what the
  probe needs of a predictor beyond its outputs (input sensitivities, layer features, rollouts
  with more thinking ticks); `data` is the evaluation's episodes by split (supervised) or
  `Levels(tasks, keys)` (environments), `prepared` its own preparation (or None). Both
  drivers call it for the learner at every evaluation; the supervised driver also for each
  reference once (by `derive_reference`, same signature, where the probe has one: references'
  linear algebra must not be differentiated inside one program, see probes/gd_equivalence.py);
- `measure(view) -> list[Record]`: pure and vmappable over members; `view.outputs[split][name]`
  holds every predictor's outputs (learner first, then references by name), `view.derived[name]`
  its derived values, `view.tasks[split]` (supervised) the tasks of the pretrain and true episodes.

This module is the contract between the evaluation drivers and the probes: `View`, `Record`,
`SPLITS`, and for environments `Rollout` and `rollouts` (the drivers import them from here).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax

from mesaopt import tasks

ROLES = ("learner", "reference")
# Every setting evaluates on the member's training distribution (its pool of M tasks at its own
# axis values) and on held-out tasks of the true distribution.
SPLITS = ("pretrain", "true")


class Levels(NamedTuple):
    """An environment's evaluation data as `derive` gets it: split -> tasks, split -> rollout key."""
    tasks: dict
    keys: dict


class Rollout(NamedTuple):
    """What probes see of a policy's episodes on one split."""
    probs_BxTxA: jax.Array   # the policy's action probabilities at every step
    action_BxT: jax.Array
    reward_BxT: jax.Array    # 0 after the episode ended
    alive_BxT: jax.Array     # the episode had not ended before the step
    info: dict               # per-step values the env reports, (B, T) each


def as_rollout(traj) -> Rollout:
    """What probes see of `tasks.rollout`'s trajectories."""
    return Rollout(jax.nn.softmax(traj.logits_A), traj.action, traj.reward, traj.alive, traj.info)


def rollouts(env: tasks.Env, policy, params, tasks_by_split: dict, keys_by_split: dict) -> dict:
    """split -> Rollout of `policy` on every evaluation task of the split (tasks with leading B)."""
    out = {}
    for split, tasks_B in tasks_by_split.items():
        batch = jax.tree.leaves(tasks_B)[0].shape[0]
        traj = jax.vmap(lambda task, k: tasks.rollout(env, policy, params, task, k))(
            tasks_B, jax.random.split(keys_by_split[split], batch))
        out[split] = as_rollout(traj)
    return out


@functools.partial(jax.tree_util.register_dataclass, data_fields=["value"],
                   meta_fields=["split", "predictor", "metric", "role", "source", "positions"])
@dataclasses.dataclass(frozen=True)
class Record:
    """One measurement: a number (shape ()) or one per position (shape (K,) or (T,)); a population
    adds a leading member axis."""
    split: str        # pretrain | true | train | a probe's own split
    predictor: str
    metric: str
    value: Any
    role: str         # learner | reference
    source: str = ""  # the probe (or the training loop) that made it; not a table column
    positions: tuple[int, ...] | None = None  # the value's positions if not 0 .. K-1 (no mean row)


def first(tree, count: int):
    """The first `count` entries along the leading (episode) axis of every leaf."""
    return jax.tree.map(lambda a: a[:count], tree)


class View(NamedTuple):
    """What a probe sees of one member at one evaluation."""
    probe: str        # the probe's name
    family: Any
    learner: str      # the learner's predictor name
    data: dict        # split -> evaluation data (supervised: Episode; rl: tasks, with leading B)
    outputs: dict     # split -> predictor name -> outputs (supervised: (B, K) predictions; rl: Rollout)
    prepared: Any     # the probe's per-member preparation, or None
    options: Any      # the probe's parsed Config, or None
    derived: dict = {}  # predictor name -> the probe's `derive` of it (learner first), if any
    tasks: Any = None   # supervised: split -> the tasks of its episodes (pretrain and true)
    # (outputs, data) -> the number the setting's driver judges a predictor by, higher is better
    # (the driver's `performance`: -MSE / D, accuracy, mean return)
    performance: Any = None

    def record(self, split: str, predictor: str, metric: str, value, positions=None) -> Record:
        role = "learner" if predictor == self.learner else "reference"
        return Record(split, predictor, metric, value, role, self.probe,
                      None if positions is None else tuple(positions))
