"""One wandb run per population member, grouped by the run id; offline unless told otherwise.

Online, a start that does not answer within ONLINE_TIMEOUT_S (no network, a server down, no API
key) switches the whole population to offline logging with one warning line, and training goes on;
`wandb sync` uploads the offline runs later.
"""
from __future__ import annotations

import sys
from pathlib import Path

import wandb

ONLINE_TIMEOUT_S = 15


class Logger:
    def __init__(self, cfg, run_dir: Path, run_id: str, config: dict, members: list[dict]):
        run_dir.mkdir(parents=True, exist_ok=True)

        def start(mode):
            return [wandb.init(
                project=cfg.project, entity=cfg.entity, mode=mode, dir=str(run_dir),
                group=run_id, job_type="train", name=f"{run_id}-member{i}", id=f"{run_id}-{i}",
                tags=list(cfg.tags), config={**config, **member}, reinit="create_new",
                resume="allow", settings=wandb.Settings(console="off", silent=True,
                                                        init_timeout=ONLINE_TIMEOUT_S))
                for i, member in enumerate(members)]

        self.mode = cfg.mode
        try:
            self.runs = start(self.mode)
        except Exception as err:
            if self.mode != "online":
                raise
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            print(f"mesaopt: wandb online unreachable ({reason}); logging offline in "
                  f"{run_dir / 'wandb'} (`wandb sync` uploads it later)", file=sys.stderr)
            wandb.teardown()  # ends the runs it started; its service still holds the failed id
            self.mode = "offline"
            self.runs = start(self.mode)

    def log(self, step: int, metrics_by_member: list[dict]) -> None:
        for run, metrics in zip(self.runs, metrics_by_member):
            run.log(metrics, step=step)

    def finish(self, figures: dict) -> None:
        for run in self.runs:
            if figures:  # a media object belongs to one run: one Image per run
                run.log({f"figures/{name}": wandb.Image(str(path)) for name, path in figures.items()})
            run.finish()
