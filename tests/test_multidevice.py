"""Members sharded over several devices (CPU cores exposed as devices) give the single-device
numbers, and such a run resumes from its checkpoint."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
from conftest import xla_flags

from mesaopt import results

SCRIPT = textwrap.dedent("""
    import sys
    import jax
    from mesaopt import command, compose, run
    from mesaopt.population import member_sharding
    from tests.conftest import compose_config
    assert len(jax.devices()) == 2
    cfg = compose.load_config(compose_config("experiment=smoke", f"out_dir={sys.argv[1]}",
                                         "progress=false", "logger=none"))
    assert member_sharding(6) is not None
    run_dir = run.train(cfg, max_chunks=1)
    run.train(cfg)
    print(run_dir)
""")


def test_sharded_population_resumes_and_matches_single_device(smoke_run, tmp_path):
    env = {**os.environ, "XLA_FLAGS": xla_flags("--xla_force_host_platform_device_count=2"),
           "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=600, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr[-3000:]
    sharded = results.load(out.stdout.strip().splitlines()[-1])
    single = results.load(smoke_run)
    assert len(sharded) == len(single)
    pd.testing.assert_frame_equal(sharded.drop(columns="value"), single.drop(columns="value"))
    np.testing.assert_allclose(sharded.value, single.value, rtol=1e-3, atol=1e-5)


def _devices_seen(members: int, xla_flags: str = "") -> str:
    script = ("import sys, jax; from mesaopt import devices; "
              "print(devices.expose_cpu(int(sys.argv[1])), len(jax.devices()))")
    env = {**os.environ, "XLA_FLAGS": xla_flags}
    out = subprocess.run([sys.executable, "-c", script, str(members)], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_the_cpu_is_one_device_for_one_member_and_two_per_core_for_a_population():
    assert _devices_seen(1) == ["1", "1"]
    many = str(2 * os.cpu_count())
    assert _devices_seen(6) == [many, many]
    assert _devices_seen(1, "--xla_force_host_platform_device_count=3") == ["None", "3"]


def test_precheck_gives_the_largest_population_of_a_sweep():
    from mesaopt import command
    assert command.precheck(["experiment=smoke", "sweep.seeds=1", "sweep.num_tasks=[null]"]) == 1
    assert command.precheck(["experiment=smoke", "sweep.seeds=1,3"]) == 3 * 3  # seeds x M


GROUPS = textwrap.dedent("""
    import jax, numpy as np
    from mesaopt import compose, plan
    from tests.conftest import compose_config
    assert len(jax.devices()) == 2
    def build(*overrides):
        pop = compose.build(compose.load_config(compose_config(
            "experiment=smoke", "logger=none", "train.batch_size=256", *overrides)))[2]
        hparams = pop.placed_hparams()
        state = pop.init(hparams)
        program = pop.train_chunk.lower(state, hparams).compile()
        assert "all-gather" not in program.as_text()  # no device reads another's members
        peak = {p.name: p.peak_bytes for p in plan.programs(pop, hparams, plan_only=True)}
        return peak, program(state, hparams)
    whole, (state, metrics) = build()
    grouped, (state_g, metrics_g) = build("train.member_chunk=1", "eval.member_chunk=1")
    np.testing.assert_array_equal(metrics_g["loss"], metrics["loss"])
    # parameters to float rounding, which Adam turns into up to ~1e-7 where a gradient is ~0
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                 state_g.params, state.params)
    for name in whole:  # 1 of each device's 3 members at a time: a third of the memory
        assert grouped[name] < 0.5 * whole[name], (name, grouped[name], whole[name])
    # at most 2 of each device's 3 at a time: 1 (the largest divisor of 3 up to 2)
    assert build("train.member_chunk=2", "eval.member_chunk=2")[0] == grouped
""")


def test_member_groups_take_each_devices_share_without_moving_members_between_devices():
    """train.member_chunk=1 on 6 members split over 2 devices: one member of each device's three
    at a time (no all-gather in the program: no member moves), per-device memory falls with the
    group, and the numbers are the whole population's."""
    env = {**os.environ, "XLA_FLAGS": xla_flags("--xla_force_host_platform_device_count=2"),
           "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", GROUPS], capture_output=True, text=True, env=env,
                         timeout=600, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr[-3000:]
