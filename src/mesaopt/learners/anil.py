"""ANIL: only the head (last layer) adapts in the inner loop. A variant of `learners/maml.py`."""
from mesaopt.learners.maml import INNER_LOOP, SETTING, build, variant  # noqa: F401

Config = variant("anil", adapt="head")
