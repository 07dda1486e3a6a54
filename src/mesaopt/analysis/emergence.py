"""Where does learned in-context learning emerge? Scores and thresholds from result tables.

Family-agnostic: a learner is compared with a *memorizer* (the best for the member's training
pool: dMMSE, `bayes_train`, the mazes' `lookup`) and a *generalizer* (the best for the true task
distribution: ridge, the grid posterior, `bayes`, `bfs_goal`), through the distances the
`emergence_score` probe records.

- score s = (D_mem - D_gen) / (D_mem + D_gen): -1 = the memorizer, +1 = the generalizer, recorded
  by the `emergence_score` probe for every family that declares the two (`emergence`; D is the
  family's setting's distance, see probes/emergence_score.py). It means
  something only where the references differ, so D(mem, gen) is reported beside it, and a point
  is flagged `separated=False` where D(mem, gen) < `MIN_SEPARATION` x the learner's *floor*: its
  smallest distance to the generalizer over the diversities of the same run, seed and step (how
  close this learner gets to ridge at all). Why 2: a learner that is the generalizer plus
  independent error e (D = mean squared difference of predictions, so D_gen = e and
  D_mem = D(mem, gen) + e) scores D(mem, gen) / (D(mem, gen) + 2e), which passes +0.5 only where
  D(mem, gen) > 2e. As M grows the pool posterior approaches the Gaussian one and an imperfect
  learner's score falls back towards 0 however ridge-like it is; those diversities say nothing
  about the transition, while a learner far from both references in mid-transition still counts.
- threshold M* per compute setting: (a) a fit s = tanh(k (log2 M - x0)) over the separated
  diversities, M* = 2^x0; (b) the
  paper's crossing: where D(learner, generalizer) vs log2 M of a later budget crosses the
  earlier budget's from above to below (`crossing`). Both
  with a bootstrap CI over seeds (resample seeds, refit).
- bimodality: diversities near M* where some seeds score > 0 and others < 0.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from mesaopt.analysis import final_step

MIN_SEPARATION = 2.0
KEYS = ["run_id", "member", "seed", "num_tasks", "step"]


SCORE_METRICS = {"score": "emergence_score", "delta_mem": "emergence_d_mem",
                 "delta_gen": "emergence_d_gen", "delta_refs": "emergence_separation"}


def values(df: pd.DataFrame, predictor: str, metric: str, split: str = "true") -> pd.Series:
    """A predictor's metric (the mean row over positions) per member and evaluation, indexed by
    KEYS."""
    rows = df[(df.split == split) & (df.position == -1) & (df.predictor == predictor)
              & (df.metric == metric)]
    return rows.set_index(KEYS)["value"]


def scores(df: pd.DataFrame, learner: str, split: str = "true") -> pd.DataFrame:
    """One row per member and evaluation step of the `emergence_score` probe's records: score,
    distances (delta_mem, delta_gen, delta_refs), separation, and the relative error where the
    family is supervised (mse / the generalizer's mse)."""
    rows = df[(df.split == split) & (df.position == -1)]
    static = [c for c in df.columns if "." in c]
    if not rows.metric.eq("emergence_score").any():
        raise ValueError("the table has no emergence_score (its family declares no memorizer and "
                         "generalizer, or eval.probes leaves the emergence_score probe out)")

    out = pd.DataFrame({column: values(rows, learner, name, split)
                        for column, name in SCORE_METRICS.items()})
    projection = values(rows, learner, "projection", split)
    if len(projection):
        out["projection"] = projection
    out["floor"] = out.groupby(["run_id", "seed", "step"]).delta_gen.transform("min")
    out["separated"] = out.delta_refs >= MIN_SEPARATION * out.floor
    generalizer = roles(df)[1]
    if generalizer is not None and rows.metric.eq("mse").any():
        out["relative_error"] = (values(rows, learner, "mse", split)
                                 / values(rows, generalizer, "mse", split))
    out = out.reset_index()
    per_run = rows.groupby("run_id")[static].first()
    return out.merge(per_run, left_on="run_id", right_index=True, how="left")


def roles(df: pd.DataFrame) -> tuple[str | None, str | None]:
    """(memorizer, generalizer) of the table's family, as the probe named them (metric
    `emergence_role`: -1, +1); None where the table has no such record."""
    part = df[df.metric == "emergence_role"]
    name = lambda sign: next(iter(part.loc[part.value == sign, "predictor"].unique()), None)  # noqa: E731
    return name(-1.0), name(1.0)


def _tanh(x, k, x0):
    return np.tanh(k * (x - x0))


SPAN = 0.5  # a threshold needs scores below -SPAN and above +SPAN


def sigmoid_threshold(log2_m: np.ndarray, score: np.ndarray) -> float:
    """x0 of the best fit s = tanh(k (x - x0)) (k > 0), clipped to the observed range; nan unless
    the scores go from memorizer-like (< -SPAN) to generalizer-like (> +SPAN): a model that stops
    memorizing without learning ridge scores ~0 and has no threshold."""
    log2_m, score = np.asarray(log2_m, float), np.asarray(score, float)
    if len(score) < 2 or score.max() <= SPAN or score.min() >= -SPAN:
        return math.nan
    order = np.argsort(log2_m)
    x, s = log2_m[order], score[order]
    start = x[np.argmax(s > 0)]  # first diversity with a positive score
    lo, hi = x.min(), x.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            (k, x0), _ = curve_fit(_tanh, x, s, p0=(1.0, start), bounds=((1e-3, lo), (50.0, hi)))
        except RuntimeError:
            return math.nan
    return float(x0)


def crossing(log2_m: np.ndarray, earlier: np.ndarray, later: np.ndarray) -> float:
    """log2 M where the Delta(learner, generalizer) curve of a later budget crosses the earlier
    one's from above (memorizing more below M*) to below (closer to the generalizer above M*),
    by linear interpolation. Of several such sign changes (noise where the curves nearly touch)
    the one that best splits the diversities into "later above" and "later below" is taken; nan
    when the later curve never goes from above to below."""
    gain = np.asarray(earlier, float) - np.asarray(later, float)  # > 0: the later budget is closer
    x = np.asarray(log2_m, float)
    best, best_split = math.nan, -math.inf
    for i in range(len(gain) - 1):
        if gain[i] <= 0 < gain[i + 1]:
            split = gain[i + 1:].sum() - gain[: i + 1].sum()
            if split > best_split:
                best_split = split
                best = float(x[i] + (x[i + 1] - x[i]) * gain[i] / (gain[i] - gain[i + 1]))
    return best


def _seed_table(part: pd.DataFrame, column: str) -> pd.DataFrame:
    """Finite diversities x seeds of `column` (rows sorted by M)."""
    finite = part[np.isfinite(part.num_tasks)]
    return finite.pivot_table(index="num_tasks", columns="seed", values=column).sort_index()


def _separated_scores(part: pd.DataFrame) -> pd.DataFrame:
    """The score table restricted to diversities where most seeds have separated references."""
    table = _seed_table(part, "score")
    keep = _seed_table(part, "separated").mean(axis=1) >= 0.5
    return table[keep.reindex(table.index, fill_value=False)]


def bootstrap(estimate, tables: list[pd.DataFrame], samples: int, seed: int) -> np.ndarray:
    """`estimate(log2_m, *mean_curves)` on seed-resampled mean curves; seeds resampled per table."""
    if any(t.size == 0 for t in tables):
        return np.full(samples, math.nan)
    rng = np.random.default_rng(seed)
    log2_m = np.log2(tables[0].index.to_numpy(float))
    draws = []
    for _ in range(samples):
        curves = [t.to_numpy()[:, rng.integers(0, t.shape[1], t.shape[1])].mean(axis=1)
                  for t in tables]
        draws.append(estimate(log2_m, *curves))
    return np.asarray(draws)


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(lower, upper, share of resamples with an estimate) of the finite bootstrap draws."""
    finite = draws[np.isfinite(draws)]
    if not len(finite):
        return math.nan, math.nan, 0.0
    tail = (1 - level) / 2 * 100
    return float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail)), \
        len(finite) / len(draws)


def bimodal(table: pd.DataFrame, log2_star: float, window: float = 2.0) -> dict[float, list]:
    """Diversities within `window` (log2) of M* whose seeds disagree in the sign of the score:
    M -> seeds scoring above zero (the rest score below)."""
    out = {}
    for m, row in table.iterrows():
        if math.isfinite(log2_star) and abs(math.log2(m) - log2_star) <= window:
            above = [int(s) for s, v in row.items() if v > 0]
            if 0 < len(above) < row.notna().sum():
                out[float(m)] = above
    return out


def thresholds(frame: pd.DataFrame, compute: list[str], samples: int = 1000,
               seed: int = 0) -> pd.DataFrame:
    """M* per compute setting (the `compute` columns of a `scores` frame, e.g. ["step",
    "learner.width"]): sigmoid fit with bootstrap CI, crossing with the next larger budget (in
    the order of the settings) with its CI, and seeds that disagree near M*."""
    settings = [s if isinstance(s, tuple) else (s,) for s in sorted(frame.groupby(compute).groups)]

    def rows_of(key):
        return frame[np.all([frame[c] == v for c, v in zip(compute, key)], axis=0)]

    rows = []
    for i, key in enumerate(settings):
        part = rows_of(key)
        table = _separated_scores(part)
        log2_m = np.log2(table.index.to_numpy(float))
        x0 = sigmoid_threshold(log2_m, table.mean(axis=1).to_numpy())
        lo, hi, ok = interval(bootstrap(sigmoid_threshold, [table], samples, seed))
        row = dict(zip(compute, key), seeds=table.shape[1], m_star=2**x0, m_star_lo=2**lo,
                   m_star_hi=2**hi, fit_share=ok, bimodal=bimodal(table, x0))
        if i + 1 < len(settings):
            nxt = settings[i + 1]
            other = rows_of(nxt)
            curves = [_seed_table(part, "delta_gen"), _seed_table(other, "delta_gen")]
            common = curves[0].index.intersection(curves[1].index)
            curves = [c.loc[common] for c in curves]
            cross = crossing(np.log2(common.to_numpy(float)), *[c.mean(axis=1) for c in curves])
            c_lo, c_hi, c_ok = interval(bootstrap(crossing, curves, samples, seed))
            row.update(crossing_with=", ".join(f"{c}={v}" for c, v in zip(compute, nxt)),
                       m_cross=2**cross, m_cross_lo=2**c_lo, m_cross_hi=2**c_hi, cross_share=c_ok)
        rows.append(row)
    return pd.DataFrame(rows)


COMPUTE_COLUMNS = ("learner.width", "learner.depth", "train.batch_size", "train.steps")


def compute_axis(df: pd.DataFrame) -> str:
    """The compute axis of a sweep: the first static compute column that varies between runs,
    else the training step (intermediate evaluations of one run)."""
    per_run = df.groupby("run_id")[[c for c in COMPUTE_COLUMNS if c in df]].first()
    varying = [c for c in per_run if per_run[c].nunique() > 1]
    return varying[0] if varying else "step"


def at_budgets(frame: pd.DataFrame, axis: str, count: int = 4) -> pd.DataFrame:
    """Rows at each run's last step when compute is a static axis; else at up to `count` steps
    spread evenly in log scale (the last included)."""
    if axis != "step":
        return final_step(frame)
    return frame[frame.step.isin(budget_steps(frame.step, count))]


def budget_steps(steps: pd.Series, count: int) -> list[int]:
    """Up to `count` evaluation steps > 0, evenly spread in log scale, always the last one."""
    positive = np.array(sorted(s for s in steps.unique() if s > 0))
    picks = np.geomspace(positive[0], positive[-1], count)
    return sorted({int(positive[np.abs(positive - p).argmin()]) for p in picks})


def require_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` if some finite diversity has a score; else ValueError naming what is missing."""
    finite = frame[np.isfinite(frame.num_tasks)] if len(frame) else frame
    if not len(finite) or finite.score.isna().all():
        raise ValueError("the emergence score needs finite task diversities M and the family's "
                         "memorizer and generalizer references (sweep.num_tasks, eval.references)")
    return frame


def first_and_last(frame: pd.DataFrame, axis: str, samples: int = 1000) -> pd.DataFrame:
    """Thresholds of the smallest and the largest budget only: row 0 carries the crossing of their
    Delta(model, generalizer) curves (the paper's M*), row 1 the sigmoid M* of the largest."""
    finite = frame[np.isfinite(frame.num_tasks)]
    ends = finite[finite[axis].isin([finite[axis].min(), finite[axis].max()])]
    return thresholds(ends, [axis], samples=samples)


def by_budget(frame: pd.DataFrame, samples: int = 1000) -> tuple[str, pd.DataFrame]:
    """(the sweep's compute axis, M* per budget along it) of a `scores` frame."""
    axis = compute_axis(frame)
    return axis, thresholds(at_budgets(frame, axis), [axis], samples=samples)


def summary(df: pd.DataFrame, learner: str, samples: int = 1000) -> pd.DataFrame:
    """M* per compute budget of a sweep table (the figures' and notebooks' threshold table)."""
    return by_budget(scores(df, learner), samples)[1]


def to_markdown(table: pd.DataFrame) -> str:
    """A plain markdown table (no extra dependency)."""
    def cell(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def family_thresholds(df: pd.DataFrame, samples: int = 1000) -> pd.DataFrame:
    """M* per family, learner and compute budget of a table holding several families' sweeps
    (runs grouped by task.name and learner.name, and apart where their task settings differ,
    e.g. two regression sweeps at D = 4 and D = 8: column `task`): each group's `summary`, with
    the memorizer and generalizer it was scored against; a group without a threshold in its range
    keeps its row (m_star NaN) and says why in `note`."""
    rows = []
    for (family, learner_name), part in df.groupby(["task.name", "learner.name"], sort=True):
        learner = sorted(part.loc[part.role == "learner", "predictor"].unique())[0]
        memorizer, generalizer = roles(part)
        for task, sweep in _task_sweeps(part):
            base = dict(family=family, learner=learner, task=task, memorizer=memorizer,
                        generalizer=generalizer)
            try:
                axis, table = by_budget(require_scores(scores(sweep, learner)), samples)
            except ValueError as err:
                rows.append(dict(base, note=str(err)))
                continue
            for row in table.to_dict("records"):
                budget = row.pop(axis)
                rows.append(dict(base, compute=f"{axis}={budget:g}", **row,
                                 note="" if math.isfinite(row["m_star"]) else
                                 "no threshold: scores never go from below -0.5 to above +0.5"))
    return pd.DataFrame(rows)


def _task_sweeps(part: pd.DataFrame):
    """(label, rows) per task setting of one family's runs: apart where a task.* column differs
    between runs (label e.g. "dim=4, context_len=8"), else one group labelled ""."""
    columns = [c for c in part if c.startswith("task.") and c != "task.name"]
    per_run = part.groupby("run_id")[columns].first().astype(str)  # lists compare as text
    differing = [c for c in columns if per_run[c].nunique() > 1]
    if not differing:
        yield "", part
        return
    for setting, sweep in part.groupby(differing, sort=True, dropna=False):
        setting = setting if isinstance(setting, tuple) else (setting,)
        yield ", ".join(f"{c.removeprefix('task.')}={v:g}" if isinstance(v, float)
                        else f"{c.removeprefix('task.')}={v}"
                        for c, v in zip(differing, setting)), sweep
