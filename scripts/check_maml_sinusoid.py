"""Check the claims of experiment=maml_sinusoid_cpu on a finished sweep and print the numbers.

On fresh tasks at each run's last step, with 10 support pairs (adapt_mse): (1) MAML adapts: its
error after one inner step is at most half its error before adaptation, and ten steps do better
than one; (2) MAML beats the pretrained-then-fine-tuned baseline after one and after ten steps.
Prints every learner's error at 0, 1, 10 and 100 steps and the in-context transformer's with the
same 10 pairs. Exit 1 if any claim fails or the maml or pretrained run is missing.

Usage: python scripts/check_maml_sinusoid.py <sweep-dir>
"""
from __future__ import annotations

from _claims import main, print_by_seed

from mesaopt import results
from mesaopt.analysis import final_step


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    df = final_step(df[df.split == "true"])
    adapt = df[df.metric == "adapt_mse"].groupby(["predictor", "position"]).value.mean()
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
    in_context = df[(df.metric == "mse") & (df.position == 10) & (df.role == "learner")
                    & ~df.predictor.isin(set(adapt.index.get_level_values(0)))]
    for name, part in in_context.groupby("predictor"):
        print(f"{name:>10}: in context, 10 pairs: mse {part.value.mean():.3f}")
    steps = df[(df.metric == "adapt_mse") & df.position.isin([0, 1, 10])]
    print_by_seed("adapt_mse per learner and steps", steps, ["predictor", "position"])
    maml, pre = adapt["maml"], adapt["pretrained"]
    checks[f"maml adapts: 1 step {maml[1]:.3f} <= half of 0 steps {maml[0]:.3f}"] = \
        maml[1] <= 0.5 * maml[0]
    checks[f"maml: 10 steps {maml[10]:.3f} < 1 step {maml[1]:.3f}"] = maml[10] < maml[1]
    for steps in (1, 10):
        checks[f"maml after {steps} step(s) {maml[steps]:.3f} < pretrained fine-tuned "
               f"{pre[steps]:.3f}"] = maml[steps] < pre[steps]
    return checks


if __name__ == "__main__":
    main(check, __doc__)
