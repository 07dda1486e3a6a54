"""The benchmark runs end to end at tiny sizes (no timing assertions: numbers only must exist;
the quick benchmark leaves out the whole-run comparisons, which take minutes)."""
from __future__ import annotations

import json

from mesaopt.bench import cli
from mesaopt.bench.flops import transformer_forward_flops_per_token
from mesaopt.devices import cpu_devices_for


def test_flop_count_matches_a_hand_count():
    # D=1, K=1 (T=2), W=2, L=1, r=1: embed 2*2*2=8, block 6*4+2*4+4*4+4*2*2=64, head 4
    assert transformer_forward_flops_per_token(1, 1, 1, 2, 1) == 8 + 64 + 4


def test_quick_benchmark_writes_every_key(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert cli.main(["--quick", "--members", "1", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    for key in ("population_speedup", "population_speedup_inprocess", "utilization",
                "peak_matmul_flops", "peak_matmul_flops_population", "steps_per_s", "vs_minimal",
                "evaluation_share", "bandit_env_steps_per_s"):
        assert key in report
    assert report["peak_matmul_flops"] > 0 and all(v > 0 for v in report["steps_per_s"].values())
    assert all(v > 0 for v in report["vs_minimal"].values())
    # Each part sees the CPU the way a run of its size does.
    assert report["devices"] == {"single": cpu_devices_for(1), "population": cpu_devices_for(2)}
    assert set(report["population_speedup_inprocess"]) == {"1"}
    assert report["population_speedup"] == {}  # whole runs vs a multirun: not with --quick
    assert report["bandit_env_steps_per_s"] > 0
    # PPO on mazes beside the minimal loop, for the maze presets' convolutional agent.
    assert set(report["rl"]) == {f"{agent}/{m}" for agent in cli.MAZE_AGENTS_QUICK
                                 for m in cli.rl_members(quick=True)}
    for m in report["rl"].values():
        assert m["env_steps_per_s"] > 0 and m["minimal_env_steps_per_s"] > 0
        assert 0 < m["live_share"] <= 1 and 0 < m["minimal_live_share"] <= 1
        low, high = m["vs_minimal_interval"]
        assert 0 < low <= high
        assert m["update_ms"] > m["level_draws_ms"] > 0 and m["minimal_level_draws_ms"] > 0
    # the population again as mesaopt-train spreads it over the population part's devices
    assert set(report["rl_as_run"]) == {f"{agent}/2" for agent in cli.MAZE_AGENTS_QUICK}
    for m in report["rl_as_run"].values():
        assert m["env_steps_per_s"] > 0 and m["vs_minimal"] > 0 and m["devices"] == 2
    assert "peak matmul" in capsys.readouterr().out


def test_population_of_a_named_size_runs_in_its_dtype():
    """`--population-model base` (here: tiny, the same path) trains a population of the named
    size on the base task in the asked dtype, and measures its utilization."""
    cfg = cli.population_config("tiny", 2, 2, "bfloat16")
    assert (cfg.learner.depth, cfg.learner.width, cfg.learner.dtype) == (1, 32, "bfloat16")
    assert (cfg.task.dim, cfg.task.context_len, cfg.sweep.seeds) == (8, 16, 2)
    measured = cli.population_inprocess("tiny", 2, 2, "bfloat16", 1, peak=1e12)
    assert measured["population_s"] > 0 and 0 < measured["utilization"] < 1


def test_minimal_loop_computes_the_same_model():
    """The benchmark's reference loop is mesaopt's transformer written another way: given the same
    parameters it makes the same predictions, and its training step runs."""
    import jax
    import numpy as np

    from mesaopt.bench import minimal
    from mesaopt.learners import transformer
    from mesaopt.tasks import Episode, linreg
    family = linreg.build(linreg.Config(dim=3, context_len=4))
    ours = transformer.build(transformer.Config(depth=2, width=16, heads=2, mlp_ratio=2), family)
    flax_params = ours.init(jax.random.key(0))
    dense = lambda p: {"w": p["kernel"], "b": p["bias"]}
    blocks = [flax_params[f"Block_{i}"] for i in range(2)]
    params = {"embed": dense(flax_params["Dense_0"]), "positions": flax_params["positions"],
              "ln_f": flax_params["LayerNorm_0"], "out": dense(flax_params["Dense_1"]),
              "blocks": [{"ln1": b["LayerNorm_0"], "qkv": dense(b["Dense_0"]),
                          "proj": dense(b["Dense_1"]), "ln2": b["LayerNorm_1"],
                          "up": dense(b["Dense_2"]), "down": dense(b["Dense_3"])} for b in blocks]}
    count = lambda tree: sum(a.size for a in jax.tree.leaves(tree))
    assert count(params) == count(minimal.init_params(jax.random.key(0), 3, 4, 2, 16, 2))
    tokens, y = minimal.batch(jax.random.key(1), 5, 3, 4, 0.1)
    x = tokens[:, ::2, :3]
    expected = jax.vmap(ours.apply, in_axes=(None, 0))(flax_params, Episode(x, y))
    np.testing.assert_allclose(minimal.forward(params, tokens, 2, np.float32)[:, ::2], expected,
                               rtol=1e-4, atol=1e-5)
    chunk, tx = minimal.make_chunk(4, 8, 3, 4, 2)
    _, _, losses = chunk(params, tx.init(params), jax.random.key(2))
    assert losses.shape == (4,) and bool(np.all(np.isfinite(losses)))


def test_matmuls_read_from_the_program_match_the_architecture_count():
    """bench/hlo.py reads a dot's sizes and FLOPs from StableHLO (checked on a hand-built batched
    bf16 matmul), and the tiny model's training step's matmuls add up to bench/flops.py's count
    (two independent counts: the program's and the architecture's)."""
    import jax
    import jax.numpy as jnp

    from mesaopt import compose
    from mesaopt.bench import hlo
    from mesaopt.bench.flops import transformer_train_flops_per_step
    a = jnp.zeros((3, 5, 7), jnp.bfloat16)
    b = jnp.zeros((3, 7, 11), jnp.bfloat16)
    text = jax.jit(lambda x, y: jnp.einsum("bmk,bkn->bmn", x, y)).lower(a, b).as_text()
    (dot,) = hlo.dots(text)
    assert (dot.batch, dot.m, dot.n, dot.k, dot.lhs, dot.flops) == (3, 5, 11, 7, "bf16",
                                                                    2 * 3 * 5 * 11 * 7)
    assert dot.bytes == 3 * 2 * (5 * 7 + 7 * 11 + 5 * 11)
    # memory-bound at a ridge above its intensity: the bound is intensity / ridge
    assert abs(hlo.roofline([dot], 1e12, 1e12 / 100) - dot.intensity / 100) < 1e-12
    cfg = cli.short_run(1, *cli.SIZES["tiny"], *cli.BASE_TASK, "sweep.seeds=1")
    found = hlo.dots(hlo.lowered_step(cfg))
    counted = transformer_train_flops_per_step(compose.build_family(cfg), cfg.learner,
                                               cfg.train.batch_size)
    assert abs(sum(d.flops for d in found) / counted - 1) < 0.02
