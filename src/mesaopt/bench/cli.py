"""`mesaopt-bench [--quick] [--json PATH] [--dtype float32|bfloat16] [--members 1,4,16,64]
[--population-model preset|tiny|small|base]`.

Measures, on the machine it runs on, in two processes that see the CPU the way a run does
(`mesaopt.devices`): *single* (one device: the whole CPU to one program) gives the peak matmul
FLOP/s one program reaches and the training throughput and utilization of named model sizes, each
side by side with a minimal hand-written loop of the same model (`bench.minimal`) so that they read
as ratios; *population* (two devices per core, members spread over them) gives the peak of one
matmul per device at once, the population speed-up over per-point runs, evaluation's share of a
run, and the environment steps/s of bandit (A2C) training. The *single* part also runs PPO on
mazes for the MLP, recurrent and convolutional agents at 1 and 16 members, side by side with a
minimal hand-written PPO loop (`bench.minimal_ppo`), with the share of live steps; the
*population* part runs the 16-member PPO populations again as `mesaopt-train` does (spread over
its devices), to set beside the minimal loop's one-device program. The population's model is
the quick-start preset's (`--population-model preset`) or one of the named sizes on the base task
(`base`: 8 blocks of width 128, the model whose share of the GPU's peak the issue tracker asks
about; the population speed-ups over whole runs are measured for the preset only). `--dtype`
applies to every model and peak. On GPUs both processes see the same devices. Timings exclude compilation (reported apart) and take the median
of repeats.

Longer than 300 lines: one command whose parts (single and population processes, supervised,
PPO and GPU rows) share its config helpers, its timing and its table format; each part is one
function.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import scipy.stats

from mesaopt import compose, devices, distributed, tasks
from mesaopt.bench import minimal, minimal_ppo
from mesaopt.bench.flops import transformer_train_flops_per_step
from mesaopt.train import ppo, training_tasks
from mesaopt.vocabulary import METRIC

SIZES = {  # the linreg transformer at D=8, K=16, batch 128
    "tiny": ("learner.depth=1", "learner.width=32", "learner.heads=2"),
    "small": ("learner.depth=2", "learner.width=64", "learner.heads=2"),
    "base": ("learner.depth=8", "learner.width=128", "learner.heads=2"),
}
BASE_TASK = ("task.dim=8", "task.context_len=16", "train.batch_size=128")
PRESET = "linreg_diversity_cpu"
BANDIT_PRESET = "bandit_diversity_cpu"
MAZE_PRESET = "maze_diversity_cpu"
MAZE_AGENTS = {  # the agent kinds of the RL section: conv_gru learner overrides
    "mlp": ("learner.channels=[]", "learner.stride=1", "learner.recurrent=false"),
    "mlp_gru": ("learner.channels=[]", "learner.stride=1", "learner.recurrent=true"),
    "conv16": ("learner.channels=[16]", "learner.stride=1", "learner.recurrent=false"),
    "conv16_s2": ("learner.channels=[16]", "learner.stride=2", "learner.recurrent=false"),
}
MAZE_AGENTS_QUICK = ("conv16_s2",)  # the presets' agent (the recurrent path: test_ppo)
MAZE_QUICK = ("task.cells=2", "task.horizon=8", "sweep.corner_size=[2]", "train.batch_size=8",
              "train.minibatches=2", "learner.embed=8", "learner.hidden=8")
PARTS = {"single": 1, "population": 2}  # part -> the population size its device exposure is for


def config(*overrides: str):
    return compose.load_config(compose.compose_config("logger=none", "progress=false", *overrides))


def short_run(steps: int, *overrides: str):
    """A config of `steps` steps in one chunk, unlimited diversity, no warmup."""
    return config(*overrides, f"train.steps={steps}", f"eval.every={steps}",
                   "train.warmup_steps=0", "sweep.num_tasks=[null]")


def median_time(fn, repeats: int) -> float:
    jax.block_until_ready(fn())  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def threaded(chunk, state, *args):
    """A no-argument call of `chunk(state, *args) -> (state, ...)` that feeds each call the
    previous call's state (training programs donate their state: it cannot be passed twice)."""
    box = [state]

    def call():
        box[0], *rest = chunk(box[0], *args)
        return box[0]
    return call


