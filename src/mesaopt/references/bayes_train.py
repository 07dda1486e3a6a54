"""The Bayes-optimal policy under the member's *training* prior: the reference that separates
rational prior-following from mesa-objective divergence (the bandit analogue of dMMSE).

The training prior is represented on a G x G grid of arm-mean cells (G = 64, midpoints): with
finite diversity M, the histogram of the member's M pool tasks (each snapped to its cell); with
unlimited diversity, the family's prior reweighted so that arm 0 is best with the member's proxy
rate. The policy is then solved exactly on that grid prior (see `_bandit_dp`). Host-side, cached
per distinct prior."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from mesaopt.references import Context, _bandit_dp
from mesaopt.references.bayes import table_policy
from mesaopt.tasks import FRESH

HOST_INIT = True  # numpy tables: built member by member on the host

STYLE = dict(color="#98df8a", linestyle="-.")

GRID = 64


def unlimited_prior(kind: str, proxy_rate: float) -> np.ndarray:
    """Grid weights of the family's prior with arm 0 best with probability proxy_rate."""
    cell = np.arange(GRID)
    if kind == "dependent":  # means (p, 1 - p): the anti-diagonal
        base = (cell[:, None] + cell[None, :] == GRID - 1).astype(float)
    else:
        base = np.ones((GRID, GRID))
    diagonal = 0.5 * (cell[:, None] == cell[None, :])  # a diagonal cell is half on each side
    above = (cell[:, None] > cell[None, :]) + diagonal    # arm 0 better
    below = (cell[:, None] < cell[None, :]) + diagonal
    weights = base * (proxy_rate * above / (base * above).sum()
                      + (1 - proxy_rate) * below / (base * below).sum())
    return weights / weights.sum()


def pool_prior(means_MxA: np.ndarray) -> np.ndarray:
    cells = np.clip((means_MxA * GRID).astype(int), 0, GRID - 1)
    weights = np.zeros((GRID, GRID))
    np.add.at(weights, (cells[:, 0], cells[:, 1]), 1.0)
    return weights / weights.sum()


@lru_cache(maxsize=8)
def _solve(horizon: int, prior_bytes: bytes):
    prior = np.frombuffer(prior_bytes).reshape(GRID, GRID)
    _, starts, table = _bandit_dp.solve(horizon, _bandit_dp.grid_predictive(horizon, prior))
    return starts, table


def training_prior(kind: str, context: Context) -> np.ndarray:
    num_tasks = int(context.num_tasks)
    if num_tasks == FRESH:
        return unlimited_prior(kind, float(context.axes["proxy_rate"]))
    return pool_prior(np.asarray(context.pool.means_A, np.float64)[:num_tasks])


def build(env):
    return table_policy(env, lambda context: _solve(
        env.horizon, training_prior(env.bandit.reward_model, context).tobytes()))
