"""Analysis of finished result tables (thresholds, bootstrap): beside the plots, not probes."""
from __future__ import annotations

import pandas as pd


def final_step(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of each run's last evaluation."""
    return df[df.step == df.groupby("run_id")["step"].transform("max")]
