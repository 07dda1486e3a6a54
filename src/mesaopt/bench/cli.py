"""`mesaopt-bench [--quick] [--json PATH] [--dtype float32|bfloat16]`.

Measures, in one process on one machine: the peak matmul FLOP/s, training throughput and
utilization of named model sizes, the population speed-up over per-point runs, evaluation's
share of a run, and the environment steps/s of bandit (A2C) training. Timings exclude compilation (reported separately) and take the median of repeats.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp

from mesaopt import run
from mesaopt.bench.flops import transformer_train_flops_per_step
from mesaopt.population import Population
from mesaopt.train.supervised import init_state, train_chunk

SIZES = {  # the linreg transformer at D=8, K=16, batch 128
    "tiny": ("learner.depth=1", "learner.width=32", "learner.heads=2"),
    "small": ("learner.depth=2", "learner.width=64", "learner.heads=2"),
    "base": ("learner.depth=8", "learner.width=128", "learner.heads=2"),
}
BASE_TASK = ("task.dim=8", "task.context_len=16", "train.batch_size=128")
PRESET = "linreg_diversity_cpu"
BANDIT_PRESET = "bandit_diversity_cpu"


def compose(*overrides: str):
    return run.load_config(run.compose_config("logger=none", "progress=false", *overrides))


def short_run(steps: int, *overrides: str):
    """A config of `steps` steps in one chunk, unlimited diversity, no warmup."""
    return compose(*overrides, f"train.steps={steps}", f"eval.every={steps}",
                   "train.warmup_steps=0", "sweep.num_tasks=[null]")


def median_time(fn, repeats: int) -> float:
    jax.block_until_ready(fn())  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_matmul_flops(n: int, dtype: str, repeats: int) -> float:
    """Best FLOP/s of an n x n matmul over repeats: one on one device, and one per device at once
    (CPU cores exposed as devices); the larger is the machine's peak."""
    matmul = jax.jit(jnp.matmul)
    devices = jax.local_devices()
    a = jax.random.normal(jax.random.key(0), (len(devices), n, n), dtype)
    spread = jax.device_put(a, jax.sharding.NamedSharding(
        jax.sharding.Mesh(devices, ("d",)), jax.sharding.PartitionSpec("d")))
    best = []
    for operand, count in ((a[0], 1), (spread, len(devices))):
        times = [median_time(lambda: matmul(operand, operand), 1) for _ in range(repeats + 2)]
        best.append(2 * n**3 * count / min(times))
    return max(best)


def single_program(cfg):
    """One member's compiled chunk, its first hparams and state, and the compile time."""
    family, learner, pop = run.build(cfg)
    hparams = pop.member(0)
    state = jax.jit(partial(init_state, learner, cfg.train))(hparams)
    start = time.perf_counter()
    chunk = jax.jit(partial(train_chunk, family, learner, cfg.train, cfg.eval.every)).lower(
        state, hparams).compile()
    return chunk, pop, state, time.perf_counter() - start


def throughput(size: str, steps: int, dtype: str, peak: float, repeats: int) -> dict:
    cfg = short_run(steps, *SIZES[size], *BASE_TASK, f"learner.dtype={dtype}")
    chunk, pop, state, compile_s = single_program(cfg)
    seconds = median_time(lambda: chunk(state, pop.member(0)), repeats)
    family = run.build_family(cfg)
    flops = transformer_train_flops_per_step(family, cfg.learner, cfg.train.batch_size)
    tokens = cfg.train.batch_size * 2 * family.context_len
    return dict(steps_per_s=steps / seconds, tokens_per_s=steps * tokens / seconds,
                flops_per_step=flops, achieved_flops=flops * steps / seconds,
                utilization=flops * steps / seconds / peak, compile_s=compile_s)


