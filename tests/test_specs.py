"""Plugin specs: every registered module passes its kind's spec, and a misspelled field, a missing
one or a value of the wrong kind fails when the registry loads the module, in one line."""
from __future__ import annotations

import importlib.util
import itertools
import textwrap

import pytest

from mesaopt import plots, registry

COUNTER = itertools.count()
VALID = {  # the least each kind declares
    "probes": """
        from mesaopt.metrics import Metric
        SETTING = "rl"
        METRICS = (Metric("score", "a score"),)
        def measure(view):
            return []
        """,
    "train": """
        from mesaopt.metrics import Metric
        SETTING = "supervised"
        METRICS = ()
        class Config:
            pass
        def init_state(*args):
            pass
        def train_chunk(*args):
            pass
        """,
    "references": """
        def build(family):
            pass
        """,
    "learners": """
        SETTING = "supervised"
        class Config:
            pass
        def build(cfg, family):
            pass
        """,
    "tasks": """
        class Config:
            pass
        def build(cfg):
            pass
        """,
    "loggers": """
        class Logger:
            pass
        """,
    "plots": """
        def plot(df):
            pass
        """,
}
VALID = {kind: textwrap.dedent(source) for kind, source in VALID.items()}
MISSPELLED = {"probes": "PREDICTOR_NEED = ('think',)", "train": "def init_states(*a):\n    pass",
              "references": "HOST_INITS = True", "learners": "INNER_LOOPS = True",
              "tasks": "FIGURE = ('phase',)", "loggers": "Loger = None",
              "plots": "OVER_STEP = True"}
MEANT = {"probes": "PREDICTOR_NEEDS", "train": "init_state", "references": "HOST_INIT",
         "learners": "INNER_LOOP", "tasks": "FIGURES", "loggers": "Logger", "plots": "OVER_STEPS"}


def module_from(tmp_path, source: str):
    path = tmp_path / f"plugin_{next(COUNTER)}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_registered_plugin_passes_its_spec():
    for kind in registry.KINDS:
        for name in registry.available(kind):
            assert registry.spec(kind, name) is not None
    for figure in plots.available():
        assert plots.spec(figure).plot is not None


@pytest.mark.parametrize("kind", sorted(VALID))
def test_a_misspelled_field_fails_at_load_in_one_line(kind, tmp_path):
    assert registry.check(kind, module_from(tmp_path, VALID[kind])) is not None
    wrong = module_from(tmp_path, VALID[kind] + "\n" + MISSPELLED[kind] + "\n")
    with pytest.raises(registry.SpecError, match=f"did you mean {MEANT[kind]}") as err:
        registry.check(kind, wrong)
    assert "\n" not in str(err.value) and wrong.__name__ in str(err.value)


@pytest.mark.parametrize("source, message", [
    (VALID["probes"].replace('"rl"', '"sl"'), "SETTING must be supervised or rl"),
    (VALID["probes"] + "MAY_BE_NAN = {'other': 'why'}\n", "MAY_BE_NAN names metrics"),
    (VALID["probes"] + "SPLIT = 'mine'\n", "SPLIT and episodes go together"),
    (VALID["probes"] + "PREDICTOR_NEEDS = ('brains',)\n", "'brains'] are not Predictor"),
    (VALID["probes"] + "DEFAULT = 'no'\n", "DEFAULT must be True or False"),
    (VALID["probes"].replace("METRICS = (Metric(\"score\", \"a score\"),)", "METRICS = ('x',)"),
     "METRICS must be a tuple of mesaopt.metrics.Metric"),
    (VALID["probes"].replace("def measure", "def evaluate"), "lacks .*measure"),
])
def test_a_probe_spec_with_a_wrong_value_fails_in_one_line(tmp_path, source, message):
    with pytest.raises(registry.SpecError, match=message) as err:
        registry.check("probes", module_from(tmp_path, source))
    assert "\n" not in str(err.value)
