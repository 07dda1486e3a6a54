"""Learned optimizers: an optimizer that is itself a trained network, meta-trained on populations
of inner problems (Metz et al. 2019/2022; Vicol et al. 2021).

- `optimizer.py`: the per-parameter MLP optimizer as an `optax.GradientTransformation`;
- `estimators.py`: meta-gradient estimators over truncated unrolls: truncated backpropagation
  (TBPTT), antithetic ES, and PES (persistent ES, unbiased over the whole unroll);
- `problems.py`, `meta.py`: standalone inner problems and meta-training (scripts/lopt_digits.py).
As runs of `mesaopt-train`: `learner=lopt` (this optimizer as the inner loop) and `train=pes`.
"""
