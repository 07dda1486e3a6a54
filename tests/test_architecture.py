"""The layer order of docs/architecture.md holds: every import in src/mesaopt runs down it, none
between sibling packages, none into another package's private module, so there is no cycle."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "mesaopt"


def layers() -> dict[str, int]:
    """unit (top-level package or module under mesaopt) -> its line in the documented order."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```layers block"
    return {unit: i for i, line in enumerate(block.group(1).splitlines()) for unit in line.split()}


def _module_name(path: Path, source: Path) -> str:
    parts = path.relative_to(source.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, source: Path = SOURCE) -> list[str]:
    """Every mesaopt module (or `module:name`) a file imports, at any depth of its code."""
    module = _module_name(path, source)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] == "mesaopt"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "mesaopt":
                out += [f"{target}:{a.name}" for a in node.names]
    return out


def unit(module: str) -> str:
    """The layer unit of a dotted module: mesaopt.tasks.maze -> tasks; mesaopt -> mesaopt."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def violations(files, order: dict[str, int], source: Path = SOURCE) -> list[str]:
    out = []
    for path in files:
        here = _module_name(path, source)
        if unit(here) not in order:
            out.append(f"{here}: not in the layer order")
            continue
        for target in imports(path, source):
            module, _, name = target.partition(":")
            # `from mesaopt import tasks` names the package tasks, not the root
            dotted = f"{module}.{name}" if module == "mesaopt" and name and name != "__version__" \
                else module
            there = unit(dotted)
            if there not in order:
                out.append(f"{here} imports {target}: not in the layer order")
            elif order[there] > order[unit(here)] or (order[there] == order[unit(here)]
                                                     and there != unit(here)):
                out.append(f"{here} imports {target}: up or across the layer order")
            private = [p for p in dotted.split(".")[2:] + [name] if p.startswith("_")
                       and p not in ("__version__", "__init__")]
            if there != unit(here) and private:
                out.append(f"{here} imports {target}: another package's private module")
    return out


def test_every_import_runs_down_the_documented_layer_order():
    found = violations(sorted(SOURCE.rglob("*.py")), layers())
    assert not found, "\n".join(found)


@pytest.mark.parametrize("source, expected", [
    ("from mesaopt.train import Hparams\n", "up or across"),     # tasks -> train: up
    ("from mesaopt import learners\n", "up or across"),          # tasks -> learners: up
    ("from mesaopt.tasks import maze\n", None),                   # own package
    ("from mesaopt.algorithms.gridworld import generate\n", None),  # down
])
def test_the_checker_catches_an_import_up_the_order(tmp_path, source, expected):
    fake = tmp_path / "src" / "mesaopt" / "tasks" / "fake.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    found = violations([fake], layers(), tmp_path / "src" / "mesaopt")
    assert (not found) if expected is None else (len(found) == 1 and expected in found[0])


def test_the_checker_catches_sibling_and_private_imports(tmp_path):
    probe = tmp_path / "src" / "mesaopt" / "probes" / "fake.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from mesaopt.references import _gd\nfrom mesaopt.references import ridge\n")
    found = violations([probe], layers(), tmp_path / "src" / "mesaopt")
    assert len([f for f in found if "up or across" in f]) == 2
    assert len([f for f in found if "private" in f]) == 1


MAX_LINES = 300
WHY = "Longer than 300 lines:"  # a module's docstring says why it is longer


def test_no_module_is_longer_than_300_lines_unless_its_docstring_says_why():
    long = [f"{p.relative_to(SOURCE)} ({n} lines)" for p in sorted(SOURCE.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_LINES
            and WHY not in (ast.get_docstring(ast.parse(p.read_text())) or "")]
    assert not long, f"modules over {MAX_LINES} lines without '{WHY}' in their docstring: {long}"
