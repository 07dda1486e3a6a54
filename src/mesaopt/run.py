"""`mesaopt-train`: the Hydra entry. Compose -> typed config -> population -> chunks -> results.

Every job of a (multi)run is composed and validated before anything compiles; a bad value is one
line on stderr naming the field, and exit code 2.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
import re
import shlex
import shutil
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from tqdm import tqdm

from mesaopt import (checkpoint, devices, distributed, evaluation, loggers, plan, provenance,
                     registry, results, summary)
from mesaopt.checkpoint import Checkpointer
from mesaopt.config import ConfigError, parse, require, to_dict
from mesaopt.metrics import TRAIN_SPLIT
from mesaopt.population import Population
from mesaopt.probes import Record
from mesaopt.sweep import SweepConfig, check_pool_limit, members, parse_sweep
from mesaopt.vocabulary import METRIC

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


def member_logs(records: list[Record], num_members: int) -> list[dict]:
    """Per-member dashboard values "split/predictor/metric", each averaged over positions."""
    flat = {f"{r.split}/{r.predictor}/{r.metric}":
            np.asarray(r.value).reshape(num_members, -1).mean(axis=1) for r in records}
    return [{k: float(v[i]) for k, v in flat.items()} for i in range(num_members)]


def train(cfg: RunConfig, max_chunks: int | None = None) -> Path:
    """Train one population, resuming from its checkpoint or skipping it if finished.

    `max_chunks` stops after that many chunks this call (a time-limited job); the next call resumes.
    Returns the run directory.
    """
    if cfg.plan:
        return show_plan(cfg)
    config = cfg.as_dict()
    run_id = results.run_id(config)
    run_dir = Path(cfg.out_dir) / run_id
    writer = distributed.is_writer()  # every process computes; only process 0 writes
    finished = results.is_finished(run_dir)
    distributed.barrier(f"start {run_id}")  # every process has seen the same files
    if finished:
        say(f"mesaopt: run {run_id} already finished in {run_dir}; skipping")
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    if writer:
        (run_dir / results.FAILED_FILE).unlink(missing_ok=True)  # a rerun of a failed run
        write_config(run_dir, config)  # at the start too: `mesaopt-status` reads partial runs
        if COMMAND:  # the command line that made the run (mesaopt-train; not a library call)
            (run_dir / COMMAND_FILE).write_text(shlex.join(COMMAND) + "\n")
    family, _, pop = build(cfg)
    if writer and cfg.progress:  # before the minutes of compiling (build only defines programs)
        say(f"mesaopt: run {run_id}: {pop.size} members on {len(jax.local_devices())} "
            f"{jax.default_backend()} device(s), {cfg.train.steps} steps, in {run_dir}; compiling")
    hparams = pop.placed_hparams()
    eval_set = pop.make_eval_set(hparams)
    limit = plan.device_memory()
    if limit is not None:  # a device that states its memory: check before training
        plan.check_fits(plan.programs(pop, hparams, eval_set), limit, pop.size)
    logger = registry.load("loggers", cfg.logger.name if writer else "none", "logger.name").Logger(
        cfg.logger, run_dir, run_id, config, pop.rows)
    checkpointer = Checkpointer(run_dir)

    state = pop.init(hparams)
    tables = []
    bar = tqdm(desc=f"{cfg.name} {run_id} ({pop.size} members)", total=cfg.train.steps,
               unit="step", disable=not cfg.progress)

    def record(step: int, records: list[Record]) -> None:
        records = distributed.to_host(records)
        tables.append(results.metric_rows(pop.rows, step, records))
        logger.log(step, member_logs(records, pop.size))
        shown = {r.metric: float(np.nanmean(r.value)) for r in records
                 if r.split == TRAIN_SPLIT and r.metric in PROGRESS_METRICS}
        if shown:  # the chunk's training loss (and return), mean over members and steps
            bar.set_postfix({m: f"{v:.4g}" for m, v in shown.items()})
        line = evaluation_line(records)
        if line and cfg.progress and writer:
            bar.write(f"{cfg.name} {run_id} step {step}: {line}", file=sys.stderr)

    if checkpointer.latest_step() is not None:
        step, state, table = checkpointer.restore(state)
        tables.append(table)
        say(f"mesaopt: resuming run {run_id} from step {step}")
    else:
        record(0, pop.evaluate(state.params, eval_set))
    num_chunks = cfg.train.steps // pop.chunk_steps
    first_chunk = distributed.first_value(state.step) // pop.chunk_steps
    todo = range(first_chunk, num_chunks if max_chunks is None else
                 min(num_chunks, first_chunk + max_chunks))
    bar.update(first_chunk * pop.chunk_steps)
    for chunk in todo:
        state, chunk_metrics = pop.train_chunk(state, hparams)
        step = (chunk + 1) * pop.chunk_steps
        bar.update(pop.chunk_steps)
        record(step, [*pop.evaluate(state.params, eval_set),
                      *[Record(TRAIN_SPLIT, pop.learner_name, name, values.mean(axis=1), "learner",
                               "train")
                        for name, values in chunk_metrics.items()]])
        if cfg.checkpoint_every and (chunk + 1) % cfg.checkpoint_every == 0 and step < cfg.train.steps:
            tables = [pd.concat(tables, ignore_index=True)]
            checkpointer.save(step, state, tables[0])
    bar.close()
    reached = distributed.first_value(state.step)
    if reached < cfg.train.steps:
        say(f"mesaopt: stopped run {run_id} at step {reached}; rerun to resume")
        return run_dir
    distributed.barrier(f"trained {run_id}")  # no process still reads the checkpoint
    if not writer:
        return run_dir
    write_config(run_dir, config)
    table = results.finalize(tables, run_id, config)
    results.write_atomic(table, run_dir / results.METRICS_FILE)
    checkpointer.clear()
    for member, step in results.deaths(table, pop.chunk_steps).items():
        say(f"mesaopt: member {member} ({pop.rows[member]}) diverged at step {step} (non-finite "
            "loss or gradient); its parameters are frozen since")
    from mesaopt import plots
    figures = {}
    for name in family.figures:
        try:
            figures[name] = plots.render(name, run_dir)["png"]
        except plots.NotDrawable as err:
            if not plots.spec(name).optional:
                say(f"mesaopt: skipped figure {name}: {err}")
        except Exception as err:  # a figure's bug loses neither the run nor the other figures
            say(f"mesaopt: figure {name} failed ({type(err).__name__}: {err}); the metrics are "
                f"written: redraw with `mesaopt-plot {name} {run_dir}`", error=True)
    logger.finish(figures)
    say(f"mesaopt: wrote {run_dir / results.METRICS_FILE} and {len(figures)} figures in "
        f"{run_dir / 'figures'} ({', '.join(figures)})")
    return run_dir


def show_plan(cfg: RunConfig) -> None:
    """Print the run's plan (mesaopt.plan) without training or writing anything."""
    _, _, pop = build(cfg)
    hparams = pop.placed_hparams()
    found = plan.programs(pop, hparams)
    seconds = plan.timed_chunk(pop, hparams) if cfg.plan == "time" else None
    print("\n".join(plan.lines(found, plan.device_memory(), pop.size, cfg.train.steps,
                               pop.chunk_steps, seconds)))