def peak_matmul_flops(n: int, dtype: str, repeats: int, per_device: bool) -> float:
    """Best FLOP/s of an n x n matmul over repeats: one program on the first device, or
    (`per_device`) one matmul on every device at once, as a population's shards run."""
    matmul = jax.jit(jnp.matmul)
    devices = jax.local_devices() if per_device else jax.local_devices()[:1]
    a = jax.random.normal(jax.random.key(0), (len(devices), n, n), dtype)
    operand = jax.device_put(a, jax.sharding.NamedSharding(
        jax.sharding.Mesh(devices, ("d",)), jax.sharding.PartitionSpec("d"))) if per_device else a[0]
    times = [median_time(lambda: matmul(operand, operand), 1) for _ in range(repeats + 2)]
    return 2 * n**3 * len(devices) / min(times)


def peak_size(quick: bool) -> int:
    """The peak matmul's n: 8192 on an accelerator (smaller ones do not fill it), on a CPU 2048
    (--quick: 512)."""
    return 8192 if jax.default_backend() != "cpu" else 512 if quick else 2048


def member_program(cfg):
    """The run's compiled population program for `cfg` (a single run is a population of one),
    its placed hparams and initial state, and the compile time."""
    _, _, pop = compose.build(cfg)
    hparams = pop.placed_hparams()
    state = pop.init(hparams)
    start = time.perf_counter()
    chunk = pop.train_chunk.lower(state, hparams).compile()
    return chunk, hparams, state, time.perf_counter() - start


def throughput(size: str, steps: int, dtype: str, peak: float, repeats: int) -> dict:
    """Steps/s of a single run's training program, alternating with the minimal loop's."""
    cfg = short_run(steps, *SIZES[size], *BASE_TASK, f"learner.dtype={dtype}")
    chunk, hparams, state, compile_s = member_program(cfg)
    family, lcfg = compose.build_family(cfg), cfg.learner
    ref_chunk, tx = minimal.make_chunk(steps, cfg.train.batch_size, family.input_dim,
                                       family.context_len, lcfg.heads, dtype)
    params = minimal.init_params(jax.random.key(0), family.input_dim, family.context_len,
                                 lcfg.depth, lcfg.width, lcfg.mlp_ratio)
    ref_args = (tx.init(params), jax.random.key(1))
    mine, ref = threaded(chunk, state, hparams), lambda: ref_chunk(params, *ref_args)
    times, ref_times = [], []
    for _ in range(repeats):  # alternate, so that drifts of the machine hit both alike
        times.append(median_time(mine, 1))
        ref_times.append(median_time(ref, 1))
    seconds, ref_seconds = statistics.median(times), statistics.median(ref_times)
    flops = transformer_train_flops_per_step(family, lcfg, cfg.train.batch_size)
    tokens = cfg.train.batch_size * 2 * family.context_len
    return dict(steps_per_s=steps / seconds, minimal_steps_per_s=steps / ref_seconds,
                vs_minimal=ref_seconds / seconds, tokens_per_s=steps * tokens / seconds,
                flops_per_step=flops, achieved_flops=flops * steps / seconds,
                utilization=flops * steps / seconds / peak, compile_s=compile_s)


def sequential_member_s(steps: int, repeats: int, compiles: int = 3) -> float:
    """Training time of one single-member run of the preset's model: P such runs one after
    another take P times this (members differ only in seed and M, not in cost). The best of
    several compiles: on a shared 2-core CPU this small program was seen to run at one of two
    speeds, 2x apart, from one measurement to the next; the best is the fair baseline."""
    cfg = short_run(steps, f"experiment={PRESET}", "sweep.seeds=1")
    times = []
    for _ in range(compiles):
        chunk, hparams, state, _ = member_program(cfg)
        times.append(median_time(threaded(chunk, state, hparams), repeats))
    return min(times)


def population_config(model: str, members: int, steps: int, dtype: str):
    """A population of `members` of the quick-start preset's model, or of a named size on the
    base task, in `dtype`."""
    setting = (f"experiment={PRESET}",) if model == "preset" else (*SIZES[model], *BASE_TASK)
    return short_run(steps, *setting, f"learner.dtype={dtype}", f"sweep.seeds={members}")


