"""Loggers mirror the result rows to dashboards. `logger=wandb` (offline by default) or `logger=none`."""
from __future__ import annotations

import dataclasses

from mesaopt.config import require

MODES = ("offline", "online", "disabled")


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "wandb"
    mode: str = "offline"          # offline needs no account; `wandb sync` uploads later
    project: str = "mesaopt"
    entity: str | None = None
    tags: tuple[str, ...] = ()

    def validate(self, path: str) -> None:
        require(self.mode in MODES, f"{path}.mode",
                f"unknown option {self.mode!r} (allowed: {', '.join(MODES)})")