def write_config(run_dir: Path, config: dict) -> None:
    results.write_json_atomic({**config, results.PROVENANCE: provenance.current()},
                              run_dir / results.CONFIG_FILE)


def use_compilation_cache() -> None:
    """Keep compiled programs on disk (JAX's persistent cache) so that the jobs of a multirun with
    the same shapes, in other processes too (cluster launchers), and reruns skip compilation.
    JAX_COMPILATION_CACHE_DIR chooses the directory; by default ~/.cache/mesaopt/jax."""
    if not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", str(Path.home() / ".cache" / "mesaopt" / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def record_failure(cfg: RunConfig, err: Exception) -> str:
    """Write the run's failed.json (error line, step reached, traceback); returns the line."""
    run_dir = Path(cfg.out_dir) / results.run_id(cfg.as_dict())
    line = f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"
    if not distributed.is_writer():
        return line
    try:
        step = checkpoint.latest_step(run_dir) or 0
        run_dir.mkdir(parents=True, exist_ok=True)
        results.write_json_atomic({"error": line, "step": step,
                                   "traceback": traceback.format_exc()},
                                  run_dir / results.FAILED_FILE)
    except OSError:  # nowhere to write it: the line on stderr still says it
        pass
    return line


# ---- command line ---------------------------------------------------------------------------

