"""Check a fresh GPU machine (run through scripts/gpu_check.sh): the device, optionally the
benchmark's GPU rows (BENCH), the plan of every `*_gpu` preset, then each preset shortened (STEPS updates,
one seed, evaluation at the end only), each in a process of its own, and a table of seconds per
update and peak device memory per preset (OUT/gpu_check.md and .csv); for one of them
(--deterministic, maze_diversity_gpu unless named) the same with deterministic=true, and whether
a deterministic run stopped after its first chunk and resumed gives the uninterrupted table bit
for bit.

Usage: python scripts/gpu_check.py OUT [--steps N] [--presets a,b] [--bench] [--deterministic P]
                                   [-- OVERRIDE ...]
The overrides after `--` go to every preset (e.g. to shrink them further for a CPU test). The
seconds include compilation (the first update) and the one evaluation: a short run's upper
bound per update, not the long run's rate.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from mesaopt.analysis.emergence import to_markdown

# The benchmark's GPU rows: its quick sections, and the base model's population in bf16 at
# P = 1 ... 256 with its share of the bf16 peak (an 8192-square matmul on an accelerator).
BENCH = ("--quick", "--dtype", "bfloat16", "--population-model", "base", "--members", "1,16,64,256")
CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "experiment"
# One shortened run in a process of its own: its peak device memory is its own.
CHILD = """
import json, sys, time
import jax
from mesaopt import compose, run
cfg = compose.load_config(compose.compose_config(*sys.argv[1:]))
start = time.perf_counter()
run.train(cfg)
seconds = time.perf_counter() - start
stats = jax.devices()[0].memory_stats() or {}
print("GPU_CHECK " + json.dumps({"seconds": seconds, "members": compose.population_size(cfg),
                                 "peak_bytes": stats.get("peak_bytes_in_use")}))
"""
# deterministic=true on one shortened preset, in a process of its own (XLA's flag is set before
# JAX starts): the run as the table times it (its cost), then in two chunks, uninterrupted and
# stopped after the first chunk and resumed, the two tables compared bit for bit.
DETERMINISM = """
import json, sys, time
import numpy as np
from mesaopt import compose, devices, results, run
assert devices.make_deterministic()
out, halves, overrides = sys.argv[1], sys.argv[2], sys.argv[3:]
def config(name, settings):
    return compose.load_config(compose.compose_config(*settings, "deterministic=true",
                                                      f"out_dir={out}/{name}"))
start = time.perf_counter()
run.train(config("timed", overrides))
seconds = time.perf_counter() - start
in_two = [o for o in overrides if not o.startswith("eval.every=")] + [halves]
whole = results.load(run.train(config("whole", in_two)))
run.train(config("resumed", in_two), max_chunks=1)
resumed = results.load(run.train(config("resumed", in_two)))
same = len(whole) == len(resumed) and np.array_equal(whole.value.to_numpy(),
                                                     resumed.value.to_numpy(), equal_nan=True)
print("GPU_CHECK " + json.dumps({"seconds": seconds, "resume_bitwise": bool(same)}))
"""


def last_line(done: subprocess.CompletedProcess) -> str:
    return (done.stderr.strip().splitlines() or ["no output"])[-1]


def reported(done: subprocess.CompletedProcess) -> dict | None:
    """The child's GPU_CHECK line, or None where it failed."""
    found = [json.loads(line.split(" ", 1)[1]) for line in done.stdout.splitlines()
             if line.startswith("GPU_CHECK ")]
    return found[0] if found and not done.returncode else None


def presets() -> list[str]:
    return sorted(p.stem for p in CONFIGS.glob("*_gpu.yaml"))


def shell(command: list[str], log, shown: str | None = None) -> subprocess.CompletedProcess:
    print("$ " + (shown or " ".join(command)), flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    log.write(done.stdout + done.stderr)
    return done


def main(argv: list[str]) -> int:
    own, _, overrides = (argv[:argv.index("--")], None, argv[argv.index("--") + 1:]) \
        if "--" in argv else (argv, None, [])
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--presets", default=",".join(presets()))
    parser.add_argument("--bench", action="store_true", help="also run mesaopt-bench: " + " ".join(BENCH))
    parser.add_argument("--deterministic", default="maze_diversity_gpu", metavar="PRESET",
                        help="the preset (when among --presets) whose shortened run is repeated "
                             "with deterministic=true: its cost, and resume bit for bit; '' skips")
    args = parser.parse_args(own)
    chosen = [p for p in args.presets.split(",") if p]
    unknown = sorted(set(chosen + [args.deterministic] * bool(args.deterministic)) - set(presets()))
    if unknown:
        print(f"gpu_check: error: unknown preset(s) {', '.join(unknown)} (allowed: "
              f"{', '.join(presets())})", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import jax
    print(f"device: {jax.devices()[0].device_kind} x {jax.device_count()} "
          f"({jax.default_backend()}), JAX {jax.__version__}", flush=True)
    rows = []
    with open(out / "gpu_check.log", "w") as log:
        if args.bench:
            print(shell(["mesaopt-bench", *BENCH, "--json", str(out / "bench.json")], log).stdout)
        for preset in chosen:
            short = [f"experiment={preset}", f"train.steps={args.steps}",
                     f"eval.every={args.steps}", "sweep.seeds=1", "logger=none", "progress=false",
                     f"out_dir={out / preset}", "train.warmup_steps=0", *overrides]
            plan = shell(["mesaopt-train", *short, "plan=true"], log)
            print(plan.stdout.strip() or plan.stderr.strip().splitlines()[-1], flush=True)
            start = time.perf_counter()
            done = shell([sys.executable, "-c", CHILD, *short], log,
                         shown="(timed, own process) mesaopt-train " + " ".join(short))
            result = reported(done)
            if result is None:
                rows.append(dict(preset=preset, error=last_line(done)))
                print(f"{preset}: failed: {last_line(done)}", flush=True)
                continue
            rows.append(dict(preset=preset, members=result["members"], steps=args.steps,
                             seconds=round(result["seconds"], 2),
                             seconds_per_update=round(result["seconds"] / args.steps, 4),
                             peak_gib=None if result["peak_bytes"] is None
                             else round(result["peak_bytes"] / 2**30, 3),
                             wall_seconds=round(time.perf_counter() - start, 2)))
            print(f"{preset}: {rows[-1]}", flush=True)
            if preset == args.deterministic:
                rows[-1].update(determinism(short, args.steps, out, log))
                print(f"{preset} with deterministic=true: {rows[-1]}", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "gpu_check.csv", index=False)
    (out / "gpu_check.md").write_text(to_markdown(table))
    print(table.to_string(index=False))
    return 1 if {"error", "deterministic_error"} & set(table) else 0


def determinism(short: list[str], steps: int, out: Path, log) -> dict:
    """The shortened run again with deterministic=true, in two chunks: its seconds per update
    and whether a run stopped after the first chunk and resumed gives the same table bit for
    bit (on a GPU: what the flag promises)."""
    overrides = [o for o in short if not o.startswith("out_dir=")]
    done = shell([sys.executable, "-c", DETERMINISM, str(out / "deterministic"),
                  f"eval.every={max(steps // 2, 1)}", *overrides], log,
                 shown="(deterministic=true, own process) mesaopt-train " + " ".join(overrides))
    result = reported(done)
    if result is None:
        return dict(deterministic_error=last_line(done))
    return dict(deterministic_seconds_per_update=round(result["seconds"] / steps, 4),
                deterministic_resume_bitwise=result["resume_bitwise"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
