"""One member's training as pure functions: (state, hparams) -> (state, metrics)."""
