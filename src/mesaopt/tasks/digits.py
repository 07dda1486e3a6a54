"""Few-shot digit discrimination on scikit-learn's 8x8 digits (shipped inside its wheel: no
download): a task is an ordered pair of distinct digit classes (a, b); an episode holds K images
drawn from the two classes with equal probability, x = the 64 pixels scaled to [0, 1], y = +1 for
class a and -1 for class b (plus noise_std Gaussian noise). A learner predicts every y_k from the
pairs before it: learners with an inner loop train their MLP on those pairs (the "held-out digits
problems" of learned optimizers are fresh class pairs and fresh images), in-context learners read
them. There are 90 distinct tasks, so M is capped there; predicting zero scores MSE 1.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt.config import positive
from mesaopt.lopt.problems import digits_data
from mesaopt.tasks import Episode, Family

FIGURES = ("adaptation", "lopt-horizon", "icl-curve", "training")
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "digits"
    context_len: int = 40     # K, images per episode
    max_pool_size: int = 90   # the number of ordered class pairs

    def validate(self, path: str) -> None:
        positive(self, path, "context_len", "max_pool_size")


def build(cfg: Config) -> Family:
    x_np, y_np = digits_data()
    order = np.argsort(y_np, kind="stable")
    images = jnp.asarray(x_np[order])  # sorted by class: class c is rows start[c] .. start[c+1]
    start = jnp.asarray(np.searchsorted(y_np[order], np.arange(NUM_CLASSES + 1)))

    def sample_task(key):
        first_key, second_key = jax.random.split(key)
        first = jax.random.randint(first_key, (), 0, NUM_CLASSES)
        second = (first + jax.random.randint(second_key, (), 1, NUM_CLASSES)) % NUM_CLASSES
        return jnp.stack([first, second])

    def sample_episode(key, task, noise_std):
        sign_key, image_key, noise_key = jax.random.split(key, 3)
        positive_K = jax.random.bernoulli(sign_key, 0.5, (cfg.context_len,))
        class_K = jnp.where(positive_K, task[0], task[1])
        offset_K = jax.random.uniform(image_key, (cfg.context_len,))
        count_K = start[class_K + 1] - start[class_K]
        index_K = start[class_K] + jnp.minimum((offset_K * count_K).astype(jnp.int32), count_K - 1)
        y_K = jnp.where(positive_K, 1.0, -1.0)
        return Episode(images[index_K], y_K + noise_std * jax.random.normal(noise_key, y_K.shape))

    return Family(cfg, sample_task, sample_episode, context_len=cfg.context_len, input_dim=64,
                  target_dim=1, references=("zero", "sgd", "adam"), figures=FIGURES,
                  max_pool_size=cfg.max_pool_size, continuous_tasks=False)
