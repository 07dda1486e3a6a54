"""Bad input fails before compilation with one line naming the field; presets compose."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mesaopt import command, compose, config, evaluation, loggers, registry, results, run
from mesaopt.config import ConfigError
from mesaopt.sweep import SweepConfig

PRESETS = sorted(p.stem for p in (compose.CONFIG_DIR / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("preset", PRESETS)
def test_every_experiment_preset_composes_and_validates(compose_cfg, preset):
    cfg = compose.load_config(compose_cfg(f"experiment={preset}"))
    assert cfg.name == preset


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_header_states_command_runtime_and_expectation(preset):
    header = (compose.CONFIG_DIR / "experiment" / f"{preset}.yaml").read_text().split("\n\n")[0]
    for word in ("Command:", "Runtime:", "Expected:"):
        assert word in header, f"{preset}.yaml header lacks {word!r}"


@pytest.mark.parametrize("override, field", [
    ("task.dim=0", "task.dim"),
    ("task.context_len=0", "task.context_len"),
    ("task.dim=abc", "task.dim"),
    ("learner.width=-8", "learner.width"),
    ("learner.heads=3", "learner.heads"),
    ("train.steps=0", "train.steps"),
    ("train.batch_size=2.5", "train.batch_size"),
    ("train.schedule=exp", "train.schedule"),
    ("train.learning_rate=-1", "train.learning_rate"),
    ("sweep.seeds=0", "sweep.seeds"),
    ("sweep.num_tasks=[4,0]", "sweep.num_tasks[1]"),
    ("sweep.num_tasks=[2048]", "sweep.num_tasks[0]"),  # over the pool limit below
    ("sweep.noise_std=[0.0]", "sweep.noise_std[0]"),
    ("eval.every=3", "eval.every"),
    ("eval.references=[ridge,bogus]", "eval.references"),
    ("logger.mode=sideways", "logger.mode"),
    ("+task.bogus=1", "task.bogus"),
    ("task=bandit", "learner.name"),                  # a transformer cannot act in a bandit
    ("+sweep.proxy_rate=[0.9]", "sweep.proxy_rate"),  # linreg declares no proxy axis
    ("eval.probes=[nonesuch]", "eval.probes"),
    ("eval.probes=[]", "eval.probes"),                # not "no probes": the run would fail late
    ("eval.references=[]", "eval.references"),        # not "every reference" in disguise
    ("+eval.options.interpolation.alphas=0", "eval.options.interpolation.alphas"),
    ("+eval.options.nonesuch.x=1", "eval.options.nonesuch"),
    ("eval.references=[ridge,gd] +eval.options.gd.steps=0", "eval.options.gd.steps"),
    ("eval.references=[ridge,gd] +eval.options.ridge.steps=1", "eval.options.ridge"),  # none
    ("eval.probes=[mse,gd_equivalence] +eval.options.gd_equivalence.max_steps=0",
     "eval.options.gd_equivalence.max_steps"),
    ("learner=lsa learner.depth=0", "learner.depth"),
    ("eval.probes=[mse] eval.final_only=[delta]", "eval.final_only"),  # not a selected probe
])
def test_bad_values_raise_one_line_naming_the_field(compose_cfg, override, field):
    overrides = ["task.max_pool_size=1024", *override.split(" ")]
    compose.load_config(compose_cfg(*overrides[:-1]))  # valid up to the last override
    with pytest.raises(ConfigError) as err:
        compose.load_config(compose_cfg(*overrides))
    message = str(err.value)
    assert message.startswith(f"{field}:") and "\n" not in message, message


def test_probes_follow_the_selected_references(compose_cfg):
    only_zero = compose.load_config(compose_cfg("eval.references=[zero]"))  # needs unmet: left out
    from mesaopt import evaluation
    names = [p.name for p in evaluation.select(compose.build_family(only_zero), only_zero.eval)]
    assert names == ["adapt_mse", "delta", "interpolation", "mse"]
    with pytest.raises(ConfigError, match=r"^eval.probes: projection needs references dmmse, ridge"):
        compose.load_config(compose_cfg("eval.references=[zero]", "eval.probes=[projection]"))


def test_infinite_diversity_spellings_are_equivalent(compose_cfg):
    spelled = [compose.load_config(compose_cfg(f"sweep.num_tasks=[4,{m}]")).sweep for m in ("null", "inf")]
    from mesaopt.sweep import members
    cfg = compose.load_config(compose_cfg())
    rows = [members(s, cfg.train.learning_rate, (), ())[1] for s in spelled]
    assert rows[0] == rows[1] and rows[0][-1]["num_tasks"] == float("inf")


def _cli(*args: str, cwd: Path):
    return subprocess.run([sys.executable, "-m", "mesaopt.command", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_overrides_that_change_the_run_tag_its_default_directory(compose_cfg):
    """Two runs of one preset with other settings land in other directories by default; a
    multirun's swept values, reporting and layout settings do not rename the sweep."""
    assert command.run_tag(["experiment=smoke"]) == command.run_tag([]) == ""
    steps = command.run_tag(["experiment=smoke", "train.steps=8"])
    assert steps.startswith("-") and len(steps) == 7
    assert command.run_tag(["train.steps=8", "learner.width=8,16"]) == steps  # the sweep: left out
    assert command.run_tag(["train.steps=16"]) not in (steps, "")
    assert command.run_tag(["logger=none", "progress=false", "plan=true", "train.member_chunk=2",
                        "hydra/launcher=submitit_local", "out_dir=x"]) == ""
    tagged = compose_cfg("experiment=smoke", f"run_tag={steps}")
    assert tagged["out_dir"] == f"outputs/smoke{steps}" and compose_cfg("experiment=smoke")[
        "out_dir"] == "outputs/smoke"
    assert results.run_id(tagged) == results.run_id(compose_cfg("experiment=smoke"))


