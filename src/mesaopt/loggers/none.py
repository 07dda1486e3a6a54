"""The logger that logs nothing (`logger=none`)."""
from __future__ import annotations


class Logger:
    def __init__(self, cfg, run_dir, run_id, config, members):
        pass

    def log(self, step: int, metrics_by_member: list[dict]) -> None:
        pass

    def finish(self, figures: dict) -> None:
        pass
