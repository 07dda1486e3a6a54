"""How many devices the CPU shows JAX, chosen by what a run needs, before JAX's backend starts.

One member: one device, the whole CPU to one program (XLA parallelizes its large ops over every
core). A population: two devices per core, so that members spread over the cores
(`population.member_sharding`): XLA runs small ops with little parallelism inside one program, and
two streams per core keep the cores busy. Measured on 2 cores (`mesaopt-bench`, README): a 2048^2
matmul runs at ~200-270 GFLOP/s as one program on one device but ~170-190 on one of four, and the
base model trains 1.17x faster on one device; 16 members of the CPU preset train fastest on four.
GPUs are not affected. An explicit
`--xla_force_host_platform_device_count` in XLA_FLAGS is always respected.
"""
from __future__ import annotations

import os

import jax
from jax._src import xla_bridge

DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def cpu_devices_for(members: int) -> int:
    return 1 if members <= 1 else 2 * (os.cpu_count() or 1)


def expose_cpu(members: int) -> int | None:
    """Show the CPU as `cpu_devices_for(members)` devices; returns that count, or None where the
    choice is not ours (XLA_FLAGS sets it) or too late (the backend already started)."""
    if DEVICE_COUNT_FLAG in os.environ.get("XLA_FLAGS", "") or xla_bridge.backends_are_initialized():
        return None
    count = cpu_devices_for(members)
    jax.config.update("jax_num_cpu_devices", count)
    return count


DETERMINISTIC_FLAG = "--xla_gpu_deterministic_ops=true"


def make_deterministic() -> bool:
    """XLA's deterministic GPU ops (atomics-free scatters and reductions in a fixed order: the same
    config and seed give the same bits on a GPU, resume included), set before JAX's backend starts;
    False where that is too late. A CPU run is deterministic without it."""
    flags = os.environ.get("XLA_FLAGS", "")
    if DETERMINISTIC_FLAG in flags:
        return True
    if xla_bridge.backends_are_initialized():
        return False
    os.environ["XLA_FLAGS"] = f"{flags} {DETERMINISTIC_FLAG}".strip()
    return True
