"""The results vocabulary: every metric a probe (`probes/<name>.py`) or a training method
(`train/<name>.py`) writes, collected from their `METRICS` declarations (mesaopt.metrics).

Readers (plots, analysis, the results command, check scripts) spell a metric `METRIC.<key>`, a
family of metrics `METRIC.<key>.format(...)`, never as a string literal (tests/test_vocabulary.py
fails otherwise): a renamed or undeclared metric is then an AttributeError, not an empty figure.
`python -m mesaopt.vocabulary` prints the reference table the README carries.
"""
from __future__ import annotations

import difflib
import functools
import importlib
from typing import NamedTuple

from mesaopt import metrics, registry
from mesaopt.metrics import Metric

KINDS = ("probes", "train")  # the plugin kinds that write metrics


class Entry(NamedTuple):
    metric: Metric
    sources: tuple[str, ...]  # "probe mse", "train ppo", ...
    splits: tuple[str, ...]   # every split some source writes it on


@functools.cache
def entries() -> dict[str, Entry]:
    """key -> its declaration, with every source that declares it. Sources that declare one key
    must declare one name (e.g. `mse`: the mse probe and the interpolation probe's own split)."""
    found: dict[str, Entry] = {}
    for kind in KINDS:
        for name in registry.available(kind):
            module = importlib.import_module(f"mesaopt.{kind}.{name}")
            source = f"{kind.removesuffix('s')} {name}"
            for metric in module.METRICS:
                entry = found.get(metric.key)
                if entry is None:
                    found[metric.key] = Entry(metric, (source,), metric.splits)
                    continue
                if str(entry.metric) != str(metric):
                    raise ValueError(f"metric key {metric.key!r} is {entry.metric!r} in "
                                     f"{entry.sources[0]} but {metric!r} in {source}")
                found[metric.key] = Entry(entry.metric, (*entry.sources, source), tuple(
                    dict.fromkeys((*entry.splits, *metric.splits))))
    names = {name for e in found.values() for name in e.metric.names()}
    clashes = sorted(k for k, e in found.items() if e.metric.is_family and k in names)
    if clashes:  # METRIC.<name> must be that metric, never a family's pattern
        raise ValueError(f"metric family keys {clashes} are also metric names: key them "
                         "<name>_family")
    return dict(sorted(found.items()))


def find(name: str) -> Metric | None:
    """The declaration a table's metric name belongs to, or None."""
    return metrics.declaring(tuple(e.metric for e in entries().values()), name)


def near(name: str) -> list[str]:
    return difflib.get_close_matches(name, list(entries()), n=3, cutoff=0.6)


class _Names:
    """`METRIC.<key>`: the declared metric (a str equal to its name); `METRIC.<name>`: one member
    of a declared family by its full name (`METRIC.steer_goal_rate_level`)."""

    def __getattr__(self, key: str) -> Metric | str:
        entry = entries().get(key)
        if entry is not None:
            return entry.metric
        if key.startswith("__") or find(key) is None:
            hint = near(key)
            raise AttributeError(f"no declared metric {key!r}" + (
                f"; did you mean {', '.join(hint)}?" if hint else ""))
        return key

    def __dir__(self):
        return list(entries())


METRIC = _Names()


def reference() -> str:
    """The metric reference, a markdown table (the README's copy is tested against it)."""
    rows = ["| metric | meaning | range or unit | better | splits | written by |",
            "|---|---|---|---|---|---|"]
    for entry in entries().values():
        m = entry.metric
        name = f"`{m}`" + (f" (`{m.key}`: " + "; ".join(
            f"{field} ∈ {'any' if values is None else ', '.join(v or '∅' for v in values)}"
            for field, values in m.values.items()) + ")" if m.is_family else "")
        cells = [name, m.meaning, m.range or "—", m.better or "—", ", ".join(entry.splits),
                 ", ".join(entry.sources)]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(reference())
