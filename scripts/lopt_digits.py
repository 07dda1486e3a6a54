"""Meta-train the learned optimizer on digits MLPs (PES and truncated backprop) and compare it
with SGD, momentum and Adam whose learning rates are tuned on the same number of inner steps, on
held-out instances, at the meta-training horizon and at 10x. Prints a table of training losses.

Not yet a `mesaopt-train` run (no table or figures): a measurement of the `mesaopt.lopt` blocks.
Usage: python scripts/lopt_digits.py [meta_steps]   (default 300; ~3 minutes on 2 cores)
"""
from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import optax

from mesaopt.lopt import meta, optimizer, problems

HORIZON, TRUNCATION, PROBLEMS, HELD_OUT = 100, 10, 8, 32
LRS = [10 ** e for e in (-3, -2.5, -2, -1.5, -1, -0.5, 0)]


def main(meta_steps: int) -> None:
    problem = problems.build("digits")
    cfg = optimizer.Config(init_lr=0.1)
    # Inner steps meta-training uses (PES: two particles per problem); the baselines' tuning
    # gets as many: len(LRS) learning rates x instances x HORIZON steps.
    budget = meta_steps * TRUNCATION * PROBLEMS * 2
    tune_instances = max(budget // (len(LRS) * HORIZON), 1)
    evaluate = jax.random.key(2024)  # held-out instances: keys meta-training never draws
    rows = {}
    for estimator in ("pes", "tbptt"):
        start = time.time()
        learned, losses = meta.meta_train(problem, cfg, jax.random.key(0), estimator=estimator,
                                          num_problems=PROBLEMS, truncation=TRUNCATION,
                                          horizon=HORIZON, meta_steps=meta_steps)
        print(f"lopt ({estimator}): meta-loss {float(losses[:10].mean()):.3f} -> "
              f"{float(losses[-10:].mean()):.3f} in {time.time() - start:.0f} s")
        rows[f"lopt ({estimator})"] = optimizer.transformation(cfg, learned)
    for name, make in (("sgd", optax.sgd), ("momentum", lambda lr: optax.sgd(lr, momentum=0.9)),
                       ("adam", optax.adam)):
        best, _ = meta.tune_lr(problem, make, LRS, jax.random.key(7), HORIZON, tune_instances)
        rows[f"{name} (lr {best:.3g})"] = make(best)
    print(f"\ntraining loss on {HELD_OUT} held-out instances (mean of 10 steps before):")
    print(f"{'optimizer':>22} {'step 10':>9} {'step 100':>9} {'step 1000':>10}")
    for name, tx in rows.items():
        curve = meta.curves(problem, tx, evaluate, 10 * HORIZON, HELD_OUT).mean(axis=0)
        print(f"{name:>22} " + " ".join(f"{float(jnp.mean(curve[s - 10:s])):>9.4f}"
                                        for s in (10, HORIZON, 10 * HORIZON)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
