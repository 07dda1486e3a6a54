"""FO-MAML: the first-order meta-gradient (the inner gradients are constants to the outer loop). A variant of `learners/maml.py`."""
from mesaopt.learners.maml import INNER_LOOP, SETTING, build, variant  # noqa: F401

Config = variant("fomaml", first_order=True)
