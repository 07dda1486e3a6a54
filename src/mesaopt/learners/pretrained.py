"""No inner steps in training (plain regression over all tasks); fine-tuned by SGD when a probe adapts it. A variant of `learners/maml.py`."""
from mesaopt.learners.maml import INNER_LOOP, SETTING, build, variant  # noqa: F401

Config = variant("pretrained", inner_steps=0)