def test_a_run_keeps_its_command_lands_in_its_tagged_directory_and_says_how_it_goes(tmp_path):
    """The start line (run id, members, devices, directory) comes before compilation; the bar
    counts training steps and shows the training loss; each evaluation prints its headline."""
    changed = ["train.steps=4", "eval.every=2", "train.warmup_steps=0", "sweep.num_tasks=[1]"]
    done = _cli("experiment=smoke", *changed, "logger=none", "progress=true", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    tag = command.run_tag(changed)
    assert f"mesaopt: output directory outputs/smoke{tag}" in done.stdout
    assert re.search(r"mesaopt: run \w{12}: \d+ members on \d+ cpu device\(s\), 4 steps, in "
                     rf"outputs/smoke{tag}/", done.stdout)
    assert "4/4 [" in done.stderr and re.search(r"step/s|s/step", done.stderr)
    assert re.search(r"loss=\d", done.stderr)
    # a line per evaluation (steps 0, 2, 4) with the headline metric
    assert len(re.findall(r"smoke \w{12} step [024]: emergence_score \(held out, learner, mean "
                          r"over members\) [-\d.]", done.stderr)) == 3, done.stderr[-3000:]
    (line,) = (tmp_path / "outputs" / f"smoke{tag}").glob(f"*/{run.COMMAND_FILE}")
    assert line.read_text().split()[:2] == ["mesaopt-train", "experiment=smoke"]


@pytest.mark.parametrize("args, expected", [
    (["task=nonesuch"], "task: unknown option 'nonesuch' (allowed: bandit, clusters, digits, "
                        "digits_gpicl, linreg, maze, sinusoid)"),
    (["experiment=bandit_smoke", "sweep.proxy_rate=[0.5,1.5]"],
     "sweep.proxy_rate[1]: must be in [0, 1], got 1.5"),
    (["experiment=bandit_smoke", "task.kind=dependent", "task.arms=3"],
     "task.arms: must be 2 for kind=dependent, got 3"),
    (["-m", "learner.depth=1,0"], "learner.depth: must be > 0, got 0"),
    (["sweep.num_tasks=[1,4,99999999999]"], "sweep.num_tasks[2]: 99999999999 exceeds"),
    (["sweep.proxy_rate=[0.9]"], "sweep.proxy_rate: not a key of this config"),  # a bandit axis
    (["learner.widht=32"], "learner.widht: not a key of this config; did you mean "
                           "`learner.width`?"),
])
def test_cli_rejects_bad_input_before_any_work(tmp_path, args, expected):
    result = _cli(*args, f"out_dir={tmp_path}/out", "logger=none", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not (tmp_path / "out").exists()  # nothing written, let alone as if complete


# ---- one source of defaults -----------------------------------------------------------------

GROUP_OPTIONS = [(group, name) for group, kind in compose.SELECTED.items()
                 for name in registry.available(kind)]


@pytest.mark.parametrize("group, name", GROUP_OPTIONS)
def test_a_selected_option_runs_with_its_dataclass_defaults(compose_cfg, group, name):
    """Selecting an option (task=, learner=, train=) gives exactly its module's `Config()`."""
    module = registry.load(compose.SELECTED[group], name, group)
    composed = compose_cfg(f"{group}={name}")[group]
    assert config.parse(module.Config, composed, group) == module.Config()


def test_eval_sweep_and_logger_run_with_their_dataclass_defaults(compose_cfg):
    composed = compose_cfg()
    assert config.parse(evaluation.Config, composed["eval"], "eval") == evaluation.Config()
    assert config.parse(loggers.Config, composed["logger"], "logger") == loggers.Config()
    generic = {k: v for k, v in composed["sweep"].items() if k in SweepConfig().as_dict()}
    assert generic == SweepConfig().as_dict()


def _set_here(path: Path) -> dict[str, str]:
    """key -> its line, for the values a YAML file sets (not its defaults list)."""
    lines = [line for line in path.read_text().splitlines()
             if line.strip() and not line.lstrip().startswith(("#", "-"))]
    return {line.split(":")[0].strip(): line for line in lines
            if line.split(":")[0].strip() not in ("defaults", "name")}


@pytest.mark.parametrize("path", sorted(p for p in compose.CONFIG_DIR.glob("*/*.yaml")
                                        if p.parent.name != "experiment"), ids=lambda p: p.name)
def test_group_files_set_only_what_differs_and_say_why(path):
    for key, line in _set_here(path).items():
        assert "#" in line, f"{path.name}: {key} is set without a comment saying why"


def _preset_text(preset: str) -> str:
    """The preset's file and those of the presets it builds on (a companion `<name>_seeds` lists
    its quick preset in its defaults)."""
    import yaml
    text = (compose.CONFIG_DIR / "experiment" / f"{preset}.yaml").read_text()
    parents = [d for d in yaml.safe_load(text).get("defaults", [])
               if isinstance(d, str) and (compose.CONFIG_DIR / "experiment" / f"{d}.yaml").exists()]
    return "\n".join([text, *map(_preset_text, parents)])


@pytest.mark.parametrize("preset", PRESETS)
def test_every_value_a_preset_changes_is_written_in_the_preset(compose_cfg, preset):
    """A composed preset differs from the dataclass defaults of what it selects only where its
    own file says so: no group file or stale YAML changes a default behind its back."""
    text = _preset_text(preset)
    composed = compose_cfg(f"experiment={preset}")
    for group, kind in compose.SELECTED.items():
        module = registry.load(kind, composed[group]["name"], group)
        defaults = config.to_dict(module.Config())
        for key, value in composed[group].items():
            if config.plain(value) != defaults[key]:
                assert re.search(rf"(^|\s|\.){key}\s*[:=]", text, re.M), \
                    f"{preset}: {group}.{key} = {value!r} is not the default and not set in the preset"


def test_composing_and_validating_every_preset_starts_no_jax_backend():
    """Devices are chosen after every job is validated (devices.expose_cpu, and
    jax.distributed.initialize for several processes): building configs and families must not
    start JAX's backend, or the choice comes too late."""
    code = ("from jax._src import xla_bridge\nfrom mesaopt import compose\n"
            "for p in sorted(x.stem for x in (compose.CONFIG_DIR / 'experiment').glob('*.yaml')):\n"
            "    compose.load_config(compose.compose_config(f'experiment={p}'))\n"
            "    assert not xla_bridge.backends_are_initialized(), p\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
