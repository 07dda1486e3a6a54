"""The results vocabulary: every metric written is declared by its writer, every metric read is
spelled through `vocabulary.METRIC` (never a string), and the README's reference is the
declarations' own table."""
from __future__ import annotations

import ast
import re
from pathlib import Path
from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt import evaluation, metrics, population, registry, vocabulary
from mesaopt.metrics import Metric
from mesaopt.probes import Record
from mesaopt.train import SHARED
from mesaopt.vocabulary import METRIC

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "mesaopt"
# the code that reads tables: everything above the plugins that write them, and the scripts
READERS = sorted([*(SRC / "plots").glob("*.py"), *(SRC / "analysis").glob("*.py"),
                  *(SRC / "loggers").glob("*.py"), *(SRC / "bench").glob("*.py"),
                  *(SRC / p for p in ("summary.py", "results.py", "status.py", "run.py",
                                      "compose.py", "command.py", "entry.py", "plan.py")),
                  *(ROOT / "scripts").glob("*.py")])
READERS = [p for p in READERS if p.name != "minimal_ppo.py"]  # a standalone PPO: its own dict keys


def declared_names() -> tuple[set[str], list[Metric]]:
    """Concrete declared names, and the families (matched by pattern)."""
    plain, families = set(), []
    for entry in vocabulary.entries().values():
        if entry.metric.is_family:
            families.append(entry.metric)
        else:
            plain.add(str(entry.metric))
    return plain, families


def spelled_metrics(path: Path) -> list[str]:
    """Where a reader spells a metric name: a string literal that is a declared name, an
    f-string that builds one, or `METRIC.<key>` with a key nobody declares."""
    plain, families = declared_names()
    prefixes = {str(m).split("{")[0] for m in families if len(str(m).split("{")[0]) >= 4}
    # a family with a free placeholder (delta_<reference>) declares every such name: a string
    # like the analysis' column "delta_gen" is not one of its metrics, so only fixed ones count
    families = [m for m in families if metrics.ANY not in m.values.values()]
    problems = []
    for node in ast.walk(ast.parse(path.read_text())):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in plain or any(m.matches(node.value) for m in families):
                problems.append(f"{where}: the string {node.value!r} (spell it METRIC.<key>)")
            elif re.fullmatch(r"[a-z0-9_]+\{[a-z_]*\}[a-z0-9_{}]*", node.value) and any(
                    node.value.startswith(p) for p in prefixes):
                problems.append(f"{where}: the template {node.value!r} (METRIC.<key>.format)")
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            text = head.value if isinstance(head, ast.Constant) else ""
            if re.fullmatch(r"[a-z0-9_]+", text) and (any(text.startswith(p) for p in prefixes) or (
                    len(text) >= 4 and any(n.startswith(text) for n in plain))):
                problems.append(f"{where}: an f-string building a metric name from {text!r} "
                                "(METRIC.<key>.format(...))")
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "METRIC" and vocabulary.find(node.attr) is None
              and node.attr not in vocabulary.entries()):
            problems.append(f"{where}: METRIC.{node.attr} is declared by no probe or method")
    return sorted(problems, key=lambda p: int(p.split(":")[1]))


def test_readers_spell_metrics_only_through_the_declarations():
    problems = [p for path in READERS for p in spelled_metrics(path)]
    assert not problems, "\n".join(problems)


def test_the_reader_scan_finds_a_string_an_f_string_and_an_undeclared_key(tmp_path):
    """The scan above can fail: each way of spelling a metric outside the declarations is found."""
    reader = tmp_path / "reader.py"
    reader.write_text('a = df[df.metric == "goal_rate"]\nb = f"steer_null_{stat}_goal"\n'
                      'c = METRIC.goal_rat\nd = METRIC.goal_rate\ne = f"proxy pursuit {x}"\n'
                      'f = "retarget_null_{}_channels"\n')
    found = spelled_metrics(reader)
    assert len(found) == 4 and "'goal_rate'" in found[0] and "steer_null_" in found[1] \
        and "goal_rat " in found[2] and "template" in found[3], found


def test_every_probe_and_method_declares_what_it_writes():
    entries = vocabulary.entries()
    assert {"mse", "loss", "alive", "goal_rate", "steer_null", "probe_layer"} <= set(entries)
    for entry in entries.values():
        m = entry.metric
        assert m.meaning and m.better in metrics.BETTER and m.splits, m
    assert set(entries["loss"].sources) >= {"train supervised", "train ppo", "train a2c"}
    assert set(entries["mse"].sources) == {"probe mse", "probe interpolation"}
    assert set(entries["mse"].splits) == {"pretrain", "true", "interpolation"}


