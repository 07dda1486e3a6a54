"""Module name is the registry key: `task=linreg` -> `mesaopt.tasks.linreg`.

Each plugin kind has a spec (`SPECS`): the fields its module may declare, as a frozen dataclass
(`ProbeSpec`, `MethodSpec`, `ReferenceSpec`, `LearnerSpec`, `FamilySpec`, `LoggerSpec`,
`FigureSpec`). `load` checks a module against its kind's spec the first time it loads it: a name
the module defines that is a near miss of a field (`PREDICTOR_NEED`, `aplies`), a missing required
field, a value of the wrong kind or declarations that contradict each other fail with one line
(`SpecError`) before anything runs. Code that reads a plugin reads `spec(kind, name)`.
"""
from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from mesaopt.config import ConfigError
from mesaopt.metrics import Metric
from mesaopt.predictor import Policy, Predictor

KINDS = ("tasks", "learners", "references", "probes", "train", "loggers")  # and "plots"


def available(kind: str) -> list[str]:
    package = importlib.import_module(f"mesaopt.{kind}")
    helpers = getattr(package, "HELPERS", ())  # shared modules that are not options
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                  if not m.name.startswith("_") and m.name not in helpers)


def load(kind: str, name: str, field: str) -> ModuleType:
    """Import the module registered as `name` under `kind`, or fail naming `field` and the options."""
    options = available(kind)
    if name not in options:
        raise ConfigError(f"{field}: unknown option {name!r} (allowed: {', '.join(options)})")
    module = importlib.import_module(f"mesaopt.{kind}.{name}")
    check(kind, module)
    return module


def spec(kind: str, name: str, field: str = ""):
    """The checked spec of plugin `name` of `kind` (ConfigError naming `field` if unknown)."""
    return check(kind, load(kind, name, field or kind))


# --- Plugin specs: what a module of each kind may declare, checked when the registry loads it ---


def _always(_family) -> bool:
    return True


@dataclasses.dataclass(frozen=True)
class ProbeSpec:
    """A probe (probes/__init__.py says what each field does)."""
    settings: tuple[str, ...]           # SETTING ("supervised", "rl", or both)
    measure: Callable                   # measure(view) -> list[Record]
    metrics: tuple[Metric, ...]         # METRICS
    needs: Callable = lambda _family: ()  # family -> reference names (NEEDS, or needs(family))
    applies: Callable = _always         # applies(family)
    config: type | None = None          # Config
    check: Callable | None = None       # check(family, options, path)
    split: str | None = None            # SPLIT, with episodes(...)
    episodes: Callable | None = None
    prepare: Callable | None = None
    derive: Callable | None = None
    derive_reference: Callable | None = None
    may_be_nan: Mapping[str, str] = dataclasses.field(default_factory=dict)  # MAY_BE_NAN
    predictor_needs: tuple[str, ...] = ()  # PREDICTOR_NEEDS
    default: bool = True                # DEFAULT


@dataclasses.dataclass(frozen=True)
class MethodSpec:
    """A training method (train/__init__.py)."""
    setting: str
    metrics: tuple[Metric, ...]
    config: type
    init_state: Callable
    train_chunk: Callable
    axes: Callable = lambda cfg: ()
    check: Callable | None = None


@dataclasses.dataclass(frozen=True)
class ReferenceSpec:
    """A reference algorithm (references/__init__.py)."""
    build: Callable
    style: Mapping[str, Any] | None = None  # STYLE
    config: type | None = None
    host_init: bool = False


@dataclasses.dataclass(frozen=True)
class LearnerSpec:
    """A learner (learners/__init__.py)."""
    settings: tuple[str, ...]
    build: Callable
    config: type
    inner_loop: bool = False
    classifies: bool = False
    predictor_name: Callable | None = None


@dataclasses.dataclass(frozen=True)
class FamilySpec:
    """A task family or environment (tasks/__init__.py): its `build(cfg)` returns the Family or Env
    (a NamedTuple: a misspelled capability is a TypeError where it is built)."""
    build: Callable
    config: type
    figures: tuple[str, ...] = ()
    axes: Callable | None = None


@dataclasses.dataclass(frozen=True)
class LoggerSpec:
    logger: type
    config: type | None = None


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    """A figure (plots/__init__.py)."""
    plot: Callable
    tables: Callable | None = None
    optional: bool = False
    over_steps: bool = False


