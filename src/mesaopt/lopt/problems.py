"""Inner problems for learned optimizers: families of small training problems, each an instance
drawn from a key (its data or task, and its initial parameters).

A `Problem` gives `sample(key) -> instance` (the task: e.g. a regression's weights or a sinusoid),
`init(key) -> params`, `batch(instance, key) -> batch` (training minibatch), `loss(params, batch)`
and `validation(instance) -> batch` (held-out data of the same instance, for meta-training on
validation loss and the train-validation gap).

- `linreg`: least squares on fresh Gaussian inputs, w* ~ N(0, I_D), parameters w (D,);
- `digits`: an MLP (64-32-10, ReLU) classifying scikit-learn's 8x8 digits (the data ship inside
  scikit-learn's wheel: no download); an instance is an initialization and a random half of the
  1797 images to train on, the other half is its validation set;
- `sinusoid`: an MLP 1-40-40-1 regressing one sinusoid of Finn et al.'s family.
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt.config import ConfigError
from mesaopt.learners.maml import init_mlp, mlp


class Problem(NamedTuple):
    sample: Callable
    init: Callable
    batch: Callable
    loss: Callable
    validation: Callable


def linreg(dim: int = 8, batch_size: int = 32) -> Problem:
    def batch(w_star, key):
        x = jax.random.normal(key, (batch_size, dim))
        return x, x @ w_star

    return Problem(sample=lambda key: jax.random.normal(key, (dim,)),
                   init=lambda key: jnp.zeros((dim,)),
                   batch=batch,
                   loss=lambda w, b: jnp.mean((b[0] @ w - b[1]) ** 2),
                   validation=lambda w_star: batch(w_star, jax.random.key(0)))


@functools.cache
def digits_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    data = load_digits()
    return (data.data / 16.0).astype(np.float32), data.target.astype(np.int32)


def digits(hidden: int = 32, batch_size: int = 128) -> Problem:
    x_all, y_all = (jnp.asarray(a) for a in digits_data())
    half = len(y_all) // 2

    def sample(key):
        return jax.random.permutation(key, len(y_all))  # the first half trains

    def batch(order, key):
        rows = order[jax.random.randint(key, (batch_size,), 0, half)]
        return x_all[rows], y_all[rows]

    def loss(layers, b):
        logits = _logits(layers, b[0])
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), b[1][:, None], 1))

    return Problem(sample, lambda key: init_mlp(key, (64, hidden, 10)), batch, loss,
                   lambda order: (x_all[order[half:]], y_all[order[half:]]))


def _logits(layers, x):
    h = x
    for layer in layers[:-1]:
        h = jax.nn.relu(h @ layer["w"] + layer["b"])
    return h @ layers[-1]["w"] + layers[-1]["b"]


def sinusoid(batch_size: int = 10) -> Problem:
    def sample(key):
        a_key, p_key = jax.random.split(key)
        return jnp.stack([jax.random.uniform(a_key, (), minval=0.1, maxval=5.0),
                          jax.random.uniform(p_key, (), minval=0.0, maxval=jnp.pi)])

    def batch(task, key):
        x = jax.random.uniform(key, (batch_size, 1), minval=-5.0, maxval=5.0)
        return x, task[0] * jnp.sin(x[:, 0] - task[1])

    return Problem(sample, lambda key: init_mlp(key, (1, 40, 40, 1)), batch,
                   lambda layers, b: jnp.mean((mlp(layers, b[0]) - b[1]) ** 2),
                   lambda task: batch(task, jax.random.key(0)))


PROBLEMS = {"linreg": linreg, "digits": digits, "sinusoid": sinusoid}


def build(name: str) -> Problem:
    if name not in PROBLEMS:
        raise ConfigError(f"problem: unknown option {name!r} (allowed: {', '.join(PROBLEMS)})")
    return PROBLEMS[name]()
