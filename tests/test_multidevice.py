"""Members sharded over several devices (CPU cores exposed as devices) give the single-device
numbers, and such a run resumes from its checkpoint."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from mesaopt import results

SCRIPT = textwrap.dedent("""
    import sys
    import jax
    from mesaopt import run
    from mesaopt.population import member_sharding
    from tests.conftest import compose_config
    assert len(jax.devices()) == 2
    cfg = run.load_config(compose_config("experiment=smoke", f"out_dir={sys.argv[1]}",
                                         "progress=false", "logger=none"))
    assert member_sharding(6) is not None
    run_dir = run.train(cfg, max_chunks=1)
    run.train(cfg)
    print(run_dir)
""")


def test_sharded_population_resumes_and_matches_single_device(smoke_run, tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=600, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr[-3000:]
    sharded = results.load(out.stdout.strip().splitlines()[-1])
    single = results.load(smoke_run)
    assert len(sharded) == len(single)
    pd.testing.assert_frame_equal(sharded.drop(columns="value"), single.drop(columns="value"))
    np.testing.assert_allclose(sharded.value, single.value, rtol=1e-3, atol=1e-5)
