"""Check the claims of experiment=maml_sinusoid_cpu on a finished sweep and print the numbers.

On fresh tasks at each run's last step, with 10 support pairs (adapt_mse), seed by seed (the two
learners' runs share seeds 0, 1, ...): (1) MAML adapts: its error after one inner step minus half
its error before adaptation is below 0, and ten steps minus one step is below 0; (2) MAML beats the
pretrained-then-fine-tuned baseline: after one step maml - pretrained below 0; after ten steps in
every seed (the baseline's fine-tuning diverges in some seeds, where a t-interval means nothing;
diverged counts as worse). Each interval claim over seeds: the 95 % t-interval below 0 (>= 3
seeds), else the mean, marked "mean only".
Prints every learner's error at 0, 1, 10 and 100 steps and the in-context transformer's with the
same 10 pairs. Exit 1 if any claim fails or the maml or pretrained run is missing.

Usage: python scripts/check_maml_sinusoid.py <sweep-dir>
"""
from __future__ import annotations

import numpy as np
from _claims import below, main, print_by_seed

from mesaopt import results
from mesaopt.analysis import final_step, seeds
from mesaopt.vocabulary import METRIC


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    df = final_step(df[df.split == "true"])
    adapt = df[df.metric == METRIC.adapt_mse].groupby(["predictor", "position"]).value.mean()
    checks = {}
    for name in ("maml", "pretrained"):
        if name not in adapt.index.get_level_values(0):
            checks[f"a {name} run (learner={name})"] = False
    if checks:
        return checks
    for name in sorted(set(adapt.index.get_level_values(0))):
        print(f"{name:>10}: adapt_mse " + ", ".join(
            f"{steps} steps {adapt[(name, steps)]:.3f}" for steps in (0, 1, 10, 100)
            if (name, steps) in adapt))
    in_context = df[(df.metric == METRIC.mse) & (df.position == 10) & (df.role == "learner")
                    & ~df.predictor.isin(set(adapt.index.get_level_values(0)))]
    for name, part in in_context.groupby("predictor"):
        print(f"{name:>10}: in context, 10 pairs: mse {part.value.mean():.3f}")
    steps = df[(df.metric == METRIC.adapt_mse) & df.position.isin([0, 1, 10])]
    print_by_seed("adapt_mse per learner and steps", steps, ["predictor", "position"])
    per_seed = steps.pivot_table(index="seed", columns=["predictor", "position"], values="value")
    maml, pre = per_seed["maml"], per_seed["pretrained"]
    for label, a, b in (("maml: 1 step - half of 0 steps", maml[1], 0.5 * maml[0]),
                        ("maml: 10 steps - 1 step", maml[10], maml[1]),
                        ("maml - pretrained fine-tuned, 1 step", maml[1], pre[1])):
        text, ok = below(label, seeds.paired(a.to_numpy(), b.to_numpy()))
        checks[text] = ok
    # Fine-tuning the pretrained baseline at the training step size can diverge (NaN, or errors
    # of 1e6): a t-interval means nothing there, so the 10-step claim is seed by seed, a
    # diverged baseline counting as worse.
    ahead = (maml[10] < pre[10]) | ~np.isfinite(pre[10])
    diverged = int((~np.isfinite(pre[10]) | (pre[10] > 1e3)).sum())
    checks[f"maml below pretrained fine-tuned after 10 steps in every seed: {int(ahead.sum())} of "
           f"{len(ahead)} (the baseline diverged in {diverged})"] = bool(ahead.all())
    return checks


if __name__ == "__main__":
    main(check, __doc__)