SETTINGS = ("supervised", "rl")
# kind -> (spec class, module attribute -> spec field); the attributes a plugin may declare
SPECS: dict[str, tuple[type, dict[str, str]]] = {
    "probes": (ProbeSpec, {
        "SETTING": "settings", "measure": "measure", "METRICS": "metrics", "NEEDS": "needs",
        "needs": "needs", "applies": "applies", "Config": "config", "check": "check",
        "SPLIT": "split", "episodes": "episodes", "prepare": "prepare", "derive": "derive",
        "derive_reference": "derive_reference", "MAY_BE_NAN": "may_be_nan",
        "PREDICTOR_NEEDS": "predictor_needs", "DEFAULT": "default"}),
    "train": (MethodSpec, {
        "SETTING": "setting", "METRICS": "metrics", "Config": "config", "axes": "axes",
        "init_state": "init_state", "train_chunk": "train_chunk", "check": "check"}),
    "references": (ReferenceSpec, {
        "build": "build", "STYLE": "style", "Config": "config", "HOST_INIT": "host_init"}),
    "learners": (LearnerSpec, {
        "SETTING": "settings", "build": "build", "Config": "config", "INNER_LOOP": "inner_loop",
        "CLASSIFIES": "classifies", "predictor_name": "predictor_name"}),
    "tasks": (FamilySpec, {"build": "build", "Config": "config", "FIGURES": "figures",
                           "axes": "axes"}),
    "loggers": (LoggerSpec, {"Logger": "logger", "Config": "config"}),
    "plots": (FigureSpec, {"plot": "plot", "tables": "tables", "OPTIONAL": "optional",
                           "OVER_STEPS": "over_steps"}),
}


class SpecError(ConfigError):
    """A plugin module declares a field its kind does not have, or a value of the wrong kind."""


def defined_names(module: ModuleType) -> list[str]:
    """The public names a module defines itself (not the ones it imports)."""
    tree = ast.parse(inspect.getsource(module))
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return [n for n in names if not n.startswith("_")]


@functools.cache
def check(kind: str, module: ModuleType):
    """The module's spec: its declared fields, checked (SpecError, one line naming the module and
    the field): a defined name that is a near miss of a field (`PREDICTOR_NEED`, `aplies`) is
    refused, as are values of the wrong kind and declarations that contradict each other."""
    cls, fields = SPECS[kind]
    where = module.__name__.removeprefix("mesaopt.")
    for name in defined_names(module):
        close = [f for f in fields if name != f and (name.lower() == f.lower() or difflib.
                 SequenceMatcher(None, name, f).ratio() >= 0.8)]
        if name not in fields and close:
            raise SpecError(f"{where}: {name!r} is not a {kind} field (did you mean "
                            f"{', '.join(close)}? fields: {', '.join(fields)})")
    given = {field: getattr(module, attr) for attr, field in fields.items() if hasattr(module, attr)}
    if kind == "probes":
        needs = given.get("needs")
        given["needs"] = needs if callable(needs) else (lambda _f, n=tuple(needs or ()): n)
    if kind in ("probes", "learners"):
        settings = given.get("settings", ())
        given["settings"] = settings if isinstance(settings, tuple) else (settings,)
    try:
        built = cls(**given)
    except TypeError as err:
        missing = str(err).split("argument", 1)[-1].strip(": ")
        raise SpecError(f"{where}: lacks {missing} ({kind} must declare "
                        f"{', '.join(a for a, f in fields.items() if f in _required(cls))})") from None
    _check(kind, where, built)
    return built


def _required(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}


def _check(kind: str, where: str, s) -> None:
    def require(ok: bool, message: str) -> None:
        if not ok:
            raise SpecError(f"{where}: {message}")
    for name in ("settings", "setting"):
        values = getattr(s, name, None)
        if values is not None:
            values = values if isinstance(values, tuple) else (values,)
            require(bool(values) and set(values) <= set(SETTINGS),
                    f"SETTING must be {' or '.join(SETTINGS)}, got {values!r}")
    if hasattr(s, "metrics"):
        require(isinstance(s.metrics, tuple) and all(isinstance(m, Metric) for m in s.metrics),
                "METRICS must be a tuple of mesaopt.metrics.Metric")
    if kind == "probes":
        undeclared = [m for m in s.may_be_nan if not any(d.matches(m) for d in s.metrics)]
        require(not undeclared, f"MAY_BE_NAN names metrics METRICS does not declare: {undeclared}")
        require((s.split is None) == (s.episodes is None), "SPLIT and episodes go together")
        require(s.derive_reference is None or s.derive is not None,
                "derive_reference needs derive")
        unknown = sorted(set(s.predictor_needs) - set(Predictor._fields) - set(Policy._fields))
        require(not unknown, f"PREDICTOR_NEEDS: {unknown} are not Predictor or Policy fields")
    for flag in ("default", "host_init", "inner_loop", "classifies", "optional", "over_steps"):
        if hasattr(s, flag):
            require(isinstance(getattr(s, flag), bool), f"{flag.upper()} must be True or False")