def test_a_family_formats_only_declared_values_and_matches_its_members():
    rate = METRIC.steer_rate
    assert rate.format(outcome="goal", kind="level") == "steer_goal_rate_level"
    assert rate.matches("steer_proxy_rate_random") and not rate.matches("steer_proxy_rate_x")
    with pytest.raises(ValueError, match="kind='x' is not declared"):
        rate.format(outcome="goal", kind="x")
    assert METRIC.delta.matches("delta_gd_plus") and METRIC.delta.format(other="ridge") == "delta_ridge"
    assert vocabulary.find("probe_goal_acc_decision_untrained") is METRIC.probe_layer
    assert vocabulary.find("no_such_metric") is None
    with pytest.raises(AttributeError, match="did you mean goal_rate"):
        METRIC.goal_rat  # noqa: B018
    with pytest.raises(ValueError, match="placeholders"):
        Metric("a_{b}", "x")


def test_every_declared_name_reads_as_itself():
    """`METRIC.<name>` is that metric's name for every name a declaration covers (a family's key
    is never one of them: `METRIC.proxy_weight` is "proxy_weight", not a pattern)."""
    names = [n for e in vocabulary.entries().values() if metrics.ANY not in e.metric.values.values()
             for n in e.metric.names()]
    assert len(names) > 150 and all(getattr(METRIC, n) == n for n in names)
    assert METRIC.proxy_weight_family.format(target="_cell") == "proxy_cell_weight"


def test_a_probe_that_writes_an_undeclared_metric_or_split_fails():
    declared = (Metric("score", "a score"),)

    def probe(metric, split):
        spec = registry.ProbeSpec(("rl",), lambda view: [
            Record(split, "learner", metric, 0.0, "learner")], declared)
        return evaluation.Probe("fake", spec, None)

    family = SimpleNamespace(setting="rl")
    run = lambda p: evaluation.measure([p], family, "learner", {}, {}, {}, {})  # noqa: E731
    with pytest.raises(ValueError, match="probe fake writes metric 'scores'"):
        run(probe("scores", "true"))
    with pytest.raises(ValueError, match="on split 'iw'"):
        run(probe("score", "iw"))
    assert len(run(probe("score", "pretrain"))) == 1


def test_a_training_method_that_returns_an_undeclared_metric_fails():
    method = SimpleNamespace(metrics=(Metric("loss", "l", splits=("train",)),),
                             train_chunk=lambda *a: (None, {"loss": 0.0, "los": 1.0}))
    with pytest.raises(ValueError, match="training method fake writes metric 'los'"):
        population.declared_chunk(method, "fake")(None, None, None, 1, None, None)


@pytest.mark.parametrize("alive_before, alive, want", [
    (True, [1, 1, 0, 0], [np.nan, np.nan, 10, np.nan]),  # the update at step 10 failed
    (True, [0, 0, 0, 0], [8, np.nan, np.nan, np.nan]),   # the chunk's first update
    (False, [0, 0, 0, 0], [np.nan] * 4),                 # dead before the chunk: no event
    (True, [1, 1, 1, 1], [np.nan] * 4)])
def test_diverged_at_is_the_step_of_the_first_failed_update_recorded_once(alive_before, alive,
                                                                          want):
    state = SimpleNamespace(alive=jnp.asarray(alive_before), step=jnp.asarray(8))
    method = SimpleNamespace(metrics=SHARED, train_chunk=lambda *a: (
        state, {"loss": jnp.zeros(4), "alive": jnp.asarray(alive, bool)}))
    out = population.declared_chunk(method, "fake")(None, None, None, 4, state, None)[1]
    np.testing.assert_array_equal(out[METRIC.diverged_at], np.asarray(want, np.float32))
    chunk = metrics.reduce_chunk(SHARED, {k: np.asarray(v)[None] for k, v in out.items()})
    event = next((w for w in want if not np.isnan(w)), np.nan)
    np.testing.assert_array_equal(chunk[METRIC.diverged_at], [event])
    assert chunk[METRIC.alive][0] == alive[-1] and chunk[METRIC.loss][0] == 0.0


def test_the_readme_carries_the_metric_reference():
    readme = (ROOT / "README.md").read_text()
    assert vocabulary.reference() in readme, \
        "README's metric reference is stale: paste `python -m mesaopt.vocabulary`"


def test_one_name_per_split():
    """The member's training distribution is `pretrain` wherever tasks and probes name a split
    (`train` is only the training loop's own records, metrics.TRAIN_SPLIT)."""
    offenders = [f"{p.relative_to(ROOT)}:{node.lineno}"
                 for package in ("tasks", "probes", "evaluation", "references")
                 for p in (SRC / package).rglob("*.py")
                 for node in ast.walk(ast.parse(p.read_text()))
                 if isinstance(node, ast.Constant) and node.value == metrics.TRAIN_SPLIT]
    assert not offenders, offenders
