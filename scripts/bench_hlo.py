"""Where the base model's training step spends its FLOPs, read from the lowered program (no GPU
needed; mesaopt/bench/hlo.py): its matmuls by shape and dtype with their arithmetic intensity,
and the roofline bound on the share of a GPU's peak they can reach.

Usage: python scripts/bench_hlo.py [--size base] [--dtype bfloat16] [--peak 659e12]
       [--bandwidth 4.8e12]
Defaults: the bf16 peak measured on an H200 (an 8192-square matmul, 659 TFLOP/s) and the H200's
HBM3e bandwidth as specified (4.8 TB/s).
"""
from __future__ import annotations

import argparse
import sys

from mesaopt import compose
from mesaopt.bench import cli, hlo
from mesaopt.bench.flops import transformer_train_flops_per_step


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=tuple(cli.SIZES), default="base")
    parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="bfloat16")
    parser.add_argument("--peak", type=float, default=659e12, help="FLOP/s")
    parser.add_argument("--bandwidth", type=float, default=4.8e12, help="bytes/s")
    args = parser.parse_args(argv)
    cfg = cli.short_run(1, *cli.SIZES[args.size], *cli.BASE_TASK, f"learner.dtype={args.dtype}",
                        "sweep.seeds=1")
    text = hlo.lowered_step(cfg)
    found = hlo.dots(text)
    counted = transformer_train_flops_per_step(compose.build_family(cfg), cfg.learner,
                                               cfg.train.batch_size)
    print(f"{args.size} model ({', '.join(cli.SIZES[args.size])}; {', '.join(cli.BASE_TASK)}), "
          f"{args.dtype}, one training step; the architecture's count (bench/flops.py): "
          f"{counted / 1e9:.3f} GFLOP")
    print(hlo.table(found, hlo.transposes(text)))
    bound = hlo.roofline(found, args.peak, args.bandwidth)
    print(f"roofline: at {args.peak / 1e12:.0f} TFLOP/s and {args.bandwidth / 1e12:.1f} TB/s "
          f"(ridge {args.peak / args.bandwidth:.0f} FLOP/B) these matmuls reach at most "
          f"{bound:.1%} of the peak, a population of them too (each member brings its weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
