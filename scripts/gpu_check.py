"""Check a fresh GPU machine (run through scripts/gpu_check.sh): the device, optionally the
benchmark's GPU rows (BENCH), the plan of every `*_gpu` preset, then each preset shortened (STEPS updates,
one seed, evaluation at the end only), each in a process of its own, and a table of seconds per
update and peak device memory per preset (OUT/gpu_check.md and .csv).

Usage: python scripts/gpu_check.py OUT [--steps N] [--presets a,b] [--bench] [-- OVERRIDE ...]
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
    args = parser.parse_args(own)
    chosen = [p for p in args.presets.split(",") if p]
    unknown = sorted(set(chosen) - set(presets()))
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
            found = [json.loads(line.split(" ", 1)[1]) for line in done.stdout.splitlines()
                     if line.startswith("GPU_CHECK ")]
            if done.returncode or not found:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                rows.append(dict(preset=preset, error=last))
                print(f"{preset}: failed: {last}", flush=True)
                continue
            result = found[0]
            rows.append(dict(preset=preset, members=result["members"], steps=args.steps,
                             seconds=round(result["seconds"], 2),
                             seconds_per_update=round(result["seconds"] / args.steps, 4),
                             peak_gib=None if result["peak_bytes"] is None
                             else round(result["peak_bytes"] / 2**30, 3),
                             wall_seconds=round(time.perf_counter() - start, 2)))
            print(f"{preset}: {rows[-1]}", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(out / "gpu_check.csv", index=False)
    (out / "gpu_check.md").write_text(to_markdown(table))
    print(table.to_string(index=False))
    return 1 if "error" in table else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