def population_vs_sequential(members: int, steps: int, repeats: int) -> dict:
    """Population program vs the same members one after another with one compiled program."""
    cfg = short_run(steps, f"experiment={PRESET}", f"sweep.seeds={members}")
    chunk, pop, state, _ = single_program(cfg)
    hparams = [pop.member(i) for i in range(members)]
    sequential = median_time(lambda: [chunk(state, h) for h in hparams], repeats)
    placed = pop.placed_hparams()  # members spread over the devices, as a run does
    states = pop.init(placed)
    population = median_time(lambda: pop.train_chunk(states, placed), repeats)
    return dict(population_s=population, sequential_s=sequential, speedup=sequential / population)


def cli_wall_time(steps: int, seeds_arg: str, multirun: bool) -> float:
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "mesaopt", *(["-m"] if multirun else []),
                   f"experiment={PRESET}", "logger=none", "progress=false", f"out_dir={out}",
                   f"train.steps={steps}", f"eval.every={steps}", "train.warmup_steps=0",
                   "sweep.num_tasks=[null]", seeds_arg]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env={**os.environ, "WANDB_MODE": "disabled"})
        return time.perf_counter() - start


def population_vs_multirun(members: int, steps: int) -> dict:
    """`mesaopt-train` with P members vs a Hydra multirun of P single-member jobs (wall time)."""
    population = cli_wall_time(steps, f"sweep.seeds={members}", multirun=False)
    seeds = ",".join(str(s) for s in range(members))
    multirun = cli_wall_time(steps, f"sweep.first_seed={seeds}", multirun=True)
    return dict(population_s=population, multirun_s=multirun, speedup=multirun / population)


def evaluation_share(probe_steps: int, repeats: int, *overrides: str) -> dict:
    """Share of a preset run spent in evaluation (references once + the learner every chunk)."""
    cfg = compose(f"experiment={PRESET}", *overrides)
    family, learner, pop = run.build(cfg)
    probe = short_run(probe_steps, f"experiment={PRESET}", *overrides)
    probe_pop = Population(family, learner, cfg.learner.name, probe.train, probe.eval, cfg.sweep)
    placed = pop.placed_hparams()
    state = pop.init(placed)
    eval_set_s = median_time(lambda: pop.make_eval_set(placed), 1)
    eval_set = pop.make_eval_set(placed)
    evaluate_s = median_time(lambda: pop.evaluate(state.params, eval_set), repeats)
    step_s = median_time(lambda: probe_pop.train_chunk(state, placed), repeats) / probe_steps
    num_evals = cfg.train.steps // cfg.eval.every + 1
    eval_total = eval_set_s + num_evals * evaluate_s
    return dict(eval_s=eval_total, train_s=step_s * cfg.train.steps,
                share=eval_total / (eval_total + step_s * cfg.train.steps))


def bandit_throughput(updates: int, repeats: int, *overrides: str) -> dict:
    """Environment steps/s of A2C training of the bandit preset's whole population, and the time
    to build its evaluation set (every reference rolled out once, Bayes tables solved)."""
    cfg = compose(f"experiment={BANDIT_PRESET}", f"train.steps={updates}", f"eval.every={updates}",
                  "train.warmup_steps=0", *overrides)
    env, _, pop = run.build(cfg)
    placed = pop.placed_hparams()
    state = pop.init(placed)
    seconds = median_time(lambda: pop.train_chunk(state, placed), repeats)
    start = time.perf_counter()
    jax.block_until_ready(pop.make_eval_set(placed))
    env_steps = pop.size * cfg.train.batch_size * env.horizon * updates
    return dict(members=pop.size, env_steps_per_s=env_steps / seconds,
                updates_per_s=updates / seconds, eval_set_s=time.perf_counter() - start)


