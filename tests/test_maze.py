"""The maze generator and solver: perfect mazes (every free square reachable, a tree), BFS distances
equal to a plain-Python BFS, jit == no-jit, deterministic per key, goals placed as asked."""
from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mesaopt.algorithms import gridworld

CELLS = 4  # 9 x 9 grids


def _python_bfs(walls: np.ndarray, source) -> np.ndarray:
    dist = np.full(walls.shape, gridworld.UNREACHABLE, np.int64)
    dist[tuple(source)] = 0
    queue = collections.deque([tuple(source)])
    while queue:
        r, c = queue.popleft()
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nr, nc = r + dr, c + dc
            if (0 <= nr < walls.shape[0] and 0 <= nc < walls.shape[1] and not walls[nr, nc]
                    and dist[nr, nc] == gridworld.UNREACHABLE):
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


@pytest.fixture(scope="module")
def mazes():
    keys = jax.random.split(jax.random.key(0), 64)
    walls = jax.jit(jax.vmap(lambda k: gridworld.generate(k, CELLS)))(keys)
    starts = jnp.broadcast_to(gridworld.start_square(CELLS), (64, 2))
    return keys, np.asarray(walls), np.asarray(jax.jit(jax.vmap(gridworld.distances))(walls, starts))


def test_every_free_square_is_reachable_and_the_maze_is_a_tree(mazes):
    _, walls, dist = mazes
    size = gridworld.grid_size(CELLS)
    assert walls.shape == (64, size, size)
    for w, d in zip(walls, dist):
        assert w[0].all() and w[-1].all() and w[:, 0].all() and w[:, -1].all()  # closed border
        assert (d[~w] < gridworld.UNREACHABLE).all() and (d[w] == gridworld.UNREACHABLE).all()
        # n^2 cells joined by n^2 - 1 carved walls: a spanning tree, one path between any two cells
        assert (~w).sum() == CELLS**2 + CELLS**2 - 1


def test_distances_equal_a_plain_python_bfs(mazes):
    _, walls, dist = mazes
    for w, d in zip(walls[:16], dist[:16]):
        np.testing.assert_array_equal(d, _python_bfs(w, gridworld.start_square(CELLS)))
    goal = np.array([1, 2 * CELLS - 1])
    np.testing.assert_array_equal(jax.jit(gridworld.distances)(walls[0], goal),
                                  _python_bfs(walls[0], goal))


def test_jit_equals_eager_and_a_key_determines_its_maze(mazes):
    keys, walls, _ = mazes
    np.testing.assert_array_equal(gridworld.generate(keys[3], CELLS), walls[3])
    np.testing.assert_array_equal(gridworld.generate(keys[3], CELLS), gridworld.generate(keys[3], CELLS))
    assert len({w.tobytes() for w in walls}) > 60  # 64 keys: (almost) all different mazes


@pytest.mark.parametrize("corner_size", [1, 2])
def test_goals_land_in_the_corner_block_unless_placed_anywhere(corner_size):
    keys = jax.random.split(jax.random.key(1), 400)
    place = jax.jit(jax.vmap(gridworld.place_goal, in_axes=(0, None, None, None)), static_argnums=1)
    corner = np.asarray(gridworld.corner_mask(CELLS, corner_size))
    in_corner = np.asarray(place(keys, CELLS, corner_size, 0.0))
    assert corner[in_corner[:, 0], in_corner[:, 1]].all()
    assert len({tuple(g) for g in in_corner.tolist()}) == corner_size**2  # every corner cell
    anywhere = np.asarray(place(keys, CELLS, corner_size, 1.0))
    start = tuple(np.asarray(gridworld.start_square(CELLS)).tolist())
    cells = {tuple(g) for g in anywhere.tolist()}
    assert start not in cells and all(r % 2 == 1 and c % 2 == 1 for r, c in cells)
    assert len(cells) == CELLS**2 - 1  # every cell but the start
    half = np.asarray(place(keys, CELLS, corner_size, 0.5))
    share = corner[half[:, 0], half[:, 1]].mean()
    expected = 0.5 + 0.5 * corner_size**2 / (CELLS**2 - 1)
    assert abs(share - expected) < 0.08
