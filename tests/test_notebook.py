"""The example notebook runs top to bottom in a real Jupyter kernel (nbclient driving
ipykernel) and shows what it promises: a fit at the default verbosity (its progress display
inside a kernel), the leaderboard, held-out scores, feature importance and predictions.

The kernel is this interpreter, declared in a kernel spec written to a temporary
JUPYTER_PATH: nothing needs `ipykernel install` first, and a `python3` kernel registered
elsewhere on the machine (another Python, without assay) is never picked."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"
KERNEL = "assay-tests"


def _cells(notebook) -> dict[str, nbformat.NotebookNode]:
    """Code cells by their tag."""
    return {
        tag: cell
        for cell in notebook.cells
        if cell.cell_type == "code"
        for tag in cell.metadata.get("tags", [])
    }


def _text(cell) -> str:
    """What a cell showed: its streams, the plain-text form of its results, its errors."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append("\n".join(output.traceback))
        else:
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def _kernel_spec(jupyter_path: Path) -> None:
    folder = jupyter_path / "kernels" / KERNEL
    folder.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "assay (tests)", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec))


def test_the_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert set(_cells(notebook)) >= {"fit", "leaderboard", "evaluate", "importance", "predict"}


@pytest.mark.slow  # starts a Jupyter kernel and fits twice
def test_the_notebook_runs_in_a_kernel(tmp_path, monkeypatch):
    _kernel_spec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    work = tmp_path / "work"  # the notebook's folder (runs go to the test's ASSAY_HOME)
    work.mkdir()
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=600,
        startup_timeout=120,
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, if a cell fails

    cells = _cells(notebook)
    everything = "\n".join(_text(cell) for cell in cells.values())
    assert "Traceback" not in everything
    # rich's warning when it cannot draw the progress line (Jupyter without ipywidgets)
    assert 'install "ipywidgets"' not in everything

    fit = _text(cells["fit"])
    assert re.search(r"trials \d+ done, 0 failed \| best 0\.9\d+ .* \| done", fit), fit
    saved = re.search(r"predictor saved in (\S+)", fit)
    assert saved and Path(saved.group(1)).is_relative_to(tmp_path), fit
    assert Path(saved.group(1)).is_dir()

    leaderboard = _text(cells["leaderboard"])
    for model in ("linear", "lightgbm", "random_forest", "ensemble"):
        assert model in leaderboard, leaderboard

    evaluate = _text(cells["evaluate"])
    auc = re.search(r"'auc': (?:np\.float64\()?([0-9.]+)", evaluate)
    assert auc and float(auc.group(1)) > 0.9, evaluate
    assert "'logloss'" in evaluate and "'accuracy'" in evaluate

    importance = _text(cells["importance"])
    assert "importance" in importance and "ci_low" in importance, importance
    assert re.search(r"(mean|worst) [a-z]+", importance), importance

    predict = _text(cells["predict"])
    assert re.match(r"\[[01](?: [01]){4}\]", predict), predict

    accuracy = re.search(r"accuracy on held-out rows: ([0-9.]+)", _text(cells["sklearn"]))
    assert accuracy and float(accuracy.group(1)) > 0.9