def measure(quick: bool, dtype: str) -> dict:
    repeats = 2 if quick else 3
    peak = peak_matmul_flops(512 if quick else 2048, dtype, repeats)
    sizes = ("tiny", "small") if quick else tuple(SIZES)
    models = {size: throughput(size, 8 if quick else 16, dtype, peak, repeats) for size in sizes}
    population_sizes = (1, 2) if quick else (1, 4, 16, 64)
    steps = 8 if quick else 16
    inprocess = {p: population_vs_sequential(p, steps, repeats) for p in population_sizes}
    multirun = {}
    # More one-job-per-point runs take minutes each; --quick measures one and extrapolates the rest.
    measured = population_sizes[:1 if quick else 2]
    for p in population_sizes:
        if p in measured:
            multirun[p] = dict(population_vs_multirun(p, steps), extrapolated=False)
        else:  # jobs are identical: scale the measured per-job time
            per_job = multirun[measured[-1]]["multirun_s"] / measured[-1]
            population = cli_wall_time(steps, f"sweep.seeds={p}", multirun=False)
            multirun[p] = dict(population_s=population, multirun_s=per_job * p,
                               speedup=per_job * p / population, extrapolated=True)
    evaluation = evaluation_share(8 if quick else 16, repeats,
                                  *(("sweep.num_tasks=[1,null]", "eval.batch_size=64") if quick else ()))
    bandit = bandit_throughput(2 if quick else 16, repeats,
                               *(("sweep.num_tasks=[1,null]", "eval.batch_size=64") if quick else ()))
    return {
        "device": str(jax.devices()[0].device_kind), "platform": jax.default_backend(),
        "dtype": dtype, "quick": quick,
        "peak_matmul_flops": peak,
        "steps_per_s": {s: m["steps_per_s"] for s, m in models.items()},
        "tokens_per_s": {s: m["tokens_per_s"] for s, m in models.items()},
        "utilization": {s: m["utilization"] for s, m in models.items()},
        "models": models,
        "population_speedup": {p: m["speedup"] for p, m in multirun.items()},
        "population_speedup_inprocess": {p: m["speedup"] for p, m in inprocess.items()},
        "population": {"multirun": multirun, "inprocess": inprocess, "steps": steps},
        "evaluation_share": evaluation["share"], "evaluation": evaluation,
        "bandit_env_steps_per_s": bandit["env_steps_per_s"], "bandit": bandit,
    }


def table(report: dict) -> str:
    lines = [f"device: {report['device']} ({report['platform']}, {report['dtype']})",
             f"peak matmul: {report['peak_matmul_flops'] / 1e9:.1f} GFLOP/s", "",
             f"{'model':<6} {'steps/s':>9} {'tokens/s':>11} {'GFLOP/step':>11} {'GFLOP/s':>9} "
             f"{'util':>6} {'compile s':>9}"]
    for size, m in report["models"].items():
        lines.append(f"{size:<6} {m['steps_per_s']:>9.1f} {m['tokens_per_s']:>11.0f} "
                     f"{m['flops_per_step'] / 1e9:>11.3f} {m['achieved_flops'] / 1e9:>9.1f} "
                     f"{m['utilization']:>6.1%} {m['compile_s']:>9.2f}")
    lines += ["", f"{'P':>3} {'population s':>13} {'multirun s':>11} {'speed-up':>9} "
                  f"{'sequential s':>13} {'speed-up':>9}"]
    pop = report["population"]
    for p, m in pop["multirun"].items():
        seq = pop["inprocess"][p]
        note = " (multirun time = jobs x measured per-job time)" if m["extrapolated"] else ""
        lines.append(f"{p:>3} {m['population_s']:>13.2f} {m['multirun_s']:>11.2f} "
                     f"{m['speedup']:>8.2f}x {seq['sequential_s']:>13.2f} {seq['speedup']:>8.2f}x{note}")
    lines.append(f"(population vs multirun: whole `mesaopt-train` runs of {pop['steps']} steps, wall "
                 f"time; vs sequential: training only, one compiled single-member program reused)")
    ev = report["evaluation"]
    lines += ["", f"evaluation share of a {PRESET} run: {report['evaluation_share']:.1%} "
                  f"({ev['eval_s']:.1f} s of {ev['eval_s'] + ev['train_s']:.1f} s)"]
    b = report["bandit"]
    lines += [f"{BANDIT_PRESET} (A2C, {b['members']} members): {b['env_steps_per_s']:,.0f} env "
              f"steps/s ({b['updates_per_s']:.1f} population updates/s); evaluation set with every "
              f"reference: {b['eval_set_s']:.1f} s"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mesaopt-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke check")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    args = parser.parse_args(argv)
    report = measure(args.quick, args.dtype)
    print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
