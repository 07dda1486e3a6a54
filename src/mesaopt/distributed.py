"""Several processes, one population: the member axis over every process's devices.

A run becomes multi-process when it is started as several processes, either as SLURM tasks
(`srun --ntasks=N`, or submitit with `tasks_per_node`/`nodes` > 1; JAX reads the SLURM variables)
or with an explicit coordinator:

    MESAOPT_COORDINATOR=host:port MESAOPT_NUM_PROCESSES=2 MESAOPT_PROCESS_ID=0 mesaopt-train ...
    MESAOPT_COORDINATOR=host:port MESAOPT_NUM_PROCESSES=2 MESAOPT_PROCESS_ID=1 mesaopt-train ...

Every process runs the same command; `initialize` must come before JAX's backend starts. Every
process computes, only process 0 writes tables, figures, config and dashboards (`is_writer`); the
checkpoint is the exception: each process saves its own members' shards (orbax), so the output
directory must be shared. CPU processes talk through gloo.
"""
from __future__ import annotations

import os

import jax
import numpy as np

from mesaopt.config import ConfigError

ENV = ("MESAOPT_COORDINATOR", "MESAOPT_NUM_PROCESSES", "MESAOPT_PROCESS_ID")
SLURM_TASK = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_PROCID", "SLURM_LOCALID")  # in srun
_started = False


def requested() -> dict | None:
    """The `jax.distributed.initialize` arguments the environment asks for, or None (one process).

    Raises ConfigError for a partial or malformed explicit setting."""
    given = {name: os.environ.get(name) for name in ENV}
    if any(given.values()):
        missing = [name for name, value in given.items() if not value]
        if missing:
            raise ConfigError(f"{missing[0]}: must be set with {', '.join(ENV)} "
                              "(multi-process run)")
        try:
            count, index = int(given["MESAOPT_NUM_PROCESSES"]), int(given["MESAOPT_PROCESS_ID"])
        except ValueError:
            raise ConfigError("MESAOPT_NUM_PROCESSES and MESAOPT_PROCESS_ID: must be integers, got "
                              f"{given['MESAOPT_NUM_PROCESSES']!r} and "
                              f"{given['MESAOPT_PROCESS_ID']!r}") from None
        if not 0 <= index < count:
            raise ConfigError(f"MESAOPT_PROCESS_ID: must be in [0, {count}), got {index}")
        return {"coordinator_address": given["MESAOPT_COORDINATOR"], "num_processes": count,
                "process_id": index} if count > 1 else None
    if int(os.environ.get("SLURM_NTASKS", "1")) > 1 and all(
            name in os.environ for name in SLURM_TASK):
        return {}  # JAX detects coordinator, count and index from SLURM
    return None


def process_count_requested() -> int:
    args = requested()
    if args is None:
        return 1
    return args.get("num_processes") or int(os.environ["SLURM_NTASKS"])


def initialize() -> bool:
    """Join the other processes if the environment asks for it (once per process); True if
    this is a multi-process run."""
    global _started
    if _started:
        return True
    args = requested()
    if args is None:
        return False
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(**args)
    _started = True
    return True


def is_writer() -> bool:
    return jax.process_index() == 0


def member_devices(num_members: int) -> list:
    """The devices the member axis is split over: the most devices per process that split the
    population evenly over every process (all processes take part, the same count each)."""
    local = jax.local_devices()
    processes = jax.process_count()
    per_process = [d for d in range(1, len(local) + 1) if num_members % (d * processes) == 0]
    if not per_process:
        raise ConfigError(f"sweep: a population of {num_members} members cannot be split evenly "
                          f"over {processes} processes")
    count = max(per_process)
    by_process = {}
    for device in jax.devices():
        by_process.setdefault(device.process_index, []).append(device)
    return [d for p in sorted(by_process)
            for d in sorted(by_process[p], key=lambda d: d.id)[:count]]


def to_host(tree):
    """Every leaf as a numpy array on every process; member-sharded arrays spanning processes
    are gathered first (one collective program for the whole tree)."""
    leaves, treedef = jax.tree.flatten(tree)
    spread = [i for i, leaf in enumerate(leaves)
              if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable]
    if spread:
        replicated = [leaves[i].sharding.update(spec=jax.sharding.PartitionSpec())
                      for i in spread]
        gathered = jax.jit(lambda *xs: xs, out_shardings=tuple(replicated))(
            *[leaves[i] for i in spread])
        for i, array in zip(spread, gathered):
            leaves[i] = array.addressable_data(0)
    return jax.tree.unflatten(treedef, [np.asarray(leaf) for leaf in jax.device_get(leaves)])


def first_value(array) -> int:
    """`int(array[0])` for an array whose first entry may live on another process (entries of the
    step counter are equal across members)."""
    if isinstance(array, jax.Array) and not array.is_fully_addressable:
        return int(np.asarray(array.addressable_shards[0].data).reshape(-1)[0])
    return int(np.asarray(array).reshape(-1)[0])


def barrier(name: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        multihost_utils.sync_global_devices(name)


def place(tree, sharding):
    """`jax.device_put(tree, sharding)`, also where the sharding spans processes (then only host
    values can be placed: every process holds the same full values)."""
    if jax.process_count() == 1 or sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)
    return jax.device_put(to_host(tree), sharding)
