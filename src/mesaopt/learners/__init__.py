"""Learners: each module exposes `Config`, `SETTING` ("supervised" or "rl") and
`build(cfg, family)`: a `Predictor` (`init(key) -> params`, `apply(params, episode) ->
predictions`) for supervised families, a `Policy` (`init`, `carry`, `act`) for environments.
Flax stays behind this boundary: only parameter pytrees cross jit/vmap/scan."""
