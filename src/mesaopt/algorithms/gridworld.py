"""Procedural perfect mazes inside jit, and breadth-first distances on them (the level generator
and solver of the maze family: goal misgeneralization, "cheese in the corner").

A maze of n x n cells is a (2n + 1) x (2n + 1) boolean wall grid: cell (i, j) sits at grid
(2i + 1, 2j + 1), and the grid square between two adjacent cells is a wall unless the maze joins
them. Randomized Kruskal: visit every pair of adjacent cells in a random order and remove the
wall between them when a union-find says they are not yet connected, so the free squares form a
tree (a *perfect* maze: exactly one path between any two cells). Everything is a `lax` loop over
fixed shapes, so generation jits and vmaps over keys.

Placement: the start is the bottom-left cell; the goal is drawn in the top-right `corner_size` x
`corner_size` block of cells with probability 1 - `anywhere_rate`, else uniformly over the cells
other than the start. `distances` is a BFS from any grid square (number of steps through free
squares; `UNREACHABLE` elsewhere): distance maps to the goal and to the corner give optimal and
proxy actions and the decision squares.
Letters: n cells per side, H = W = 2n + 1 grid size.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

UNREACHABLE = 2**30


def grid_size(cells: int) -> int:
    return 2 * cells + 1


def _edges(cells: int) -> np.ndarray:
    """(E, 4) adjacent cell pairs (flat indices a, b) and the grid square between them (r, c)."""
    out = []
    for i in range(cells):
        for j in range(cells):
            if j + 1 < cells:
                out.append((i * cells + j, i * cells + j + 1, 2 * i + 1, 2 * j + 2))
            if i + 1 < cells:
                out.append((i * cells + j, (i + 1) * cells + j, 2 * i + 2, 2 * j + 1))
    return np.asarray(out, np.int32)


def generate(key: jax.Array, cells: int) -> jax.Array:
    """(H, W) bool walls of a perfect maze with `cells` x `cells` cells (randomized Kruskal)."""
    size = grid_size(cells)
    edges = jnp.asarray(_edges(cells))[jax.random.permutation(key, len(_edges(cells)))]
    walls = jnp.ones((size, size), bool).at[1::2, 1::2].set(False)

    def join(carry, edge):
        # every cell carries its component's label; joining relabels b's component as a's (no
        # find loop: under vmap a data-dependent loop runs as long as its slowest maze)
        label, walls = carry
        a, b, r, c = edge
        apart = label[a] != label[b]
        label = jnp.where(apart & (label == label[b]), label[a], label)
        return (label, walls.at[r, c].set(walls[r, c] & ~apart)), None

    label = jnp.arange(cells * cells, dtype=jnp.int32)
    return jax.lax.scan(join, (label, walls), edges)[0][1]


def distances(walls: jax.Array, source: jax.Array) -> jax.Array:
    """(H, W) int32 steps from grid square `source` (2,) through free squares (BFS by relaxation
    until nothing changes); `UNREACHABLE` on walls and squares cut off from the source."""
    return distances_from(walls, jnp.zeros(walls.shape, bool).at[source[0], source[1]].set(True))


def distances_from(walls: jax.Array, sources_HxW: jax.Array) -> jax.Array:
    """(H, W) int32 steps to the nearest of the `sources_HxW` squares (a region) through free
    squares; `UNREACHABLE` on walls and squares cut off from every source."""
    free = ~walls
    start = jnp.where(sources_HxW & free, 0, UNREACHABLE).astype(jnp.int32)

    def relax(carry):
        dist, _ = carry
        padded = jnp.pad(dist, 1, constant_values=UNREACHABLE)
        neighbours = jnp.minimum(jnp.minimum(padded[:-2, 1:-1], padded[2:, 1:-1]),
                                 jnp.minimum(padded[1:-1, :-2], padded[1:-1, 2:]))
        new = jnp.where(free, jnp.minimum(dist, jnp.minimum(neighbours, UNREACHABLE - 1) + 1),
                        UNREACHABLE)
        new = jnp.where(new >= UNREACHABLE - 1, UNREACHABLE, new)
        return new, jnp.any(new != dist)

    return jax.lax.while_loop(lambda carry: carry[1], relax, (start, jnp.asarray(True)))[0]


def next_squares(walls: jax.Array, square: jax.Array, moves: jax.Array) -> jax.Array:
    """(A, 2) the square each move (A, 2) leads to from `square`; a move into a wall stays put
    (the maze's dynamics, shared by the environment, the planning references and the probes)."""
    targets = square[None, :] + moves
    blocked = walls[targets[:, 0], targets[:, 1]]
    return jnp.where(blocked[:, None], square[None, :], targets)


def start_square(cells: int) -> np.ndarray:
    """The bottom-left cell's grid square (a constant: making it starts no JAX backend)."""
    return np.asarray([2 * cells - 1, 1], np.int32)


def corner_mask(cells: int, corner_size) -> jax.Array:
    """(H, W) bool: the cell squares of the top-right `corner_size` x `corner_size` block."""
    size = grid_size(cells)
    row, col = jnp.meshgrid(jnp.arange(size), jnp.arange(size), indexing="ij")
    is_cell = (row % 2 == 1) & (col % 2 == 1)
    return is_cell & (row // 2 < corner_size) & (col // 2 >= cells - corner_size)


def place_goal(key: jax.Array, cells: int, corner_size, anywhere_rate) -> jax.Array:
    """(2,) the goal's grid square: in the corner block with probability 1 - anywhere_rate, else
    uniform over the cells other than the start."""
    choice_key, corner_key, anywhere_key = jax.random.split(key, 3)
    size = grid_size(cells)
    row, col = jnp.meshgrid(jnp.arange(size), jnp.arange(size), indexing="ij")
    start = start_square(cells)
    is_cell = (row % 2 == 1) & (col % 2 == 1) & ~((row == start[0]) & (col == start[1]))

    def draw(k, mask):
        flat = jax.random.categorical(k, jnp.where(mask.ravel(), 0.0, -jnp.inf))
        return jnp.stack([flat // size, flat % size]).astype(jnp.int32)

    in_corner = draw(corner_key, corner_mask(cells, corner_size) & is_cell)
    anywhere = draw(anywhere_key, is_cell)
    return jnp.where(jax.random.bernoulli(choice_key, anywhere_rate), anywhere, in_corner)
