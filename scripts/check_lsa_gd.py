"""Check the claims of experiment=lsa_gd_cpu on a finished sweep and print the numbers.

On fresh tasks at each run's last step (mean over seeds): (1) the one-layer LSA is GD: cosine of
its input sensitivities with fitted GD's >= 0.99 at the last position, fitted step count 1, and
its MSE/D within 2% of the gd reference's (one step, step size fitted on training tasks); (2)
every deeper LSA (L >= 2) beats GD with L steps and sits closer to GD++ with L steps than to GD:
Delta(lsa, gd_plus) < Delta(lsa, gd). Exit 1 if any fails or a depth is missing.

Usage: python scripts/check_lsa_gd.py <sweep-dir>
"""
from __future__ import annotations

from _claims import main, print_by_seed

from mesaopt import results


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    df = df[(df.split == "true") & (df.step == df.groupby("run_id").step.transform("max"))]
    last = df.position.max()
    per_depth = {depth: part for depth, part in df.groupby("learner.depth")}
    checks = {}
    if 1 not in per_depth:
        checks["a one-layer run (learner.depth=1)"] = False
    for depth, part in sorted(per_depth.items()):
        if depth == 1:
            print_by_seed("L=1: lsa gd_cosine at the last position", part[
                (part.predictor == "lsa") & (part.metric == "gd_cosine") & (part.position == last)],
                "learner.depth", ".4f")
        mean = part[part.position == -1].groupby(["predictor", "metric"]).value.mean()
        at_last = part[part.position == last].groupby(["predictor", "metric"]).value.mean()
        lsa, gd = mean[("lsa", "mse")], mean[("gd", "mse")]
        if depth == 1:
            cos, steps = at_last[("lsa", "gd_cosine")], mean[("lsa", "gd_steps")]
            diff = at_last[("lsa", "gd_pred_diff")]
            checks[f"L=1: cos(sensitivities, GD's) {cos:.4f} >= 0.99 (|pred diff| {diff:.3f}), "
                   f"fitted GD steps {steps:.1f} == 1"] = cos >= 0.99 and steps == 1
            checks[f"L=1: lsa MSE/D {lsa:.4f} within 2% of gd {gd:.4f}"] = abs(lsa - gd) <= 0.02 * gd
        else:
            plus = mean[("gd_plus", "mse")]
            to_gd, to_plus = mean[("lsa", "delta_gd")], mean[("lsa", "delta_gd_plus")]
            checks[f"L={depth}: lsa MSE/D {lsa:.4f} < gd-{depth} {gd:.4f} (gd_plus-{depth} {plus:.4f})"] = \
                lsa < gd
            checks[f"L={depth}: Delta(lsa, gd_plus) {to_plus:.4f} < Delta(lsa, gd) {to_gd:.4f}"] = \
                to_plus < to_gd
    return checks


if __name__ == "__main__":
    main(check, __doc__)
