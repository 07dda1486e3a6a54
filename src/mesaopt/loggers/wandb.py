"""One wandb run per population member, grouped by the run id; offline unless told otherwise.

Logging never costs results. A start that fails (no network, a server down, a bad or missing API
key: within ONLINE_TIMEOUT_S) falls back to offline logging; if offline fails too (e.g. invalid
wandb settings in the environment, such as an empty WANDB_MODE), to no logging. Either way one
warning line says why, and training goes on; `wandb sync` uploads offline runs later. A failure
while logging or finishing switches logging off the same way.
"""
from __future__ import annotations

import sys
from pathlib import Path

import wandb

ONLINE_TIMEOUT_S = 15
# Offline needs no network: only wandb's local service must start, which a loaded machine (a
# cluster node, a CI runner running tests in parallel) can take well over 15 s to do.
OFFLINE_TIMEOUT_S = 120


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


class Logger:
    def __init__(self, cfg, run_dir: Path, run_id: str, config: dict, members: list[dict]):
        run_dir.mkdir(parents=True, exist_ok=True)

        def start(mode):
            return [wandb.init(
                project=cfg.project, entity=cfg.entity, mode=mode, dir=str(run_dir),
                group=run_id, job_type="train", name=f"{run_id}-member{i}", id=f"{run_id}-{i}",
                tags=list(cfg.tags), config={**config, **member}, reinit="create_new",
                resume="allow", settings=wandb.Settings(
                    console="off", silent=True,
                    init_timeout=ONLINE_TIMEOUT_S if mode == "online" else OFFLINE_TIMEOUT_S))
                for i, member in enumerate(members)]

        self.mode, self.runs = cfg.mode, []
        fallbacks = [cfg.mode] + (["offline"] if cfg.mode == "online" else [])
        first_error = None
        for mode in fallbacks:
            try:
                self.runs, self.mode = start(mode), mode
                break
            except Exception as err:  # noqa: BLE001 - any logging failure must not cost a run
                first_error = first_error or err
                self._teardown()
        else:
            self.mode = "none"
        if first_error is not None:
            where = (f"logging offline in {run_dir / 'wandb'} (`wandb sync` uploads it later)"
                     if self.mode == "offline" else "logging switched off for this run")
            print(f"mesaopt: wandb {cfg.mode} failed ({_first_line(first_error)}); {where}",
                  file=sys.stderr)

    @staticmethod
    def _teardown() -> None:
        try:
            wandb.teardown()  # ends the runs it started; its service still holds the failed ids
        except Exception:  # noqa: BLE001
            pass

    def _give_up(self, err: BaseException) -> None:
        print(f"mesaopt: wandb logging failed ({_first_line(err)}); logging switched off for "
              f"this run", file=sys.stderr)
        self.runs, self.mode = [], "none"
        self._teardown()

    def log(self, step: int, metrics_by_member: list[dict]) -> None:
        try:
            for run, metrics in zip(self.runs, metrics_by_member):
                run.log(metrics, step=step)
        except Exception as err:  # noqa: BLE001
            self._give_up(err)

    def finish(self, figures: dict) -> None:
        try:
            for run in self.runs:
                if figures:  # a media object belongs to one run: one Image per run
                    run.log({f"figures/{name}": wandb.Image(str(path))
                             for name, path in figures.items()})
                run.finish()
        except Exception as err:  # noqa: BLE001
            self._give_up(err)
