"""The claim-checking scripts that share scripts/_claims.py answer --help with their docstring and
a missing directory with one line and exit 2 (no traceback)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SHARED = sorted(p.name for p in SCRIPTS.glob("check_*.py") if "main(check, __doc__)" in p.read_text())


def test_most_check_scripts_share_the_claims_runner():
    assert len(SHARED) >= 10


@pytest.mark.parametrize("script", ["check_classification.py", "check_linreg_dimension.py"])
def test_help_and_a_missing_directory(script, tmp_path):
    run = lambda *args: subprocess.run([sys.executable, str(SCRIPTS / script), *args],  # noqa: E731
                                       capture_output=True, text=True)
    helped = run("--help")
    assert helped.returncode == 0 and "Usage" in helped.stdout
    missing = run(str(tmp_path / "no_such_sweep"))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "does not exist" in missing.stderr
    empty = run(str(tmp_path))  # exists, holds no tables: a failed claim or one line, no traceback
    assert empty.returncode in (1, 2) and "Traceback" not in empty.stderr


def test_the_best_tick_count_is_chosen_on_the_other_seeds():
    """A planning effect that is pure noise around 0: the per-seed maximum is biased upwards,
    the leave-one-seed-out choice is not (here: exactly the chosen counts' values)."""
    import importlib.util

    import numpy as np
    import pandas as pd
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("check_maze_planning",
                                                  SCRIPTS / "check_maze_planning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    rates = pd.DataFrame(0.5 + 0.05 * rng.normal(size=(6, 8)), index=[0, 1, 2, 4, 8, 16])
    effects = rates.iloc[1:] - rates.loc[0]
    held_out = module.held_out_best(rates)
    assert held_out.seeds == 8
    assert held_out.value < effects.max().mean()   # the in-sample maximum is biased upwards
    by_hand = [effects.loc[effects.drop(columns=s).mean(axis=1).idxmax(), s] for s in effects]
    assert held_out.value == pytest.approx(np.mean(by_hand))


def test_a_claim_over_seeds_needs_its_whole_interval_and_says_when_it_rests_on_the_mean():
    sys.path.insert(0, str(SCRIPTS))
    from _claims import above, below

    from mesaopt.analysis import seeds
    spread = seeds.over_seeds([-0.3, -0.1, 0.2, -0.2, -0.1])   # mean -0.1, interval covers 0
    tight = seeds.over_seeds([-0.3, -0.2, -0.25, -0.2, -0.3])
    two = seeds.over_seeds([-0.3, -0.1])
    assert below("d", tight) == (f"d {tight.format('+.3f')} below 0", True)
    assert below("d", spread)[1] is False and above("d", spread)[1] is False
    assert above("d", tight, -0.5)[1] is True and above("d", tight, -0.2)[1] is False
    text, ok = below("d", two)
    assert ok is True and text.endswith("(mean only: no interval below 3 seeds)")
    assert above("d", two, 0.0) == (text.replace("below 0", "above 0"), False)


def test_the_planning_check_sets_no_op_ticks_and_both_feed_forward_controls_beside_the_effect(
        capsys):
    """On a table built by hand (3 seeds): the recurrent agent gains +0.1 from 16 thinking ticks
    and +0.02 from 16 no-op ticks; the feed-forward controls (plain, parameter-matched) are flat."""
    import importlib.util

    import pandas as pd
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("check_maze_planning",
                                                  SCRIPTS / "check_maze_planning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ticks, frames = [0, 4, 16], []
    for hidden, recurrent, base in ((64, False, 0.6), (359, False, 0.62), (64, True, 0.8)):
        for seed in range(3):
            start = base + 0.01 * seed
            curves = {"goal_rate_by_ticks": [start, start + 0.05, start + 0.1] if recurrent
                      else [start] * 3}
            if recurrent:
                curves["goal_rate_by_ticks_noop"] = [start, start + 0.01, start + 0.02]
            curve = curves["goal_rate_by_ticks"]
            rows = [(metric, n, v) for metric, values in curves.items()
                    for n, v in zip(ticks, values)]
            rows += [("goal_rate", -1, start), ("planning_effect", -1, max(curve) - curve[0]),
                     ("planning_effect_last", -1, curve[-1] - curve[0])]
            frames.append(pd.DataFrame(rows, columns=["metric", "position", "value"]).assign(
                split="true", seed=seed, run_id=f"{hidden}{recurrent}", role="learner",
                **{"learner.recurrent": recurrent, "learner.hidden": hidden,
                   "eval.batch_size": 256}))
    df = pd.concat(frames, ignore_index=True)
    module.final = lambda path: df.assign(regime=df.apply(module.regime, axis=1))
    checks = module.check("unused")
    out = capsys.readouterr().out
    assert all(checks.values()), checks
    assert "feed-forward (hidden 359)" in out and "feed-forward (hidden 64)" in out
    line = next(l for l in out.splitlines() if "effect at 16 ticks" in l and "no-op" in l)
    assert "+0.100 [+0.100, +0.100]" in line and "no-op ticks +0.020" in line
    assert "thinking - no-op +0.080" in line
    assert "recurrent T=1 - feed-forward (hidden 359) at 0 ticks: +0.180" in out


def test_a_learner_from_the_fixed_initialization_is_named_apart_from_the_one_that_learns_it():
    import pandas as pd

    from mesaopt.plots.hardcoded_vs_learned import with_init
    df = pd.DataFrame({"predictor": ["lopt", "lopt", "sgd", "maml"],
                       "role": ["learner", "learner", "reference", "learner"],
                       "learner.learn_init": [True, False, False, None]})
    assert list(with_init(df).predictor) == ["lopt", "lopt (fixed init)", "sgd", "maml"]
