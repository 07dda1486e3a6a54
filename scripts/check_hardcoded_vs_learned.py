"""Check the claims of experiment=hardcoded_vs_learned_cpu on a finished sweep and print the
numbers.

For each learner kind (maml: hard-coded, lopt: learned optimizer, transformer: in context), MSE
(mean over positions) at the last step: (1) at the smallest M it memorizes: its error on the
pretraining tasks is below a tenth of its error on fresh tasks; (2) at M = inf it generalizes
better than at the smallest M (fresh tasks). Exit 1 if a claim fails or a learner is missing.
Which side learns its initialization: maml and lopt learn theirs, the transformer learns
everything; "lopt (fixed init)" and the tuned sgd and adam references start from the same fixed
random initialization. Printed (not claimed): at the largest M, that init-matched comparison of
update rules, adapt_mse of lopt (fixed init) minus sgd and minus adam after each inner step
count, paired by seed (the references of the same run: the same seeds and tasks).

Usage: python scripts/check_hardcoded_vs_learned.py <sweep-dir>
"""
from __future__ import annotations

from _claims import main, print_by_seed

from mesaopt import results
from mesaopt.analysis import final_step, seeds
from mesaopt.plots.hardcoded_vs_learned import _final, tables, with_init
from mesaopt.vocabulary import METRIC

FIXED = "lopt (fixed init)"


def init_matched(df) -> None:
    """Print lopt (fixed init) - sgd and - adam (adapt_mse, largest M, fresh tasks) per step."""
    rows = with_init(final_step(df[(df.metric == METRIC.adapt_mse) & (df.split == "true")]))
    runs = rows[rows.predictor == FIXED].run_id.unique()
    if not len(runs):
        print(f"no {FIXED} run (learner=lopt_fixed_init): no init-matched comparison")
        return
    mine = rows[rows.run_id.isin(runs)]
    mine = mine[mine.num_tasks == mine.num_tasks.max()]
    table = mine.pivot_table(index=["position", "seed"], columns="predictor", values="value")
    print(f"init-matched update rules (adapt_mse, M = {mine.num_tasks.max():g}):")
    for step, part in table.groupby(level="position"):
        print(f"  {int(step):3d} steps: " + "; ".join(
            f"{FIXED} {part[FIXED].mean():.3f} - {ref} "
            f"{seeds.paired(part[FIXED].to_numpy(), part[ref].to_numpy()).format('+.3f')}"
            for ref in ("sgd", "adam") if ref in part))

LEARNERS = ("maml", "lopt", "transformer")


def check(directory: str) -> dict[str, bool]:
    df = results.load(directory)
    table = tables(df)["hardcoded_vs_learned"]
    print(table.to_string(index=False))
    final = _final(df)
    print_by_seed("fresh-task MSE per learner and M", final[
        (final.role == "learner") & (final.split == "true")], ["predictor", "num_tasks"])
    init_matched(df)
    checks = {}
    for name in LEARNERS:
        rows = table[table.predictor == name].set_index("num_tasks")
        if rows.empty or float("inf") not in rows.index:
            checks[f"a {name} run with M = inf"] = False
            continue
        small, inf = rows.iloc[0], rows.loc[float("inf")]
        checks[f"{name} memorizes at M = {small.name:g}: pretrain {small.pretrain:.4f} < fresh "
               f"{small.true:.3f} / 10"] = small.pretrain < small.true / 10
        checks[f"{name} generalizes at M = inf: fresh {inf.true:.3f} < {small.true:.3f} at "
               f"M = {small.name:g}"] = inf.true < small.true
    return checks


if __name__ == "__main__":
    main(check, __doc__)
