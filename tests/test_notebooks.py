"""Both notebooks execute top to bottom at tiny sizes."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["quickstart", "sweep_analysis"])
def test_notebook_runs(name, smoke_run, tmp_path, monkeypatch):
    monkeypatch.setenv("MESAOPT_NOTEBOOK_SIZE", "tiny")
    monkeypatch.setenv("SWEEP_DIR", str(smoke_run.parent))  # analyse the session's finished run
    monkeypatch.setenv("MESAOPT_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    notebook = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figure was drawn
