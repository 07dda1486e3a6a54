"""One wandb run per population member, grouped by the run id; offline unless told otherwise."""
from __future__ import annotations

from pathlib import Path

import wandb


class Logger:
    def __init__(self, cfg, run_dir: Path, run_id: str, config: dict, members: list[dict]):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.runs = [
            wandb.init(project=cfg.project, entity=cfg.entity, mode=cfg.mode, dir=str(run_dir),
                       group=run_id, job_type="train", name=f"{run_id}-member{i}",
                       id=f"{run_id}-{i}", tags=list(cfg.tags), config={**config, **member},
                       reinit="create_new", resume="allow",
                       settings=wandb.Settings(console="off", silent=True))
            for i, member in enumerate(members)]

    def log(self, step: int, metrics_by_member: list[dict]) -> None:
        for run, metrics in zip(self.runs, metrics_by_member):
            run.log(metrics, step=step)

    def finish(self, figures: dict) -> None:
        for run in self.runs:
            if figures:  # a media object belongs to one run: one Image per run
                run.log({f"figures/{name}": wandb.Image(str(path)) for name, path in figures.items()})
            run.finish()