def population_inprocess(model: str, members: int, steps: int, dtype: str, repeats: int,
                         peak: float) -> dict:
    """The population program of P members: time and utilization of the population peak."""
    cfg = population_config(model, members, steps, dtype)
    chunk, hparams, state, _ = member_program(cfg)
    seconds = median_time(threaded(chunk, state, hparams), repeats)
    flops = members * steps * transformer_train_flops_per_step(
        compose.build_family(cfg), cfg.learner, cfg.train.batch_size)
    return dict(population_s=seconds, utilization=flops / seconds / peak)


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
    cfg = config(f"experiment={PRESET}", *overrides)
    _, _, pop = compose.build(cfg)
    chunk, placed, state, _ = member_program(short_run(probe_steps, f"experiment={PRESET}",
                                                       *overrides))
    eval_set_s = median_time(lambda: pop.make_eval_set(placed), 1)
    eval_set = pop.make_eval_set(placed)
    evaluate_s = median_time(lambda: pop.evaluate(state.params, eval_set), repeats)
    step_s = median_time(threaded(chunk, state, placed), repeats) / probe_steps
    num_evals = cfg.train.steps // cfg.eval.every + 1
    eval_total = eval_set_s + num_evals * evaluate_s
    return dict(eval_s=eval_total, train_s=step_s * cfg.train.steps,
                share=eval_total / (eval_total + step_s * cfg.train.steps))


def bandit_throughput(updates: int, repeats: int, *overrides: str) -> dict:
    """Environment steps/s of A2C training of the bandit preset's whole population, and the time
    to build its evaluation set (every reference rolled out once, Bayes tables solved)."""
    cfg = config(f"experiment={BANDIT_PRESET}", f"train.steps={updates}", f"eval.every={updates}",
                  "train.warmup_steps=0", *overrides)
    env, _, pop = compose.build(cfg)
    placed = pop.placed_hparams()
    seconds = median_time(threaded(pop.train_chunk, pop.init(placed), placed), repeats)
    start = time.perf_counter()
    jax.block_until_ready(pop.make_eval_set(placed))
    env_steps = pop.size * cfg.train.batch_size * env.horizon * updates
    return dict(members=pop.size, env_steps_per_s=env_steps / seconds,
                updates_per_s=updates / seconds, eval_set_s=time.perf_counter() - start)


def minimal_ppo_program(cfg, env, policy, member, members: int, updates: int):
    """The minimal PPO loop (bench/minimal_ppo.py) for a run's config: same network, levels
    (the member's env axes, fresh levels of the training region) and hyperparameters; its
    compiled chunk as a no-argument call, and the compile time."""
    t = cfg.train
    hp = minimal_ppo.Hyper(t.batch_size, ppo.rollout_length(t, env), t.rollout_episodes,
                           t.epochs, t.minibatches, t.gamma, t.gae_lambda, t.clip_eps,
                           t.value_coef, t.entropy_coef, t.learning_rate, t.clip_norm)
    chunk, tx = minimal_ppo.make_chunk(env, policy, minimal_draw(env, member), hp, updates)
    params = jax.vmap(policy.init)(jax.random.split(jax.random.key(0), members))
    args = (params, jax.vmap(tx.init)(params), jax.random.split(jax.random.key(1), members))
    start = time.perf_counter()
    compiled = chunk.lower(*args).compile()
    return lambda: compiled(*args), time.perf_counter() - start


def minimal_draw(env, member):
    """The minimal loop's level draw: key -> a level of the training region at the member's axes
    (the env's sampler, one key at a time; the loop vmaps it)."""
    return tasks.env_sampler(env, member.noise_std, member.axes)


def level_draw_times(cfg, env, pop, hparams, repeats: int) -> tuple[float, float]:
    """Seconds to draw one update's levels (B x E per member) for every member, median over
    `repeats` draws from different keys (a rejection loop's length varies with them): mesaopt's
    batched draw (`train.training_tasks`) and the minimal loop's vmapped one-key draw."""
    n = cfg.train.batch_size * cfg.train.rollout_episodes
    mine = jax.jit(jax.vmap(lambda h, k: training_tasks(env, h, k, n)))
    draw = minimal_draw(env, pop.member(0))
    ref = jax.jit(jax.vmap(lambda k: jax.vmap(draw)(jax.random.split(k, n))))
    def over_keys(draw):  # a new key set every call (median_time's warm-up call takes one)
        key_sets = (jax.random.split(jax.random.key(r), pop.size) for r in range(repeats + 1))
        return median_time(lambda: draw(next(key_sets)), repeats)
    return over_keys(lambda keys: mine(hparams, keys)), over_keys(ref)


