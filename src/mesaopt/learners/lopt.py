"""A learned optimizer as the inner loop: the MLP of `algorithms/mlp.py` adapted on each position's
support set by the per-parameter learned optimizer of `algorithms/learned_optimizer.py` (gradient,
parameter, momenta, second moment and step-count features), whose meta-parameters are learned by
the outer loop, with the network's initialization (or, `learn_init: false`, from a fixed random
initialization, the one the `sgd` and `adam` references start from: a pure learned optimizer,
compared with them on the same problems from the same start). The optimizer starts as SGD with
step size `inner_lr` (its output layer is zero), so training starts from MAML. Train it by backpropagation through the
inner loop (`train=supervised`) or by persistent evolution strategies (`train=pes`); the
`adapt_mse` probe reads it past its training horizon, and its update's cosine with the negative
gradient of the support loss (`update_cosine`).
"""
from __future__ import annotations

import dataclasses

import jax

from mesaopt.algorithms import learned_optimizer as optimizer
from mesaopt.algorithms.least_squares import FIT_KEY
from mesaopt.algorithms.mlp import inner_loop_predictor
from mesaopt.config import require
from mesaopt.learners import maml
from mesaopt.predictor import Predictor
from mesaopt.tasks import Family

SETTING = "supervised"
INNER_LOOP = True


@dataclasses.dataclass(frozen=True)
class Config(maml.Config):
    name: str = "lopt"
    inner_steps: int = 1     # the training horizon of the learned optimizer
    learn_init: bool = True  # false: the references' fixed initialization, not learned
    optimizer: optimizer.Config = optimizer.Config()  # its init_lr is replaced by inner_lr

    def validate(self, path: str) -> None:
        super().validate(path)
        require(not self.learn_inner_lr, f"{path}.learn_inner_lr",
                "the learned optimizer learns its own step sizes: must be false")


def build(cfg: Config, family: Family) -> Predictor:
    opt_cfg = dataclasses.replace(cfg.optimizer, init_lr=cfg.inner_lr)
    return inner_loop_predictor(
        family.input_dim, cfg.hidden, cfg.inner_steps,
        lambda key, adapted: dict(opt=optimizer.init(opt_cfg, key)),
        lambda params: optimizer.transformation(opt_cfg, params["opt"]), cfg.adapt,
        cfg.first_order, fixed_init_key=None if cfg.learn_init else jax.random.PRNGKey(FIT_KEY))
