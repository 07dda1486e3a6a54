"""Meta-SGD: a learned inner step size per parameter. A variant of `learners/maml.py`."""
from mesaopt.learners.maml import INNER_LOOP, SETTING, build, variant  # noqa: F401

Config = variant("metasgd", learn_inner_lr=True)
