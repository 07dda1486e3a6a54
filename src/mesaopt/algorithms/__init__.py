"""The floor of shared algorithms: pure JAX numerics that several layers use (tasks, learners,
references, probes, training methods). Nothing here knows a task family, a learner, a reference
or a probe; everything above may import it (the layer order: docs/architecture.md).

- `mlp.py`: the ReLU MLP and its explicit inner loop (SGD or any optax transformation on a
  support set): MAML-family learners, the learned optimizer's learner, the sgd/adam references;
- `least_squares.py`: prefix least squares on a context (ridge, GD and GD++ iterates) and the
  Adam fit of a few step sizes: the linear references and the GD probes;
- `gridworld.py`: perfect mazes and breadth-first distance maps: the maze family, its
  references and probes;
- `learned_optimizer.py`, `meta_gradients.py`: the per-parameter MLP optimizer and the
  meta-gradient estimators over truncated unrolls (TBPTT, ES, PES): `learner=lopt`, `train=pes`.
"""