def rl_config(agent: str, members: int, updates: int, quick: bool):
    """The RL section's run: the maze preset at M = inf, constant learning rate, one agent kind."""
    return short_run(updates, f"experiment={MAZE_PRESET}", *MAZE_AGENTS[agent],
                     f"sweep.seeds={members}", "train.schedule=constant",
                     *(MAZE_QUICK if quick else ()))


def env_steps(cfg, env, members: int, updates: int) -> int:
    """Computed environment steps of `updates` PPO updates of every member."""
    return members * updates * cfg.train.batch_size * ppo.rollout_length(cfg.train, env)


def rl_throughput(agent: str, members: int, updates: int, repeats: int, quick: bool) -> dict:
    """Environment steps/s of mesaopt's PPO on the maze preset (M = inf, constant learning rate)
    for one agent kind and population size, alternating with the minimal loop's; the share of
    live steps (taken before an environment's last episode ended) in each."""
    cfg = rl_config(agent, members, updates, quick)
    env, policy, pop = compose.build(cfg)
    chunk, hparams, state, compile_s = member_program(cfg)
    state, metrics = chunk(state, hparams)
    live = float(jnp.mean(metrics[METRIC.live_steps]))
    ref_call, ref_compile_s = minimal_ppo_program(cfg, env, policy, pop.member(0), members,
                                                  updates)
    ref_live = float(jnp.mean(ref_call()[2][1]))
    mine = threaded(chunk, state, hparams)
    times, ref_times = [], []
    for _ in range(repeats):  # alternate, so that drifts of the machine hit both alike
        times.append(median_time(mine, 1))
        ref_times.append(median_time(ref_call, 1))
    seconds, ref_seconds = statistics.median(times), statistics.median(ref_times)
    steps = env_steps(cfg, env, members, updates)
    draws_s, ref_draws_s = level_draw_times(cfg, env, pop, hparams, repeats)
    return dict(members=members, env_steps_per_s=steps / seconds,
                update_ms=seconds / updates * 1e3, minimal_update_ms=ref_seconds / updates * 1e3,
                level_draws_ms=draws_s * 1e3, minimal_level_draws_ms=ref_draws_s * 1e3,
                minimal_env_steps_per_s=steps / ref_seconds, vs_minimal=ref_seconds / seconds,
                vs_minimal_interval=ratio_interval(ref_times, times),
                live_share=live, minimal_live_share=ref_live, compile_s=compile_s,
                minimal_compile_s=ref_compile_s)


