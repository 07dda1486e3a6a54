"""`mesaopt-train`: the Hydra entry. Every job of a (multi)run is composed and validated before
anything compiles (`precheck`); a bad value is one line on stderr naming the field, and exit code
2. Then Hydra runs each job: devices, distributed setup, `run.train`; a failed job is recorded and
the others go on.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import shutil
import sys
from pathlib import Path

from mesaopt import devices, distributed, results
from mesaopt.compose import (CONFIG_DIR, compose_config, groups, load_config, population_size,
                             store_defaults)
from mesaopt.config import ConfigError, require
from mesaopt.run import COMMAND, record_failure, say, train, use_compilation_cache

def _fail(message: str) -> None:
    print(f"mesaopt-train: error: {message}", file=sys.stderr)
    sys.exit(2)


MIN_FREE_BYTES = 100 * 2**20  # a run writes checkpoints and tables; less than this: refuse


def check_writable(out_dir: str) -> None:
    """Raise ConfigError if `out_dir` cannot be created and written, or its disk is nearly full."""
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        free = shutil.disk_usage(path).free
    except OSError as err:
        raise ConfigError(f"out_dir: cannot write to {out_dir}: {err.strerror or err}") from None
    require(free >= MIN_FREE_BYTES, "out_dir",
            f"{out_dir} has {free / 2**20:.0f} MiB free; a run needs at least "
            f"{MIN_FREE_BYTES // 2**20} MiB")


# Overrides that do not change what runs: where and how it reports, how it is laid out or
# planned, and the preset or name (already the directory's name).
UNTAGGED = ("hydra", "logger", "out_dir", "progress", "plan", "checkpoint_every", "deterministic",
            "experiment", "name", "run_tag", "train.member_chunk", "eval.member_chunk")


def run_tag(overrides: list[str]) -> str:
    """"-" and 6 hex digits naming the command line's overrides that change what runs, "" where
    there are none: by default (out_dir: outputs/<name><run_tag>) runs of other settings land in
    another directory, not beside the preset's runs where an analysis would pool them. The values
    a multirun sweeps are left out: those runs are one sweep, told apart by their run ids."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    kept = sorted(o.input_line.lstrip("+") for o in OverridesParser.create().parse_overrides(
        overrides) if not o.is_sweep_override() and not any(
            o.key_or_group.lstrip("+~") == key or o.key_or_group.lstrip("+~").startswith(
                (f"{key}.", f"{key}/")) for key in UNTAGGED))
    return "-" + hashlib.sha1("\n".join(kept).encode()).hexdigest()[:6] if kept else ""


def jobs(parsed: list) -> list[list[str]]:
    """Every job a (multi)run's parsed overrides describe, each a list of `key=value` overrides:
    the product of every sweep override's values, the last varying fastest (the order of Hydra's
    basic sweeper), the `hydra.*` overrides left out."""
    choices = [[f"{o.get_key_element()}={value}" for value in o.sweep_string_iterator()]
               if o.is_sweep_override() else [o.input_line]
               for o in parsed if not o.key_or_group.startswith("hydra")]
    return [list(job) for job in itertools.product(*choices)]


def precheck(overrides: list[str]) -> int:
    """Compose and validate every job of the sweep these overrides describe, before any work;
    returns the largest population among them."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        _fail(str(err).strip().splitlines()[0])
    options = groups()
    for override in parsed:
        key = override.key_or_group.lstrip("+~")
        if key in options and override.value() is not None:
            values = override.sweep_string_iterator() if override.is_sweep_override() \
                else [override.get_value_element_as_str()]
            for value in values:
                if value not in options[key]:
                    _fail(f"{key}: unknown option {value!r} (allowed: {', '.join(options[key])})")
    largest, out_dirs = 1, set()
    for job in jobs(parsed):
        try:
            cfg = load_config(compose_config(*job))
            out_dirs.add(cfg.out_dir)
            largest = max(largest, population_size(cfg))
        except ConfigError as err:
            _fail(str(err))
        except Exception as err:  # Hydra/OmegaConf errors: keep their first line
            first = str(err).strip().splitlines()[0]
            missing = re.fullmatch(r"Could not override '(.+)'\.", first)
            if not missing:
                _fail(first)
            near = _near_keys(job, missing[1])
            _fail(f"{missing[1]}: not a key of this config; did you mean "
                  f"{' or '.join(f'`{k}`' for k in near)}?" if near else
                  f"{missing[1]}: not a key of this config (declared by another task, learner or "
                  f"training method? `+{missing[1]}=...` adds a key)")
    for out_dir in sorted(out_dirs):  # only once every job is valid: nothing written before
        try:
            check_writable(out_dir)
        except ConfigError as err:
            _fail(str(err))
        say(f"mesaopt: output directory {out_dir}")
    return largest


def _near_keys(job: list[str], key: str) -> list[str]:
    """Keys of `key`'s group close to its last part (a typo's likely meaning), composed without
    the overrides of that key."""
    import difflib
    parent, _, name = key.rpartition(".")
    others = [o for o in job if o.split("=", 1)[0].lstrip("+~") != key]
    try:
        node = compose_config(*others)
    except Exception:  # noqa: BLE001 - the other overrides fail too: no hint
        return []
    for part in parent.split(".") if parent else ():
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return []
    found = difflib.get_close_matches(name, [str(k) for k in node], n=2, cutoff=0.6)
    return [f"{parent}.{k}" if parent else k for k in found]


def main() -> None:
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from omegaconf import OmegaConf

    args = sys.argv[1:]
    COMMAND[:] = ["mesaopt-train", *args]
    if not any(a.split("=", 1)[0].lstrip("+") == "out_dir" for a in args):
        tag = run_tag([a for a in args if not a.startswith("-")])
        if tag:  # Hydra's own app reads sys.argv: the tag goes there too
            sys.argv.append(f"run_tag={tag}")
            args.append(f"run_tag={tag}")
    largest = None
    if not any(a.startswith("-") and a not in ("-m", "--multirun") for a in args):
        largest = precheck([a for a in args if not a.startswith("-")])

    failures = []
    store_defaults()

    @hydra.main(version_base=None, config_path=str(CONFIG_DIR), config_name="config")
    def app(composed) -> None:
        for noisy in ("jax._src.xla_bridge", "absl"):  # backend probes, checkpoint chatter
            logging.getLogger(noisy).setLevel(logging.WARNING)
        try:
            cfg = load_config(OmegaConf.to_container(composed, resolve=True))
        except ConfigError as err:
            _fail(str(err))
        try:
            processes = distributed.process_count_requested()
        except ConfigError as err:
            _fail(str(err))
        if cfg.deterministic and not devices.make_deterministic():
            say("mesaopt: deterministic=true came after JAX started (in a multirun the first "
                "job's setting holds for all): not set for this job", error=True)
        # The first job decides for all; in a multi-process run each process holds its share.
        devices.expose_cpu(-(-(largest or population_size(cfg)) // processes))
        distributed.initialize()
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            use_compilation_cache()
        try:
            train(cfg)
        except Exception as err:  # one failed job must not stop the others of a multirun
            line = record_failure(cfg, err)
            failures.append(cfg.out_dir)
            say(f"mesaopt: run {results.run_id(cfg.as_dict())} failed: {line}", error=True)

    app()
    if failures:
        print(f"mesaopt-train: {len(failures)} run(s) failed (`mesaopt-status "
              f"{' '.join(sorted(set(failures)))}` lists them; rerunning the command completes "
              "only what is missing)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":  # through the imported module: launchers pickle `app` by reference
    from mesaopt.command import main as imported_main
    imported_main()
