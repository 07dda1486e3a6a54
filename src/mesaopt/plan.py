"""A run's plan before it runs (`mesaopt-train ... plan=true`): each compiled program of the
population (the training chunk, the evaluation) with XLA's memory analysis (arguments, outputs,
temporaries; what the program holds at its peak) and its FLOPs (XLA's cost analysis), against the
device's memory; with `plan=time`, one training chunk is run and timed and the whole run's wall
time projected from it. Nothing is written.

A real run checks the same memory before it trains where the device states its memory (GPUs; on
CPU where MESAOPT_DEVICE_MEMORY gives a size in bytes), and stops with one line naming the program
and the settings that shrink it."""
from __future__ import annotations

import os
import time
from typing import NamedTuple

import jax

from mesaopt import distributed
from mesaopt.population import group_size

DEVICE_MEMORY_ENV = "MESAOPT_DEVICE_MEMORY"
SHRINK = ("lower eval.batch_size (evaluation) or train.batch_size, or take fewer members at once "
          "(train.member_chunk, eval.member_chunk)")
GROUPING = {"train_chunk": "train.member_chunk", "evaluate": "eval.member_chunk",
            "evaluate_final": "eval.member_chunk"}


def member_groups(cfg) -> dict[str, int]:
    """Program name -> its member_chunk in the run config `cfg` (0: all members at once)."""
    return {name: getattr(getattr(cfg, setting.split(".")[0]), setting.split(".")[1])
            for name, setting in GROUPING.items()}


class Program(NamedTuple):
    name: str
    peak_bytes: int      # arguments + outputs + temporaries - aliased (donated) buffers
    arguments: int
    outputs: int
    temporaries: int
    flops: float         # XLA's count for one call; nan where the backend gives none


def device_memory() -> int | None:
    """Bytes of memory of one device: MESAOPT_DEVICE_MEMORY if set, else what the device reports
    (GPUs), else None (a CPU: the host's memory is not the device's)."""
    if os.environ.get(DEVICE_MEMORY_ENV):
        return int(float(os.environ[DEVICE_MEMORY_ENV]))
    stats = jax.local_devices()[0].memory_stats() or {}  # this process's own device
    return stats.get("bytes_limit")


def _analysed(name: str, compiled) -> Program:
    memory = compiled.memory_analysis()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost  # older JAX: one dict per module
    sizes = [int(getattr(memory, f"{what}_size_in_bytes", 0) or 0)
             for what in ("argument", "output", "temp", "alias")]
    return Program(name, sizes[0] + sizes[1] + sizes[2] - sizes[3], *sizes[:3],
                   float((cost or {}).get("flops", float("nan"))))


def eval_set_of(pop, hparams):
    """The evaluation set's shapes without computing it, or (references built on the host) the
    set itself."""
    if hasattr(pop.evaluator, "eval_set_shape"):
        return pop.evaluator.eval_set_shape(hparams)
    try:
        return jax.eval_shape(pop.make_eval_set, hparams)
    except Exception:  # noqa: BLE001 (host-built references need concrete values)
        return pop.make_eval_set(hparams)


# `plan=true` compiles programs it never runs: XLA's backend (LLVM on CPU) need not optimize them.
# The memory and FLOPs come from the HLO passes, before the backend: the same numbers (measured on
# the maze smoke evaluation: identical sizes, compilation 23 s instead of 43 s on 2 cores).
# A run's own precheck keeps the default, so that the compilation cache serves the run.
PLAN_ONLY = {"xla_backend_optimization_level": 0}


def _options(plan_only: bool) -> dict | None:
    return PLAN_ONLY if plan_only else None


def evaluation(pop, hparams, eval_set=None, plan_only: bool = False) -> list[Program]:
    """The population's evaluation programs compiled (not run) and analysed: every evaluation's,
    and the last one's where `eval.final_only` makes it another; `eval_set`: the set (or its
    shapes) where the caller has it already."""
    params = jax.eval_shape(pop.init, hparams).params
    eval_set = eval_set_of(pop, hparams) if eval_set is None else eval_set
    programs = {"evaluate": pop.evaluate}
    if pop.evaluate_final is not pop.evaluate:
        programs["evaluate_final"] = pop.evaluate_final
    return [_analysed(name, program.lower(params, eval_set).compile(
        compiler_options=_options(plan_only))) for name, program in programs.items()]


def programs(pop, hparams, eval_set=None, plan_only: bool = False) -> list[Program]:
    """The population's training chunk and evaluation, compiled (not run) and analysed. Per
    device: where members are split across devices, each holds its share."""
    state = jax.eval_shape(pop.init, hparams)
    chunk = pop.train_chunk.lower(state, hparams).compile(compiler_options=_options(plan_only))
    return [_analysed("train_chunk", chunk), *evaluation(pop, hparams, eval_set, plan_only)]


