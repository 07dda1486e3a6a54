"""Module name is the registry key: `task=linreg` -> `mesaopt.tasks.linreg`."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from mesaopt.config import ConfigError

KINDS = ("tasks", "learners", "references", "loggers")


def available(kind: str) -> list[str]:
    package = importlib.import_module(f"mesaopt.{kind}")
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


def load(kind: str, name: str, field: str) -> ModuleType:
    """Import the module registered as `name` under `kind`, or fail naming `field` and the options."""
    options = available(kind)
    if name not in options:
        raise ConfigError(f"{field}: unknown option {name!r} (allowed: {', '.join(options)})")
    return importlib.import_module(f"mesaopt.{kind}.{name}")
