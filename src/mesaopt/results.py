"""Tidy (long) result tables: one parquet file per run directory, loaded together for a sweep.

Columns: run_id, member, seed, num_tasks (inf = unlimited), learning_rate, noise_std, the axes the
run's family and method declare (e.g. proxy_rate), step, split, predictor, role (learner |
reference), position (-1 = mean over positions), metric, value, and the run's static config
flattened as "group.field" columns (e.g. learner.depth, eval.options.gd.steps) so a sweep's runs
can be told apart.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from mesaopt import metrics

METRICS_FILE = "metrics.parquet"
CONFIG_FILE = "config.json"
FAILED_FILE = "failed.json"  # a run that raised: its error line and the step it had reached
PROVENANCE = "mesaopt"  # config.json key of the code that made the run (`provenance`); not hashed
ID_EXCLUDED = ("logger", "out_dir", "progress", "name", "checkpoint_every", "plan",
               "deterministic", "run_tag", PROVENANCE)
ID_EXCLUDED_FIELDS = {"train": ("member_chunk",), "eval": ("member_chunk",)}  # another layout


def run_id(config: dict) -> str:
    """Hash of the resolved config, without the keys that only say where and how to report or how
    to lay the work out (ID_EXCLUDED, ID_EXCLUDED_FIELDS)."""
    science = {k: v for k, v in config.items() if k not in ID_EXCLUDED}
    for group, fields in ID_EXCLUDED_FIELDS.items():
        if isinstance(science.get(group), dict):
            science[group] = {k: v for k, v in science[group].items() if k not in fields}
    return hashlib.sha1(json.dumps(science, sort_keys=True).encode()).hexdigest()[:12]


def static_columns(config: dict, groups=("task", "learner", "train", "eval")) -> dict:
    """Scalar config values as "group.field" columns; nested mappings (e.g. eval.options) give
    "group.field.key..." columns."""
    def flat(prefix: str, mapping: dict):
        for key, value in mapping.items():
            if isinstance(value, dict):
                yield from flat(f"{prefix}.{key}", value)
            elif isinstance(value, (int, float, str, bool)):
                yield f"{prefix}.{key}", value
    return dict(kv for g in groups for kv in flat(g, config.get(g) or {}))


def metric_rows(members: list[dict], step: int, records: list) -> pd.DataFrame:
    """Rows for a population's records (`probes.Record`) with values of shape (P, K) (per
    position) or (P,) (one number)."""
    frames = []
    for record in records:
        values = np.asarray(record.value, np.float64)
        if record.positions is not None:  # explicit positions (e.g. inner steps): no mean row
            values_PxK, positions = values.reshape(len(values), -1), np.asarray(record.positions)
        elif values.ndim == 1:
            values_PxK, positions = values[:, None], np.array([-1])
        else:  # per position, plus the mean over positions at position -1
            values_PxK = np.concatenate([values.mean(axis=1, keepdims=True), values], axis=1)
            positions = np.arange(-1, values.shape[1])
        num_members, num_positions = values_PxK.shape
        frames.append(pd.DataFrame({
            "member": np.repeat(np.arange(num_members), num_positions),
            "step": step, "split": record.split, "predictor": record.predictor, "role": record.role,
            "position": np.tile(positions, num_members), "metric": record.metric,
            "value": values_PxK.ravel()}))
    frame = pd.concat(frames, ignore_index=True)
    member_table = pd.DataFrame(members).rename_axis("member").reset_index()
    return frame.merge(member_table, on="member", how="left")


def member_logs(frame: pd.DataFrame, num_members: int) -> list[dict]:
    """Per member, the dashboard's values "split/predictor/metric" of one evaluation: the table's
    own number for each (a single value, or its mean over positions: the rows at position -1).
    Metrics kept only per position (explicit positions: inner steps, layers, coefficients) have
    no such row; the table and the figures hold them."""
    rows = frame[frame.position == -1]
    logs = [{} for _ in range(num_members)]
    keys = rows.split + "/" + rows.predictor + "/" + rows.metric
    for member, key, value in zip(rows.member.to_numpy(), keys, rows.value.to_numpy()):
        logs[member][key] = float(value)
    return logs


def finalize(rows: list[pd.DataFrame], run_id_: str, config: dict) -> pd.DataFrame:
    frame = pd.concat(rows, ignore_index=True)
    frame.insert(0, "run_id", run_id_)
    for column, value in static_columns(config).items():
        frame[column] = value
    return frame


def deaths(frame: pd.DataFrame) -> dict[int, int]:
    """member -> the step at which it diverged (its first update with a non-finite loss or
    gradient), as the train split's `diverged_at` recorded it."""
    died = frame[(frame.split == metrics.TRAIN_SPLIT) & (frame.metric == metrics.DIVERGED_AT)
                 & frame.value.notna()]
    return {int(m): int(step) for m, step in died.groupby("member").value.min().items()}


def write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write then rename, so a reader never sees a half-written table."""
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def write_json_atomic(data: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def is_finished(run_dir: Path) -> bool:
    return (Path(run_dir) / METRICS_FILE).exists()


def outputs_dir(start: str | os.PathLike | None = None) -> Path:
    """Where runs land by default: $MESAOPT_OUTPUTS, else `outputs` in the repository root (the
    nearest folder at or above `start`, default the working directory, that holds a
    pyproject.toml: a notebook runs in notebooks/, its runs are in ../outputs), else ./outputs."""
    if os.environ.get("MESAOPT_OUTPUTS"):
        return Path(os.environ["MESAOPT_OUTPUTS"])
    here = Path(start or Path.cwd()).resolve()
    root = next((p for p in (here, *here.parents) if (p / "pyproject.toml").exists()), here)
    return root / "outputs"


def load(path: str | os.PathLike) -> pd.DataFrame:
    """One DataFrame for a run directory or a whole sweep directory (every finished run below it)."""
    path = Path(path)
    files = sorted(path.rglob(METRICS_FILE)) if path.is_dir() else [path]
    if not files:
        raise FileNotFoundError(f"no {METRICS_FILE} under {path}")
    return pd.concat([_with_role(pd.read_parquet(f)) for f in files], ignore_index=True)


def select(df: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """The rows whose settings match every "column=value" condition (values compared as text,
    numbers as numbers: learner.depth=2 matches 2 and 2.0); ValueError naming a column the table
    lacks or a condition no row matches."""
    for condition in conditions:
        column, sep, wanted = condition.partition("=")
        if not sep or column not in df:
            raise ValueError(f"--where {condition!r}: expected COLUMN=VALUE with a column of the "
                             f"table (e.g. learner.depth=2)")
        values = df[column]
        try:
            match = np.isclose(pd.to_numeric(values, errors="coerce"), float(wanted))
        except ValueError:
            match = values.astype(str) == wanted
        if not match.any():
            raise ValueError(f"--where {condition!r}: no run has it (values: "
                             f"{', '.join(map(str, sorted(values.dropna().unique(), key=str)))})")
        df = df[match]
    return df


def _with_role(frame: pd.DataFrame) -> pd.DataFrame:
    """Tables of mesaopt < 0.2 have no role column: there the learner is the predictor with a
    training loss."""
    if "role" not in frame:
        learners = frame.loc[frame.metric == metrics.LOSS, "predictor"].unique()
        role = np.where(frame.predictor.isin(learners), "learner", "reference")
        frame.insert(frame.columns.get_loc("predictor") + 1, "role", role)
    return frame