def member_chunk_for(members: int, peak: int, limit: int, devices: int = 1) -> int | None:
    """The largest group of members per device (a divisor of each device's share) whose part of
    a program's peak per device, taken as proportional to the members, fits `limit`; None if one
    does not."""
    share = members // devices
    fitting = [d for d in range(1, share + 1) if share % d == 0 and peak * d / share <= limit]
    return max(fitting) if fitting else None


def proposal(program: Program, limit: int, members: int) -> str | None:
    """The member grouping that should make `program` fit ("train.member_chunk=6"), or None."""
    devices = len(distributed.member_devices(members))
    group = member_chunk_for(members, program.peak_bytes, limit, devices) if members > 1 else None
    return f"{GROUPING[program.name]}={group}" if group else None


def check_fits(found: list[Program], limit: int | None, members: int = 1) -> None:
    """Raise MemoryError naming the first program that does not fit `limit` bytes (and the group
    of members, train.member_chunk or eval.member_chunk, that would)."""
    for program in found:
        if limit is not None and program.peak_bytes > limit:
            grouping = proposal(program, limit, members)
            hint = f" ({grouping} should fit)" if grouping else ""
            raise MemoryError(
                f"{program.name} needs {gib(program.peak_bytes)} of the device's {gib(limit)}: "
                f"{SHRINK}{hint}")


def gib(size: float) -> str:
    """A size in GiB, or MiB below one GiB."""
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"


def one_device(program: Program, members: int, devices: int, group: int | None) -> float:
    """What `program`, measured per device of `devices` sharing `members`, would need on one
    device taking `group` members at a time (0 or None: all): arguments and outputs grow with
    the members it holds, temporaries with the members it works on at once."""
    at_once = group_size(members, group or 0) / group_size(members // devices, group or 0)
    return devices * (program.arguments + program.outputs) + at_once * program.temporaries


def lines(found: list[Program], limit: int | None, members: int, steps: int,
          chunk_steps: int, chunk_seconds: float | None = None,
          groups: dict[str, int] | None = None) -> list[str]:
    """The printed plan; `groups`: program name -> its member_chunk (members per device at a
    time; 0: all)."""
    device = jax.local_devices()[0]
    used = len(distributed.member_devices(members))
    out = [f"plan: {members} members, {steps} steps in chunks of {chunk_steps}, on {used} "
           f"{device.platform} device(s) ({device.device_kind}), {members // used} members each; "
           f"device memory {gib(limit) if limit is not None else 'not stated (CPU)'}",
           "  per device; FLOPs as XLA counts them (a loop's body once: a lower bound)"]
    for p in found:
        fits = "" if limit is None else ("  fits" if p.peak_bytes <= limit else "  DOES NOT FIT")
        out.append(f"  {p.name:12s} peak {gib(p.peak_bytes)} (arguments {gib(p.arguments)}, "
                   f"outputs {gib(p.outputs)}, temporaries {gib(p.temporaries)}), "
                   f"{p.flops / 1e9:.3g} GFLOP per call{fits}")
    for p in found:
        grouping = proposal(p, limit, members) if limit is not None and p.peak_bytes > limit \
            else None
        if grouping:
            out.append(f"  proposal: {grouping} (groups of members one after another; memory "
                       "taken as proportional to the members)")
    if used > 1:
        groups = groups or {}
        out.append(f"  all {members} members on one device (the same member groups): about "
                   + ", ".join(f"{p.name} {gib(one_device(p, members, used, groups.get(p.name)))}"
                               for p in found))
    if chunk_seconds is not None:
        chunks = steps // chunk_steps
        out.append(f"  one chunk took {chunk_seconds:.2f} s (after compilation): training "
                   f"projects to {chunks * chunk_seconds / 60:.1f} min for {chunks} chunks, "
                   f"evaluations not included")
    return out


def report(found: list[Program], limit: int | None, pop, cfg,
           chunk_seconds: float | None = None) -> str:
    """The printed plan of population `pop` built from run config `cfg`."""
    return "\n".join(lines(found, limit, pop.size, cfg.train.steps, pop.chunk_steps,
                           chunk_seconds, member_groups(cfg)))


def timed_chunk(pop, hparams) -> float:
    """Seconds of one training chunk, compiled first (a warm-up call), the result discarded."""
    state = pop.init(hparams)
    state, _ = pop.train_chunk(state, hparams)
    jax.block_until_ready(state)
    start = time.perf_counter()
    jax.block_until_ready(pop.train_chunk(state, hparams))
    return time.perf_counter() - start
