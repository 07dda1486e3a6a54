"""Module name is the registry key: `task=linreg` -> `mesaopt.tasks.linreg`."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from mesaopt.config import ConfigError

KINDS = ("tasks", "learners", "references", "probes", "train", "loggers")


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
    return importlib.import_module(f"mesaopt.{kind}.{name}")
