"""In-context classification of Gaussian clusters (Chan et al. 2022; Reddy 2023).

A task is a *class*: a centroid mu ~ N(0, I_D / D) and a label in 0 .. L-1, both drawn from the
class's key, so the member's pool of M tasks is its M training classes (the generic diversity axis
is the number of classes K; M = inf makes every class novel). An item of a class is
x = (mu + eps * eta) / sqrt(1 + eps^2), eta ~ N(0, I_D). Classes are drawn with Zipf frequencies
f(k) ~ (k + 1)^-alpha over the pool's order (nested across M like the pool).

An episode is N context items and a query (K = N + 1 positions); a learner predicts every label
from the items before it, and is trained and scored on the query alone (`Classes.query_only`).
A *bursty* sequence (probability `bursty_rate`, a sweep axis: `sweep.bursty_rate`, traced per
member; default 0.9, Chan et al.'s p_bursty) holds N / B classes with B items each, the query's
class among them; otherwise the N items are drawn independently, like the query. Labels are the
classes' own (training), so a bursty query is solvable in context or in weights. Held-out bursty
sequences (true, ic, ic_swapped) hold `heldout_classes` classes (default 4) with N / that many
items each: with two classes, copying either context label already scores 0.5 (Reddy 2023's
plateau), so in-context learning is measured against the `copy_label` reference, not only
chance.

Evaluation splits (the episode's tasks are its N + 1 class indices into the pool, -1 = fresh):
- `pretrain`: the member's training distribution; `true`: fresh classes, every sequence bursty;
- `ic`: fresh classes in bursty sequences, their labels a random bijection per sequence: only
  learnable in context;
- `ic_swapped`: training classes in bursty sequences, every label shifted by one random
  s in 1 .. L-1 per sequence (a permutation without fixed points): context must override weights;
- `iw`: training classes, no item of the query's class in the context: weights only.
The generic noise axis is not used (within-class noise is `within_noise`).
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from mesaopt.config import positive, require
from mesaopt.tasks import FRESH, Axis, Classes, Emergence, Episode, Family, draw_task

FIGURES = ("icl-vs-iwl", "transience", "training")
SPLITS = ("ic", "ic_swapped", "iw")
HELDOUT_BURSTY = ("true", "ic", "ic_swapped")  # bursty with `heldout_classes` classes
# The fraction of bursty training sequences; every held-out sequence with a copy is bursty.
BURSTY_RATE = Axis("bursty_rate", 0.9, 0.0, 1.0, true_value=1.0)


@dataclasses.dataclass(frozen=True)
class Config:
    name: str = "clusters"
    dim: int = 32               # D, item dimension (Reddy 2023: 63)
    labels: int = 32            # L
    context_items: int = 8      # N, items before the query
    bursts: int = 4             # B, items per class in a bursty sequence (divides N)
    within_noise: float = 0.1   # eps, within-class spread
    zipf: float = 0.0           # alpha, Zipf exponent of class frequencies (0: uniform)
    heldout_classes: int = 4    # classes in a held-out bursty context (true, ic, ic_swapped)
    max_pool_size: int = 2**16  # largest number of training classes K

    def validate(self, path: str) -> None:
        positive(self, path, "dim", "labels", "context_items", "bursts", "max_pool_size",
                 "heldout_classes")
        require(self.context_items % self.bursts == 0, f"{path}.bursts",
                f"must divide context_items={self.context_items}, got {self.bursts}")
        require(self.context_items % self.heldout_classes == 0, f"{path}.heldout_classes",
                f"must divide context_items={self.context_items}, got {self.heldout_classes}")
        require(self.labels >= 2, f"{path}.labels", f"must be >= 2, got {self.labels}")
        require(self.within_noise >= 0 and self.zipf >= 0, f"{path}.within_noise",
                "within_noise and zipf must be >= 0")


def axes(cfg: Config) -> tuple[Axis, ...]:
    """The sweep axis the family declares (pure Python: composing configs starts no backend)."""
    return (BURSTY_RATE,)


def build(cfg: Config) -> Family:
    num_items, scale = cfg.context_items, 1.0 / math.sqrt(1.0 + cfg.within_noise ** 2)

    def sample_class(key):
        centroid_key, label_key = jax.random.split(key)
        return (jax.random.normal(centroid_key, (cfg.dim,)) / jnp.sqrt(cfg.dim),
                jax.random.randint(label_key, (), 0, cfg.labels))

    def log_frequency(size, num_tasks):
        """(size,) unnormalized log Zipf frequencies of the pool's first `size` classes, -inf
        beyond the member's num_tasks."""
        ranks = jnp.arange(size)
        return jnp.where(ranks < num_tasks, -cfg.zipf * jnp.log(ranks + 1.0), -jnp.inf)

    def class_index(key, num_tasks, count):
        """`count` Zipf-distributed indices into the first num_tasks classes of the pool."""
        if cfg.zipf == 0.0:
            return jax.random.randint(key, (count,), 0, jnp.maximum(num_tasks, 1))
        cdf = jnp.cumsum(jnp.exp(log_frequency(cfg.max_pool_size, num_tasks)))
        u = jax.random.uniform(key, (count,)) * cdf[-1]
        return jnp.minimum(jnp.searchsorted(cdf, u, side="right"), jnp.maximum(num_tasks, 1) - 1)

    def classes(key, pool_key, num_tasks, index):
        """Each slot's class (centroid, label) for pool indices (fresh where M = inf)."""
        return jax.vmap(lambda k, i: draw_task(sample_class, k, pool_key, num_tasks, i))(
            jax.random.split(key, index.shape[0]), index)

    def items(key, centroid_KxD):
        """One item of each row's class: (mu + eps eta) / sqrt(1 + eps^2)."""
        noise_KxD = jax.random.normal(key, centroid_KxD.shape)
        return (centroid_KxD + cfg.within_noise * noise_KxD) * scale

    def draw_episode(key, pool_key, num_tasks, axes, split):
        if split not in ("pretrain", "true", *SPLITS):
            raise ValueError(f"clusters: unknown split {split!r} "
                             f"(pretrain, true, {', '.join(SPLITS)})")
        (slot_key, index_key, burst_key, order_key, class_key, item_key,
         label_key) = jax.random.split(key, 7)
        num_tasks = jnp.asarray(FRESH if split in ("true", "ic") else num_tasks)
        # Slot 0 is the query's class; a bursty sequence uses slots 0 .. groups - 1, N / groups
        # items each, in random order; a non-bursty one draws slots 1 .. N for its items.
        index_S = class_index(index_key, num_tasks, num_items + 1)
        if split == "iw":  # no item of the query's class: redraw collisions among the others
            shift = jax.random.randint(slot_key, (num_items + 1,), 1, jnp.maximum(num_tasks, 2))
            index_S = jnp.where((index_S == index_S[0]) & (jnp.arange(num_items + 1) > 0),
                                (index_S + shift) % jnp.maximum(num_tasks, 1), index_S)
        rate = {"pretrain": axes["bursty_rate"], "iw": 0.0}.get(split, 1.0)
        bursty = jax.random.bernoulli(burst_key, rate)
        groups = cfg.heldout_classes if split in HELDOUT_BURSTY else num_items // cfg.bursts
        burst_slots = jax.random.permutation(
            order_key, jnp.repeat(jnp.arange(groups), num_items // groups))
        slot_N = jnp.where(bursty, burst_slots, jnp.arange(1, num_items + 1))
        slot_K = jnp.concatenate([slot_N, jnp.zeros((1,), slot_N.dtype)])
        centroid_SxD, label_S = classes(class_key, pool_key, num_tasks, index_S)
        if split == "ic":  # fresh labels, distinct within the sequence
            label_S = jax.random.permutation(label_key, cfg.labels)[:num_items + 1] \
                if cfg.labels >= num_items + 1 else \
                jax.random.randint(label_key, (num_items + 1,), 0, cfg.labels)
        elif split == "ic_swapped":
            label_S = (label_S + jax.random.randint(label_key, (), 1, cfg.labels)) % cfg.labels
        task_K = jnp.where(num_tasks == FRESH, -1, index_S[slot_K])
        return task_K, Episode(items(item_key, centroid_SxD[slot_K]),
                               label_S[slot_K].astype(jnp.int32))

    def in_weights(pool, num_tasks, x_D):
        """The Bayes classifier over the member's training classes alone (their centroids,
        labels and Zipf frequencies): the in-weights oracle."""
        centroid_MxD, label_M = pool
        var = cfg.within_noise ** 2 * scale ** 2 + 1e-6
        sq_M = jnp.sum((x_D - centroid_MxD * scale) ** 2, axis=1)
        posterior_M = jax.nn.softmax(log_frequency(label_M.shape[0], num_tasks) - sq_M / (2 * var))
        return posterior_M @ jax.nn.one_hot(label_M, cfg.labels)

    def episode(key, task, noise_std):  # one class's items (the generic path; not trained on)
        centroid_D, label = task
        return Episode(items(key, jnp.broadcast_to(centroid_D, (num_items + 1, cfg.dim))),
                       jnp.full((num_items + 1,), label, jnp.int32))

    return Family(cfg.name, sample_class, episode, context_len=num_items + 1, input_dim=cfg.dim,
                  target_dim=1, references=("ncm", "knn", "iw_oracle", "chance", "copy_label"),
                  figures=FIGURES, max_pool_size=cfg.max_pool_size, continuous_tasks=False,
                  emergence=Emergence("iw_oracle", "ncm", compare="performance"),
                  classes=Classes(cfg.labels, query_only=True, in_weights=in_weights),
                  draw_episode=draw_episode, splits=SPLITS, axes=axes(cfg))
