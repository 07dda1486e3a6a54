"""Environment steps/s of PPO training on mazes for the feed-forward agents of
`experiment=maze_diversity_cpu`: the MLP on the flattened grid and convolutional encoders, at 1 and
at 4 members in one program (the member axis vmapped, on the devices the process sees).

Counts computed steps (batch_size episodes x horizon per update, steps after an episode's end
included). Timings exclude compilation (printed apart) and are the median of repeats. Arithmetic
per observation (multiply-adds of the forward pass) is printed beside it: a network that runs at
the same MACs/s as the MLP is limited by its arithmetic, not by how XLA runs it.

Usage: python scripts/bench_maze_agents.py [--updates 4] [--repeats 2]
"""
from __future__ import annotations

import argparse

from mesaopt import compose
from mesaopt.bench.cli import median_time, member_program, threaded

AGENTS = {"mlp": ((), 1), "conv16": ((16,), 1), "conv16_s2": ((16,), 2),
          "conv16x32": ((16, 32), 1)}  # name -> channels, first stride


def forward_macs(channels: tuple[int, ...], stride: int, grid: tuple[int, int, int], embed: int,
                 hidden: int, actions: int) -> int:
    h, w, c = grid
    macs, width = 0, c
    for i, out in enumerate(channels):
        if i == 0 and stride == 2:
            h, w = (h - 3) // 2 + 1, (w - 3) // 2 + 1
        macs += h * w * 9 * width * out
        width = out
    return macs + h * w * width * embed + embed * hidden + hidden * (actions + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=4, help="PPO updates per timed chunk")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{'agent':10s} {'members':>7s} {'compile s':>9s} {'update ms':>9s} {'env steps/s':>12s} "
          f"{'MMAC/obs':>8s} {'GMAC/s':>7s}")
    for name, (channels, stride) in AGENTS.items():
        for members in (1, 4):
            cfg = compose.load_config(compose.compose_config(
                "experiment=maze_diversity_cpu", "logger=none", "progress=false",
                f"learner.channels=[{','.join(map(str, channels))}]", f"learner.stride={stride}",
                f"sweep.seeds={members}",
                "sweep.num_tasks=[null]", f"train.steps={args.updates}",
                f"eval.every={args.updates}", "train.warmup_steps=0"))
            family = compose.build_family(cfg)
            chunk, hparams, state, compile_s = member_program(cfg)
            seconds = median_time(threaded(chunk, state, hparams), args.repeats)
            steps = members * args.updates * cfg.train.batch_size * cfg.task.horizon
            # per env step: the rollout's forward, then epochs x (replay forward + backward ~ 2x)
            macs = forward_macs(channels, stride, family.obs_shape, cfg.learner.embed, cfg.learner.hidden,
                                family.num_actions)
            per_step = macs * (1 + 3 * cfg.train.epochs)
            print(f"{name:10s} {members:7d} {compile_s:9.1f} {seconds / args.updates * 1e3:9.0f} "
                  f"{steps / seconds:12,.0f} {macs / 1e6:8.3f} {per_step * steps / seconds / 1e9:7.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
