"""Train one validated config (`compose.RunConfig`): population -> chunks -> evaluations ->
checkpoints -> the table, figures and logger; resumes from its checkpoint, skips a finished run,
records a failure. `mesaopt.command` is the command line around it.
"""
from __future__ import annotations

import logging
import shlex
import sys
import traceback
from pathlib import Path

import jax
import numpy as np
import pandas as pd
from tqdm import tqdm

from mesaopt import (checkpoint, distributed, metrics, plan, provenance, registry, results,
                     summary)
from mesaopt.checkpoint import Checkpointer
from mesaopt.compose import RunConfig, build
from mesaopt.metrics import TRAIN_SPLIT
from mesaopt.probes import Record
from mesaopt.vocabulary import METRIC

COMMAND_FILE = "command.txt"


PROGRESS_METRICS = (METRIC.loss, METRIC.episode_return)  # training metrics the bar shows


COMMAND: list[str] = []  # the mesaopt-train command line of this process (main sets it)


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
    if limit is not None:  # a device that states its memory: the plan, checked before training
        found = plan.programs(pop, hparams, eval_set)
        if writer:
            say(plan.report(found, limit, pop, cfg))
        plan.check_fits(found, limit, pop.size)
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
        logger.log(step, results.member_logs(tables[-1], pop.size))
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
        chunk_records = metrics.reduce_chunk(pop.method.metrics,
                                             distributed.to_host(chunk_metrics))
        evaluate = pop.evaluate_final if step == cfg.train.steps else pop.evaluate
        record(step, [*evaluate(state.params, eval_set),
                      *[Record(TRAIN_SPLIT, pop.learner_name, name, values, "learner", "train")
                        for name, values in chunk_records.items()]])
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
    for member, step in results.deaths(table).items():
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
    found = plan.programs(pop, hparams, plan_only=True)
    seconds = plan.timed_chunk(pop, hparams) if cfg.plan == "time" else None
    print(plan.report(found, plan.device_memory(), pop, cfg, seconds))


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
    """A run's message on the console (stderr for an error) and in Hydra's job log (mesaopt-train.log)
    where Hydra keeps one."""
    print(message, file=sys.stderr if error else sys.stdout, flush=True)
    record = logging.LogRecord("mesaopt", logging.ERROR if error else logging.INFO, __file__, 0,
                               message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
