"""Optimizer: gradient clipping + Adam/AdamW with warmup and decay; peak learning rate is traced."""
from __future__ import annotations

import dataclasses

import optax

from mesaopt.config import positive, require

SCHEDULES = ("cosine", "linear", "constant")


@dataclasses.dataclass(frozen=True)
class Config:
    steps: int = 4096
    batch_size: int = 64
    learning_rate: float = 1e-3   # peak; a sweep axis overrides it per member
    schedule: str = "cosine"      # decay after warmup: cosine | linear | constant
    warmup_steps: int = 256
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.0     # > 0 makes it AdamW
    b1: float = 0.9
    b2: float = 0.999
    clip_norm: float = 1.0
    # Train at most this many members per device at a time (the largest divisor of a device's
    # share up to it: population.group_size), one group after another inside one program
    # (memory for a group, not the population); 0: every member at once.
    member_chunk: int = 0

    def validate(self, path: str) -> None:
        positive(self, path, "steps", "batch_size", "learning_rate", "clip_norm")
        require(self.member_chunk >= 0, f"{path}.member_chunk",
                f"must be >= 0 (0: all members at once), got {self.member_chunk}")
        require(self.schedule in SCHEDULES, f"{path}.schedule",
                f"unknown option {self.schedule!r} (allowed: {', '.join(SCHEDULES)})")
        require(0 <= self.warmup_steps < self.steps, f"{path}.warmup_steps",
                f"must be in [0, train.steps={self.steps}), got {self.warmup_steps}")
        require(0 <= self.final_lr_fraction <= 1, f"{path}.final_lr_fraction",
                f"must be in [0, 1], got {self.final_lr_fraction}")
        require(self.weight_decay >= 0, f"{path}.weight_decay", f"must be >= 0, got {self.weight_decay}")
        for name in ("b1", "b2"):
            require(0 <= getattr(self, name) < 1, f"{path}.{name}", "must be in [0, 1)")


def lr_shape(cfg: Config) -> optax.Schedule:
    """Multiplier in [0, 1] of the peak learning rate at each step."""
    warmup = optax.linear_schedule(0.0, 1.0, max(cfg.warmup_steps, 1))
    decay_steps = cfg.steps - cfg.warmup_steps
    decay = {
        "cosine": optax.cosine_decay_schedule(1.0, decay_steps, alpha=cfg.final_lr_fraction),
        "linear": optax.linear_schedule(1.0, cfg.final_lr_fraction, decay_steps),
        "constant": optax.constant_schedule(1.0),
    }[cfg.schedule]
    return optax.join_schedules([warmup, decay], [cfg.warmup_steps])


def optimizer(cfg: Config, peak_lr) -> optax.GradientTransformation:
    """The update rule; `peak_lr` may be a tracer (a vmapped sweep axis)."""
    shape = lr_shape(cfg)
    schedule = lambda count: peak_lr * shape(count)  # noqa: E731
    # adamw with no decay is adam plus a pass that adds 0 x params: skip it (same numbers)
    adam = (optax.adamw(schedule, cfg.b1, cfg.b2, weight_decay=cfg.weight_decay)
            if cfg.weight_decay > 0 else optax.adam(schedule, cfg.b1, cfg.b2))
    return optax.chain(optax.clip_by_global_norm(cfg.clip_norm), adam)
