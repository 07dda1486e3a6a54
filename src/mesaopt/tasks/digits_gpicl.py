"""General-purpose in-context classification on scikit-learn's 8x8 digits (Kirsch et al. 2022,
GPICL): a task is a random linear projection A (64 x 64, entries N(0, 1/64)) of the standardized
pixels and a permutation pi of the 10 labels; an episode holds K images of random classes,
x_k = A z_k, y_k = pi(class_k), and a learner predicts every label from the (x, label) pairs
before it. A pool of M tasks (or a fresh task every time, M = inf) is the diversity axis: with few
tasks a network can memorize them, with many it must learn to learn (GPICL's phases).

Held out: the digits family's fixed fifth of each class's images (`digits.heldout_images`) is
never in a training episode; the `true` split's tasks are fresh projections and permutations
(never trained on at any finite M: a fresh draw equals a pool task with probability 0) on those
held-out images. `pretrain` is the member's own tasks on its training images. Task =
(A, pi, split) with split 0 = training images, 1 = held-out images. The generic noise axis is
not used.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from mesaopt.config import positive
from mesaopt.tasks import Classes, Episode, Family
from mesaopt.tasks.digits import NUM_CLASSES, digits_data, heldout_images

FIGURES = ("gpicl-phases", "icl-curve", "training")
PIXELS = 64


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "digits_gpicl"
    context_len: int = 40        # K, images per episode (4 per class on average)
    max_pool_size: int = 2**16   # largest number of tasks M

    def validate(self, path: str) -> None:
        positive(self, path, "context_len", "max_pool_size")


def standardized(x: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Pixels centred and scaled by the training images' mean and overall std (unit variance
    per pixel on average), so a random projection keeps distances on the same scale."""
    mean, std = x[train].mean(axis=0), x[train].std()
    return ((x - mean) / std).astype(np.float32)


def build(cfg: Config) -> Family:
    x_np, y_np = digits_data()
    held = heldout_images(y_np)
    z_np = standardized(x_np, ~held)
    # Numpy arrays: building the family starts no JAX backend.
    images = [(z_np[~held], y_np[~held]), (z_np[held], y_np[held])]

    def task(key, split):
        projection_key, permutation_key = jax.random.split(key)
        return (jax.random.normal(projection_key, (PIXELS, PIXELS)) / jnp.sqrt(PIXELS),
                jax.random.permutation(permutation_key, NUM_CLASSES), jnp.int32(split))

    def sample_episode(key, task, noise_std):
        projection_DxD, permutation_C, split = task
        u_K = jax.random.uniform(key, (cfg.context_len,))

        def draw(data):
            z_NxD, y_N = (jnp.asarray(a) for a in data)
            row_K = jnp.minimum((u_K * y_N.shape[0]).astype(jnp.int32), y_N.shape[0] - 1)
            return z_NxD[row_K], y_N[row_K]
        (z_train, y_train), (z_held, y_held) = draw(images[0]), draw(images[1])
        z_KxD = jnp.where(split == 1, z_held, z_train)
        class_K = jnp.where(split == 1, y_held, y_train)
        return Episode(z_KxD @ projection_DxD.T, permutation_C[class_K].astype(jnp.int32))

    return Family(cfg.name, lambda key: task(key, 0), sample_episode, context_len=cfg.context_len,
                  input_dim=PIXELS, target_dim=1, references=("ncm", "knn", "chance"),
                  figures=FIGURES, max_pool_size=cfg.max_pool_size, continuous_tasks=False,
                  heldout_task=lambda key: task(key, 1), classes=Classes(NUM_CLASSES))
