"""Check the claims of experiment=gd_vs_diversity_cpu on a finished sweep and print the numbers.

On fresh tasks at each run's last step (mean over seeds), GD-likeness is the cosine between the
input sensitivities of the learner and of GD fitted to it, at the last context position:
(1) the one-layer LSA at M = inf is GD: cosine >= 0.99; (2) for both learners, generalizing goes
with GD-likeness: the emergence score and the cosine are both higher at the largest finite M
than at the smallest (at M = inf dMMSE is ridge: no score); (3) the transformer at M = inf is less GD-like than the LSA (a softmax transformer
approaches ridge, which is not a few GD steps). Exit 1 if any fails.

Usage: python scripts/check_gd_vs_diversity.py <sweep-dir>
"""
from __future__ import annotations

import numpy as np
from _claims import main, print_by_seed

from mesaopt import results
from mesaopt.analysis import emergence
from mesaopt.vocabulary import METRIC


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    final = df[df.step == df.groupby("run_id").step.transform("max")]
    last = final[(final.split == "true") & (final.position == final.position.max())]
    cosine = last[last.metric == METRIC.gd_cosine].groupby(["predictor", "num_tasks"]).value.mean()
    finite = df.num_tasks[np.isfinite(df.num_tasks)]
    smallest, largest = finite.min(), finite.max()
    checks = {}
    print_by_seed("gd_cosine at the last position per learner and M",
                  last[last.metric == METRIC.gd_cosine], ["predictor", "num_tasks"])
    lsa_inf = cosine[("lsa", np.inf)]
    checks[f"lsa, M=inf: cos(sensitivities, GD's) {lsa_inf:.4f} >= 0.99"] = lsa_inf >= 0.99
    for learner in ("lsa", "transformer"):
        scores = emergence.scores(df, learner)
        score = scores[scores.step == scores.groupby("run_id").step.transform("max")].groupby(
            "num_tasks").score.mean()
        low, high = cosine[(learner, smallest)], cosine[(learner, largest)]
        checks[f"{learner}: M={smallest:g} -> M={largest:g}: score {score[smallest]:+.2f} -> "
               f"{score[largest]:+.2f}, cos {low:.3f} -> {high:.3f} (both rise)"] = \
            score[smallest] < score[largest] and low < high
    transformer_inf = cosine[("transformer", np.inf)]
    checks[f"M=inf: transformer cos {transformer_inf:.3f} < lsa cos {lsa_inf:.3f}"] = \
        transformer_inf < lsa_inf
    return checks


if __name__ == "__main__":
    main(check, __doc__)