def ratio_interval(ref_times: list[float], times: list[float]) -> tuple[float, float]:
    """95 % t interval of the ratio ref / mine over alternated pairs (geometric: on the log
    ratios); (nan, nan) with fewer than 2 pairs."""
    logs = [math.log(r / t) for r, t in zip(ref_times, times)]
    if len(logs) < 2:
        return math.nan, math.nan
    half = scipy.stats.t.ppf(0.975, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    mean = statistics.fmean(logs)
    return math.exp(mean - half), math.exp(mean + half)


def rl_as_run(agent: str, members: int, updates: int, repeats: int, quick: bool) -> dict:
    """Environment steps/s of mesaopt's PPO (`rl_config`'s run) on the devices the process
    shows, as `mesaopt-train` runs a population of this size (members spread over them)."""
    cfg = rl_config(agent, members, updates, quick)
    chunk, hparams, state, compile_s = member_program(cfg)
    seconds = median_time(threaded(chunk, state, hparams), repeats)
    steps = env_steps(cfg, compose.build_family(cfg), members, updates)
    return dict(members=members, env_steps_per_s=steps / seconds, compile_s=compile_s,
                devices=len(distributed.member_devices(members)))


def measure_single(quick: bool, dtype: str) -> dict:
    repeats = 2 if quick else 5
    peak = peak_matmul_flops(peak_size(quick), dtype, repeats, per_device=False)
    sizes = ("tiny",) if quick else tuple(SIZES)
    steps = 8 if quick else 16
    return dict(peak_matmul_flops=peak,
                models={size: throughput(size, steps, dtype, peak, repeats) for size in sizes},
                sequential_member_s=sequential_member_s(steps, repeats, 1 if quick else 3),
                rl={f"{agent}/{members}": rl_throughput(
                    agent, members, rl_updates(members, quick), repeats, quick)
                    for agent in rl_agents(quick) for members in rl_members(quick)})


def rl_agents(quick: bool) -> tuple[str, ...]:
    return MAZE_AGENTS_QUICK if quick else tuple(MAZE_AGENTS)


def rl_members(quick: bool) -> tuple[int, ...]:
    return (2,) if quick else (1, 16)  # --quick: one population, compiled once per loop


def rl_updates(members: int, quick: bool) -> int:
    return 2 if quick or members > 1 else 8


def measure_population(quick: bool, dtype: str, members: tuple[int, ...], model: str) -> dict:
    repeats = 2 if quick else 3
    peak = peak_matmul_flops(peak_size(quick), dtype, repeats, per_device=True)
    steps = 8 if quick else 16
    inprocess = {p: population_inprocess(model, p, steps, dtype, repeats, peak) for p in members}
    multirun = {}
    # More one-job-per-point runs take minutes each; only the smallest two are measured, the rest
    # extrapolated from their per-job time (--quick, or a model other than the preset's: none,
    # whole runs are not a smoke check and the runs are the preset's).
    measured = () if quick or model != "preset" else members[:2]
    for p in members if measured else ():
        if p in measured:
            multirun[p] = dict(population_vs_multirun(p, steps), extrapolated=False)
        else:  # jobs are identical: scale the measured per-job time
            per_job = multirun[measured[-1]]["multirun_s"] / measured[-1]
            population = cli_wall_time(steps, f"sweep.seeds={p}", multirun=False)
            multirun[p] = dict(population_s=population, multirun_s=per_job * p,
                               speedup=per_job * p / population, extrapolated=True)
    # --quick: fewer members, probes and references, and short bandit episodes (their Bayes
    # tables solve much faster): a smoke check of the code, not numbers to read.
    small = ("sweep.num_tasks=[1,null]", "eval.batch_size=64") if quick else ()
    probes = ("eval.probes=[mse,delta]",) if quick else ()
    bandits = ("task.horizon=20", "eval.probes=[regret]", "eval.references=[random,thompson]") \
        if quick else ()
    return dict(peak_matmul_flops=peak, steps=steps, model=model, inprocess=inprocess,
                multirun=multirun,
                evaluation=evaluation_share(steps, repeats, *small, *probes),
                bandit=bandit_throughput(2 if quick else 16, repeats, *small, *bandits),
                rl_as_run={f"{agent}/{members}": rl_as_run(
                    agent, members, rl_updates(members, quick), repeats, quick)
                    for agent in rl_agents(quick) for members in rl_members(quick) if members > 1})


def measure_part(part: str, quick: bool, dtype: str, members: tuple[int, ...],
                 model: str) -> dict:
    devices.expose_cpu(PARTS[part])  # before JAX's backend starts
    report = measure_single(quick, dtype) if part == "single" else \
        measure_population(quick, dtype, members, model)
    return dict(report, devices=len(jax.local_devices()), device=str(jax.devices()[0].device_kind),
                platform=jax.default_backend())


def measure(quick: bool, dtype: str, members: tuple[int, ...], model: str = "preset") -> dict:
    """Both parts, each in a process of its own (a process's device exposure is fixed)."""
    parts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for part in PARTS:
            path = Path(tmp) / f"{part}.json"
            command = [sys.executable, "-m", "mesaopt.bench.cli", "--part", part, "--json",
                       str(path), "--dtype", dtype, "--members", ",".join(map(str, members)),
                       "--population-model", model, *(["--quick"] if quick else [])]
            subprocess.run(command, check=True)
            parts[part] = json.loads(path.read_text())
    single, population = parts["single"], parts["population"]
    models = single["models"]
    # P single-member runs of the preset's model one after another (JSON keys); another model's
    # population has no such baseline measured
    sequential = {str(p): p * single["sequential_member_s"] if model == "preset" else math.nan
                  for p in members}
    return {
        "device": single["device"], "platform": single["platform"], "dtype": dtype, "quick": quick,
        "peak_matmul_flops": single["peak_matmul_flops"],
        "peak_matmul_flops_population": population["peak_matmul_flops"],
        "devices": {part: parts[part]["devices"] for part in PARTS},
        "steps_per_s": {s: m["steps_per_s"] for s, m in models.items()},
        "vs_minimal": {s: m["vs_minimal"] for s, m in models.items()},
        "tokens_per_s": {s: m["tokens_per_s"] for s, m in models.items()},
        "utilization": {s: m["utilization"] for s, m in models.items()},
        "models": models,
        "population_speedup": {p: m["speedup"] for p, m in population["multirun"].items()},
        "population_speedup_inprocess": {
            p: sequential[p] / m["population_s"] for p, m in population["inprocess"].items()},
        "population": {**population, "sequential_s": sequential},
        "evaluation_share": population["evaluation"]["share"],
        "evaluation": population["evaluation"],
        "bandit_env_steps_per_s": population["bandit"]["env_steps_per_s"],
        "bandit": population["bandit"],
        "rl": single["rl"],
        "rl_vs_minimal": {k: m["vs_minimal"] for k, m in single["rl"].items()},
        # a population as mesaopt-train runs it (members spread over the population part's
        # devices) against the minimal loop's single program on one device (the single part)
        "rl_as_run": {k: dict(m, vs_minimal=m["env_steps_per_s"]
                              / single["rl"][k]["minimal_env_steps_per_s"])
                      for k, m in population["rl_as_run"].items()},
    }


def table(report: dict) -> str:
    dev = report["devices"]
    lines = [f"device: {report['device']} ({report['platform']}, {report['dtype']})",
             f"peak matmul, one program on {dev['single']} device(s): "
             f"{report['peak_matmul_flops'] / 1e9:.1f} GFLOP/s; one per device on "
             f"{dev['population']} devices at once: "
             f"{report['peak_matmul_flops_population'] / 1e9:.1f} GFLOP/s", "",
             f"{'model':<6} {'steps/s':>9} {'minimal':>9} {'ratio':>6} {'tokens/s':>11} "
             f"{'GFLOP/step':>11} {'GFLOP/s':>9} {'util':>6} {'compile s':>9}"]
    for size, m in report["models"].items():
        lines.append(f"{size:<6} {m['steps_per_s']:>9.2f} {m['minimal_steps_per_s']:>9.2f} "
                     f"{m['vs_minimal']:>5.2f}x {m['tokens_per_s']:>11.0f} "
                     f"{m['flops_per_step'] / 1e9:>11.3f} {m['achieved_flops'] / 1e9:>9.1f} "
                     f"{m['utilization']:>6.1%} {m['compile_s']:>9.2f}")
    lines.append("(a single run's training program vs the minimal loop (bench/minimal.py), "
                 "alternated; util: of the one-program peak)")
    pop = report["population"]
    model = pop.get("model", "preset")
    lines += ["", f"population of {PRESET}'s model" if model == "preset" else
              f"population of the {model} model ({', '.join(SIZES[model])}; "
              f"{', '.join(BASE_TASK)}; sequential: not measured for it)",
              f"{'P':>3} {'population s':>13} {'multirun s':>11} {'speed-up':>9} "
                  f"{'in-process s':>13} {'sequential s':>13} {'speed-up':>9} {'same dev.':>9} "
                  f"{'util':>6}"]
    one = pop["inprocess"][next(iter(pop["inprocess"]))]["population_s"] / int(
        next(iter(pop["inprocess"])))
    for p, inprocess in pop["inprocess"].items():
        inproc, seq = inprocess["population_s"], pop["sequential_s"][p]
        m = pop["multirun"].get(p)
        whole = (f"{m['population_s']:>13.2f} {m['multirun_s']:>11.2f} {m['speedup']:>8.2f}x"
                 if m else f"{'-':>13} {'-':>11} {'-':>9}")
        note = " (multirun time = jobs x measured per-job time)" if m and m["extrapolated"] else ""
        lines.append(f"{p:>3} {whole} {inproc:>13.2f} {seq:>13.2f} {seq / inproc:>8.2f}x "
                     f"{int(p) * one / inproc:>8.2f}x {inprocess['utilization']:>6.1%}{note}")
    lines.append(f"(vs multirun: whole `mesaopt-train` runs of {pop['steps']} steps, wall time, "
                 f"not measured with --quick; "
                 f"in-process: the population's training program alone; vs sequential: P x one "
                 f"single-member run on one device (as mesaopt-train runs it); same dev.: P x the "
                 f"smallest population's per-member time on the population's devices; util: of the "
                 f"one-per-device peak)")
    ev = report["evaluation"]
    lines += ["", f"evaluation share of a {PRESET} run: {report['evaluation_share']:.1%} "
                  f"({ev['eval_s']:.1f} s of {ev['eval_s'] + ev['train_s']:.1f} s)"]
    b = report["bandit"]
    lines += [f"{BANDIT_PRESET} (A2C, {b['members']} members): {b['env_steps_per_s']:,.0f} env "
              f"steps/s ({b['updates_per_s']:.1f} population updates/s); evaluation set with every "
              f"reference: {b['eval_set_s']:.1f} s"]
    lines += ["", f"{'agent':<9} {'members':>7} {'env steps/s':>12} {'minimal':>12} {'ratio':>6} "
                  f"{'95% interval':>13} {'live':>6} {'min. live':>9} {'as run':>12} "
                  f"{'ratio':>6} {'update ms':>10} {'draws ms':>9}"]
    for key, m in report["rl"].items():
        low, high = m["vs_minimal_interval"]
        as_run = report["rl_as_run"].get(key)
        run_cols = (f"{as_run['env_steps_per_s']:>12,.0f} {as_run['vs_minimal']:>5.2f}x"
                    if as_run else f"{'(same)':>12} {'':>6}")
        lines.append(f"{key.split('/')[0]:<9} {m['members']:>7} {m['env_steps_per_s']:>12,.0f} "
                     f"{m['minimal_env_steps_per_s']:>12,.0f} {m['vs_minimal']:>5.2f}x "
                     f"{f'[{low:.2f}, {high:.2f}]':>13} {m['live_share']:>6.1%} "
                     f"{m['minimal_live_share']:>9.1%} {run_cols} "
                     f"{m['update_ms']:>4.0f}/{m['minimal_update_ms']:<5.0f} "
                     f"{m['level_draws_ms']:>4.1f}/{m['minimal_level_draws_ms']:<4.1f}")
    lines.append(f"(PPO on {MAZE_PRESET}'s mazes at M = inf: mesaopt's update vs the minimal loop "
                 f"(bench/minimal_ppo.py) on one device, alternated, median ratio and 95% interval "
                 f"over the pairs; as run: mesaopt's population on the {dev['population']} devices "
                 f"`mesaopt-train` spreads it over (population part) vs the same minimal loop; "
                 f"env steps: computed steps, live: the share taken before an environment's last "
                 f"episode ended; update ms and draws ms: one update, and drawing its levels, "
                 f"mesaopt / minimal loop: mesaopt draws a batch's levels at once, the minimal "
                 f"loop vmaps the env's one-key sampler)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mesaopt-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke check")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--members", default=None,
                        help="population sizes, comma-separated (default 1,4,16,64; --quick 1,2)")
    parser.add_argument("--population-model", choices=("preset", *SIZES), default="preset",
                        help=f"the population part's model: {PRESET}'s (preset) or a named size "
                             "on the base task (base: 8 blocks, width 128)")
    parser.add_argument("--part", choices=tuple(PARTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        members = tuple(int(p) for p in (args.members or ("1,2" if args.quick else "1,4,16,64"))
                        .split(","))
        assert members and all(p > 0 for p in members)
    except (ValueError, AssertionError):
        parser.error(f"--members: positive integers separated by commas, got {args.members!r}")
    if args.part:
        report = measure_part(args.part, args.quick, args.dtype, members, args.population_model)
    else:
        report = measure(args.quick, args.dtype, members, args.population_model)
        print(table(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