def evaluation_line(records: list[Record]) -> str:
    """An evaluation's headline for the console: the first of the results command's default
    metrics the learner wrote on the held-out split, mean over members (and positions)."""
    for metric in summary.DEFAULT_METRICS:
        for r in records:
            if r.metric == metric and r.split == "true" and r.role == "learner":
                value = np.asarray(r.value, float)
                shown = f"{np.nanmean(value):.4g}" if np.isfinite(value).any() else "nan"
                return f"{metric} (held out, learner, mean over members) {shown}"
    return ""


def say(message: str, error: bool = False) -> None:
    """A run's message on the console (stderr for an error) and in Hydra's job log (run.log)
    where Hydra keeps one."""
    print(message, file=sys.stderr if error else sys.stdout, flush=True)
    record = logging.LogRecord("mesaopt", logging.ERROR if error else logging.INFO, __file__, 0,
                               message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _fail(message: str) -> None:
    print(f"mesaopt-train: error: {message}", file=sys.stderr)
    sys.exit(2)


def _groups() -> dict[str, list[str]]:
    """group -> its options: YAML files and the stored defaults (`store_defaults`)."""
    from hydra.core.config_store import ConfigStore
    store_defaults()
    stored = {group: [n.removesuffix(".yaml") for n in node if n.endswith(".yaml")]
              for group, node in ConfigStore.instance().repo.items() if isinstance(node, dict)}
    files = {d.name: [p.stem for p in d.glob("*.yaml")] for d in CONFIG_DIR.iterdir() if d.is_dir()}
    return {g: sorted(set(stored.get(g, [])) | set(files.get(g, []))) for g in {*stored, *files}}


MIN_FREE_BYTES = 100 * 2**20  # a run writes checkpoints and tables; less than this: refuse


def check_writable(out_dir: str) -> None:
    """Raise ConfigError if `out_dir` cannot be created and written, or its disk is nearly full."""
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        free = shutil.disk_usage(path).free
    except OSError as err:
        raise ConfigError(f"out_dir: cannot write to {out_dir}: {err.strerror or err}") from None
    require(free >= MIN_FREE_BYTES, "out_dir",
            f"{out_dir} has {free / 2**20:.0f} MiB free; a run needs at least "
            f"{MIN_FREE_BYTES // 2**20} MiB")


# Overrides that do not change what runs: where and how it reports, how it is laid out or
# planned, and the preset or name (already the directory's name).
UNTAGGED = ("hydra", "logger", "out_dir", "progress", "plan", "checkpoint_every", "deterministic",
            "experiment", "name", "run_tag", "train.member_chunk", "eval.member_chunk")
COMMAND_FILE = "command.txt"
PROGRESS_METRICS = (METRIC.loss, METRIC.episode_return)  # training metrics the bar shows
COMMAND: list[str] = []  # the mesaopt-train command line of this process (main sets it)


def run_tag(overrides: list[str]) -> str:
    """"-" and 6 hex digits naming the command line's overrides that change what runs, "" where
    there are none: by default (out_dir: outputs/<name><run_tag>) runs of other settings land in
    another directory, not beside the preset's runs where an analysis would pool them. The values
    a multirun sweeps are left out: those runs are one sweep, told apart by their run ids."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    kept = sorted(o.input_line.lstrip("+") for o in OverridesParser.create().parse_overrides(
        overrides) if not o.is_sweep_override() and not any(
            o.key_or_group.lstrip("+~") == key or o.key_or_group.lstrip("+~").startswith(
                (f"{key}.", f"{key}/")) for key in UNTAGGED))
    return "-" + hashlib.sha1("\n".join(kept).encode()).hexdigest()[:6] if kept else ""


def precheck(overrides: list[str]) -> int:
    """Compose and validate every job of the sweep these overrides describe, before any work;
    returns the largest population among them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        _fail(str(err).strip().splitlines()[0])
    groups = _groups()
    for override in parsed:
        key = override.key_or_group.lstrip("+~")
        if key in groups and override.value() is not None:
            values = override.sweep_string_iterator() if override.is_sweep_override() \
                else [override.get_value_element_as_str()]
            for value in values:
                if value not in groups[key]:
                    _fail(f"{key}: unknown option {value!r} (allowed: {', '.join(groups[key])})")
    jobs = BasicSweeper.split_arguments([o for o in parsed if not o.key_or_group.startswith(
        "hydra")], None)[0]
    largest, out_dirs = 1, set()
    for job in jobs:
        try:
            cfg = load_config(compose_config(*job))
            out_dirs.add(cfg.out_dir)
            largest = max(largest, population_size(cfg))
        except ConfigError as err:
            _fail(str(err))
        except Exception as err:  # Hydra/OmegaConf errors: keep their first line
            first = str(err).strip().splitlines()[0]
            missing = re.fullmatch(r"Could not override '(.+)'\.", first)
            if not missing:
                _fail(first)
            near = _near_keys(job, missing[1])
            _fail(f"{missing[1]}: not a key of this config; did you mean "
                  f"{' or '.join(f'`{k}`' for k in near)}?" if near else
                  f"{missing[1]}: not a key of this config (declared by another task, learner or "
                  f"training method? `+{missing[1]}=...` adds a key)")
    for out_dir in sorted(out_dirs):  # only once every job is valid: nothing written before
        try:
            check_writable(out_dir)
        except ConfigError as err:
            _fail(str(err))
        say(f"mesaopt: output directory {out_dir}")
    return largest


def _near_keys(job: list[str], key: str) -> list[str]:
    """Keys of `key`'s group close to its last part (a typo's likely meaning), composed without
    the overrides of that key."""
    import difflib
    parent, _, name = key.rpartition(".")
    others = [o for o in job if o.split("=", 1)[0].lstrip("+~") != key]
    try:
        node = compose_config(*others)
    except Exception:  # noqa: BLE001 - the other overrides fail too: no hint
        return []
    for part in parent.split(".") if parent else ():
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return []
    found = difflib.get_close_matches(name, [str(k) for k in node], n=2, cutoff=0.6)
    return [f"{parent}.{k}" if parent else k for k in found]


def main() -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    args = sys.argv[1:]
    COMMAND[:] = ["mesaopt-train", *args]
    if not any(a.split("=", 1)[0].lstrip("+") == "out_dir" for a in args):
        tag = run_tag([a for a in args if not a.startswith("-")])
        if tag:  # Hydra's own app reads sys.argv: the tag goes there too
            sys.argv.append(f"run_tag={tag}")
            args.append(f"run_tag={tag}")
    largest = None
    if not any(a.startswith("-") and a not in ("-m", "--multirun") for a in args):
        largest = precheck([a for a in args if not a.startswith("-")])

    failures = []
    store_defaults()

    @hydra.main(version_base=None, config_path=str(CONFIG_DIR), config_name="config")
    def app(composed) -> None:
        for noisy in ("jax._src.xla_bridge", "absl"):  # backend probes, checkpoint chatter
            logging.getLogger(noisy).setLevel(logging.WARNING)
        try:
            cfg = load_config(OmegaConf.to_container(composed, resolve=True))
        except ConfigError as err:
            _fail(str(err))
        try:
            processes = distributed.process_count_requested()
        except ConfigError as err:
            _fail(str(err))
        if cfg.deterministic and not devices.make_deterministic():
            say("mesaopt: deterministic=true came after JAX started (in a multirun the first "
                "job's setting holds for all): not set for this job", error=True)
        # The first job decides for all; in a multi-process run each process holds its share.
        devices.expose_cpu(-(-(largest or population_size(cfg)) // processes))
        distributed.initialize()
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            use_compilation_cache()
        try:
            train(cfg)
        except Exception as err:  # one failed job must not stop the others of a multirun
            line = record_failure(cfg, err)
            failures.append(cfg.out_dir)
            say(f"mesaopt: run {results.run_id(cfg.as_dict())} failed: {line}", error=True)

    app()
    if failures:
        print(f"mesaopt-train: {len(failures)} run(s) failed (`mesaopt-status "
              f"{' '.join(sorted(set(failures)))}` lists them; rerunning the command completes "
              "only what is missing)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":  # through the imported module: launchers pickle `app` by reference
    from mesaopt.run import main as imported_main
    imported_main()
