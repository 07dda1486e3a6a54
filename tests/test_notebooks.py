"""The notebooks execute top to bottom at tiny sizes, on the session's smoke runs."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


# Text a working notebook prints: the score table over the smoke run's diversities, the M* table.
EXPECTED = {"quickstart": ["score", "delta_refs", "projection", "1.0", "4.0", "inf"],
            "sweep_analysis": ["runs,", "compute axis: step", "| step | seeds | m_star |"],
            "emergence_across_families": ["runs of bandit, linreg, maze, sinusoid",
                                          "| family | learner | memorizer | generalizer |",
                                          "| linreg | transformer | dmmse | ridge |"]}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs(name, smoke_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("MESAOPT_NOTEBOOK_SIZE", "tiny")
    monkeypatch.setenv("SWEEP_DIR", str(smoke_runs["smoke"].parent))  # the session's finished run
    families = ("smoke", "bandit_smoke", "maml_smoke", "maze_smoke")  # those declaring emergence
    monkeypatch.setenv("SWEEP_DIRS", ":".join(str(smoke_runs[p]) for p in families))
    monkeypatch.setenv("MESAOPT_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figure was drawn
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    for expected in EXPECTED[name]:
        assert expected in text, f"{name}: no {expected!r} in its outputs"


def test_notebooks_find_the_repositorys_outputs_from_their_own_folder(tmp_path, monkeypatch):
    """A notebook runs in notebooks/: the runs it looks for are in the repository root's outputs/
    (it looked for notebooks/outputs/... and trained a demo sweep instead), or $MESAOPT_OUTPUTS."""
    from mesaopt import results
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("MESAOPT_OUTPUTS", raising=False)
    assert results.outputs_dir(tmp_path / "notebooks") == tmp_path.resolve() / "outputs"
    monkeypatch.chdir(tmp_path / "notebooks")
    assert results.outputs_dir() == tmp_path.resolve() / "outputs"
    monkeypatch.setenv("MESAOPT_OUTPUTS", str(tmp_path / "elsewhere"))
    assert results.outputs_dir() == tmp_path / "elsewhere"
