"""How a probe or a training method declares a metric it writes (`METRICS` in its module), so that
every reader (plots, analysis, the results command, check scripts) takes the name from one place:
`mesaopt.vocabulary` collects the declarations and `vocabulary.METRIC.<key>` is the name.

A `Metric` *is* its name (a `str`), so it compares equal to the table's `metric` column. A name
with `{placeholders}` is a family of metrics (`steer_{outcome}_rate_{kind}`); `values` lists each
placeholder's values (None: any name, e.g. a reference's), `format(...)` gives one member and
refuses values it does not declare, and `key` is the name readers use for the family.
"""
from __future__ import annotations

import itertools
import keyword
import re
import string

import numpy as np

BETTER = ("higher", "lower", None)  # None: descriptive (a count, a coefficient, a path)
EVAL_SPLITS = ("pretrain", "true")  # evaluation on the member's training distribution; held out
TRAIN_SPLIT = "train"               # the training loop's own batches (training methods' metrics)
ANY = None                          # a placeholder that takes any name (of a reference, a layer)
# How a training metric's per-step values become a chunk's record (`Metric(chunk=...)`):
# the mean over the chunk's steps, the least value, or the one value a chunk holds (NaN in its
# other steps: an event such as a member's divergence; NaN where the chunk holds none).
CHUNK_REDUCTIONS = ("mean", "min", "once")
_FREE = "[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*"


class Metric(str):
    """A metric's name with what it means: `range` (unit or range), `better` (higher | lower |
    None), `splits` (where it is written; "family" adds the family's own splits)."""

    def __new__(cls, name: str, meaning: str, *, range: str = "", better: str | None = None,
                splits: tuple = EVAL_SPLITS, values: dict | None = None, key: str | None = None,
                chunk: str = "mean"):
        self = super().__new__(cls, name)
        if chunk not in CHUNK_REDUCTIONS:
            raise ValueError(f"metric {name!r}: chunk must be one of {CHUNK_REDUCTIONS}, "
                             f"not {chunk!r}")
        fields = [f for _, f, _, _ in string.Formatter().parse(name) if f is not None]
        if not fields and not key and not (name.isidentifier() and not keyword.iskeyword(name)):
            key = ""  # refused below: readers spell it METRIC.<key>
        values = dict(values or {})
        if sorted(fields) != sorted(values):
            raise ValueError(f"metric {name!r}: placeholders {fields} but values for {sorted(values)}")
        if better not in BETTER:
            raise ValueError(f"metric {name!r}: better must be one of {BETTER}, not {better!r}")
        if (fields or key) and not (key or "").isidentifier():
            raise ValueError(f"metric {name!r}: a metric family (or a name that is not an "
                             "identifier) needs a key, its readers' name")
        self.meaning, self.range, self.better, self.splits = meaning, range, better, tuple(splits)
        self.values, self.key, self.chunk = values, key or name, chunk
        self._pattern = re.compile("".join(
            re.escape(text) + ("" if field is None else f"(?:{self._choices(field)})")
            for text, field, _, _ in string.Formatter().parse(name)) + r"\Z")
        return self

    def __reduce__(self):  # pickles (and copies) as the plain name
        return str, (str(self),)

    def _choices(self, field: str) -> str:
        allowed = self.values[field]
        return _FREE if allowed is ANY else "|".join(map(re.escape, allowed))

    @property
    def is_family(self) -> bool:
        return bool(self.values)

    def format(self, **values) -> str:
        """One member of the family; each value must be declared (or the placeholder free)."""
        for field, value in values.items():
            allowed = self.values.get(field, ())
            if field not in self.values or (allowed is not ANY and value not in allowed):
                raise ValueError(f"metric {self.key}: {field}={value!r} is not declared "
                                 f"(declared: {self.values.get(field, 'no such placeholder')})")
        return str.format(self, **values)

    def names(self) -> tuple[str, ...]:
        """Every name the declaration covers (a free placeholder is shown as <field>)."""
        fields = list(self.values)
        choices = [(f"<{f}>",) if self.values[f] is ANY else self.values[f] for f in fields]
        return tuple(str.format(self, **dict(zip(fields, combo)))
                     for combo in itertools.product(*choices))

    def matches(self, name: str) -> bool:
        return self._pattern.match(name) is not None


def declare(*metrics: Metric) -> tuple[Metric, ...]:
    """A module's declarations, keys unique."""
    keys = [m.key for m in metrics]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"metrics declared twice: {duplicates}")
    return tuple(metrics)


# every training method reports them (train/__init__.py); results.py reads them
LOSS = Metric("loss", "the training objective on the step's batch", range="method's unit",
              better="lower", splits=(TRAIN_SPLIT,))
ALIVE = Metric("alive", "1 while the member's losses and gradients have been finite, then 0 "
               "(a chunk's record: alive at its end)", range="{0, 1}", better="higher",
               splits=(TRAIN_SPLIT,), chunk="min")
# written for every method by the population (population.declared_chunk), from `alive`
DIVERGED_AT = Metric("diverged_at", "the step of the member's first update with a non-finite "
                     "loss or gradient (its parameters frozen since), written in the chunk where "
                     "it happened; NaN in the others and for a member that never diverged",
                     range="step", splits=(TRAIN_SPLIT,), chunk="once")


def reduce_chunk(declared: tuple[Metric, ...], values: dict) -> dict:
    """name -> (P,) a chunk's record of each training metric, from its (P, S) per-step values, by
    the reduction its declaration names (`Metric.chunk`)."""
    out = {}
    for name, steps_PxS in values.items():
        steps_PxS = np.asarray(steps_PxS)
        how = declaring(declared, name).chunk
        out[name] = (steps_PxS.mean(axis=1) if how == "mean" else steps_PxS.min(axis=1)
                     if how == "min" else np.fmax.reduce(steps_PxS, axis=1))
    return out


def declaring(declared: tuple[Metric, ...], name: str) -> Metric | None:
    """The declaration that covers `name`, or None."""
    return next((m for m in declared if m.matches(name)), None)


def check_written(source: str, declared: tuple[Metric, ...], written, extra_splits=()) -> None:
    """Fail (at trace time, once per program) when `source` writes a metric it does not declare,
    or on a split its declaration does not name; `written` holds (metric, split) pairs."""
    for name, split in written:
        metric = declaring(declared, name)
        if metric is None:
            raise ValueError(f"{source} writes metric {name!r} that it does not declare "
                             f"(its METRICS: {', '.join(m.key for m in declared) or 'none'})")
        splits = (*metric.splits, *extra_splits) if "family" in metric.splits else metric.splits
        if split not in splits:
            raise ValueError(f"{source} writes metric {name!r} on split {split!r}; it declares "
                             f"{', '.join(metric.splits)}")
