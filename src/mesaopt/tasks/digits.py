"""Few-shot digit discrimination on scikit-learn's 8x8 digits (shipped inside its wheel: no
download): a task is an ordered pair of distinct digit classes (a, b) and the image split its
episodes draw from; an episode holds K images drawn from the two classes with equal probability,
x = the 64 pixels scaled to [0, 1], y = +1 for class a and -1 for class b (plus noise_std Gaussian
noise). A learner predicts every y_k from the pairs before it: learners with an inner loop train
their MLP on those pairs, in-context learners read them. There are 90 distinct class pairs, so M
is capped there; predicting zero scores MSE 1.

Held out: a fixed fifth of each class's images (`heldout_images`: every fifth image of the class,
in the data's order: 355 of 1,797) is never in a training episode, at any M; the "true" split's
episodes (`Family.heldout_task`) draw only from it. The class pairs are the same 90 (with 10
classes, holding out pairs would leave too few to train on): held-out problems are new images of
known digit pairs. Task = (a, b, split) with split 0 = training images, 1 = held-out images.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt.config import positive
from mesaopt.tasks import Episode, Family

FIGURES = ("adaptation", "lopt-horizon", "icl-curve", "training")
NUM_CLASSES = 10
HELDOUT_EVERY = 5   # every fifth image of a class is held out


def digits_data() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) float32 pixels in [0, 1] and (1797,) int32 labels, in the data's order."""
    from sklearn.datasets import load_digits
    data = load_digits()
    return (data.data / 16.0).astype(np.float32), data.target.astype(np.int32)


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "digits"
    context_len: int = 40     # K, images per episode
    max_pool_size: int = 90   # the number of ordered class pairs

    def validate(self, path: str) -> None:
        positive(self, path, "context_len", "max_pool_size")


def heldout_images(y: np.ndarray) -> np.ndarray:
    """(N,) bool: the held-out images, every HELDOUT_EVERY-th of each class in the data's order."""
    rank = np.zeros(len(y), np.int64)
    for c in range(NUM_CLASSES):
        rank[y == c] = np.arange(np.sum(y == c))
    return rank % HELDOUT_EVERY == HELDOUT_EVERY - 1


def _by_class(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images sorted by class, and where each class starts (class c: rows start[c]..start[c+1]).
    Numpy arrays: building the family starts no JAX backend."""
    order = np.argsort(y, kind="stable")
    return x[order], np.searchsorted(y[order], np.arange(NUM_CLASSES + 1)).astype(np.int32)


def build(cfg: Config) -> Family:
    x_np, y_np = digits_data()
    held = heldout_images(y_np)
    splits = [_by_class(x_np[~held], y_np[~held]), _by_class(x_np[held], y_np[held])]

    def pair(key, split):
        first_key, second_key = jax.random.split(key)
        first = jax.random.randint(first_key, (), 0, NUM_CLASSES)
        second = (first + jax.random.randint(second_key, (), 1, NUM_CLASSES)) % NUM_CLASSES
        return jnp.stack([first, second, jnp.int32(split)])

    def draw(images, start, class_K, offset_K):
        images, start = jnp.asarray(images), jnp.asarray(start)
        count_K = start[class_K + 1] - start[class_K]
        return images[start[class_K] + jnp.minimum((offset_K * count_K).astype(jnp.int32),
                                                   count_K - 1)]

    def sample_episode(key, task, noise_std):
        sign_key, image_key, noise_key = jax.random.split(key, 3)
        positive_K = jax.random.bernoulli(sign_key, 0.5, (cfg.context_len,))
        class_K = jnp.where(positive_K, task[0], task[1])
        offset_K = jax.random.uniform(image_key, (cfg.context_len,))
        x_KxD = jnp.where(task[2] == 1, draw(*splits[1], class_K, offset_K),
                          draw(*splits[0], class_K, offset_K))
        y_K = jnp.where(positive_K, 1.0, -1.0)
        return Episode(x_KxD, y_K + noise_std * jax.random.normal(noise_key, y_K.shape))

    return Family(cfg.name, lambda key: pair(key, 0), sample_episode, context_len=cfg.context_len,
                  input_dim=64, target_dim=1, references=("zero", "sgd", "adam"),
                  figures=FIGURES, max_pool_size=cfg.max_pool_size, continuous_tasks=False,
                  heldout_task=lambda key: pair(key, 1))
