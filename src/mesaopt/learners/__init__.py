"""Learners: each module exposes `Config` and `build(cfg, family) -> Predictor` with a pure
`init(key) -> params` and `apply(params, episode) -> predictions`. Flax stays behind this boundary:
only parameter pytrees cross jit/vmap/scan."""
