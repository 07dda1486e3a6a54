"""Resumable runs: the population state (orbax) and the result rows so far, saved between chunks.

A resumed run continues from the last saved chunk and, because every batch is drawn from
fold_in(key, step), gives the same numbers as an uninterrupted run.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import jax
import orbax.checkpoint as ocp
import pandas as pd

from mesaopt import distributed
from mesaopt.results import write_atomic

LATEST = "LATEST"
TABLE = "metrics.partial.parquet"


def latest_step(run_dir: Path) -> int | None:
    """The step of a run's last complete checkpoint, or None (reads the marker only)."""
    marker = Path(run_dir).resolve() / "checkpoint" / LATEST
    return int(marker.read_text()) if marker.exists() else None


class Checkpointer:
    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir).resolve() / "checkpoint"
        self._orbax = ocp.StandardCheckpointer()

    def latest_step(self) -> int | None:
        return latest_step(self.dir.parent)

    def save(self, step: int, state, table: pd.DataFrame) -> None:
        previous = self.latest_step()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._orbax.save(self.dir / f"state_{step}", state, force=True)  # every process its shards
        self._orbax.wait_until_finished()
        if not distributed.is_writer():
            return
        write_atomic(table, self.dir / TABLE)
        tmp = self.dir / f"{LATEST}.tmp"
        tmp.write_text(str(step))
        tmp.replace(self.dir / LATEST)  # the marker moves only once both files are complete
        if previous is not None and previous != step:
            shutil.rmtree(self.dir / f"state_{previous}", ignore_errors=True)

    def restore(self, like_state) -> tuple[int, object, pd.DataFrame]:
        """(step, state, rows so far); `like_state` gives the structure, shapes and dtypes."""
        step = self.latest_step()
        abstract = jax.tree.map(  # keep each array's placement (members may span devices)
            lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), like_state)
        state = self._orbax.restore(self.dir / f"state_{step}", abstract)
        return step, state, pd.read_parquet(self.dir / TABLE)

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
