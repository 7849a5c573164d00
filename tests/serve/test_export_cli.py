"""`assay export`: an MLflow pyfunc model that MLflow itself loads and that predicts what
assay predicts; an ONNX file from the command line, checked on rows drawn from the
predictor; the export's own checks and refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _export(folder, fmt, out) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assay", "export", str(folder), "--format", fmt, "--out",
         str(out)], capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_mlflow_loads_the_export_and_predicts_what_assay_predicts(saved_predictor, churn,
                                                                  tmp_path):  # fmt: skip
    mlflow = pytest.importorskip("mlflow.pyfunc", reason="the mlflow extra is not installed")

    folder, predictor = saved_predictor
    out = tmp_path / "mlflow-model"
    proc = _export(folder, "mlflow", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "checked on 200 rows" in proc.stderr
    assert (out / "MLmodel").exists()
    rows = churn.drop(columns="churn").iloc[150:220]
    got = mlflow.load_model(str(out)).predict(rows)
    expected = predictor.predictions_frame(rows)
    assert list(got.columns) == ["prediction", "proba_no", "proba_yes"]
    assert got["prediction"].tolist() == expected["prediction"].tolist()
    np.testing.assert_allclose(got["proba_yes"], expected["proba_yes"], atol=1e-12)


# A user's script: load the model with MLflow (assay not imported yet), import assay modules
# afterwards, and start a process that imports assay too.
_LOAD_IN_A_FRESH_PROCESS = """
import json, multiprocessing, os, sys
import pandas as pd
import mlflow.pyfunc

model, rows = sys.argv[1], sys.argv[2]
got = mlflow.pyfunc.load_model(model).predict(pd.read_pickle(rows))
import assay.forecast
with multiprocessing.get_context("spawn").Pool(1) as pool:
    spawned = pool.apply(eval, ("__import__('assay').__file__",))
print(json.dumps({
    "files": {name: module.__file__ for name, module in sys.modules.items()
              if name.split(".")[0] == "assay" and getattr(module, "__file__", None)},
    "spawned": spawned,
    "path": sys.path,
    "pythonpath": os.environ.get("PYTHONPATH", ""),
    "columns": list(got.columns),
}))
"""


def test_loading_the_mlflow_export_keeps_the_installed_assay(saved_predictor, churn,
                                                            tmp_path):  # fmt: skip
    """The export declares assay as a requirement instead of copying its code into the model:
    MLflow put such a copy first on sys.path when loading, so the process (and the processes
    it spawned) imported that old copy instead of the installed assay (issue 23). The load
    runs in its own process so nothing it does reaches this one."""
    pytest.importorskip("mlflow.pyfunc", reason="the mlflow extra is not installed")
    from mlflow.models import Model

    import assay

    folder, _ = saved_predictor
    out = tmp_path / "mlflow-model"
    proc = _export(folder, "mlflow", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (out / "code").exists()
    requirements = (out / "requirements.txt").read_text().split()
    assert f"assay=={assay.__version__}" in requirements
    assert Model.load(str(out)).flavors["python_function"].get("code") is None

    rows = tmp_path / "rows.pkl"
    churn.drop(columns="churn").head(20).to_pickle(rows)
    loaded = subprocess.run(
        [sys.executable, "-c", _LOAD_IN_A_FRESH_PROCESS, str(out), str(rows)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    seen = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert seen["columns"] == ["prediction", "proba_no", "proba_yes"]
    installed = Path(assay.__file__).resolve().parent
    assert "assay.forecast" in seen["files"] and "assay.automl._pyfunc" in seen["files"]
    elsewhere = {name: file for name, file in seen["files"].items()
                 if not Path(file).resolve().is_relative_to(installed)}  # fmt: skip
    assert elsewhere == {}
    assert Path(seen["spawned"]).resolve() == installed / "__init__.py"
    model_dir = out.resolve()
    assert [p for p in seen["path"] if p and Path(p).resolve().is_relative_to(model_dir)] == []
    assert str(out) not in seen["pythonpath"]


def test_the_export_checks_on_given_rows_and_refuses_to_overwrite(saved_predictor, churn,
                                                                  tmp_path):  # fmt: skip
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    from assay.errors import ConfigError, ExportError
    from assay.serve._export import export_predictor

    folder, _ = saved_predictor
    out = tmp_path / "m"
    done = export_predictor(folder, out, "mlflow", check_rows=churn.head(40))
    assert done.n_rows_checked == 40 and done.max_abs_diff == 0.0
    with pytest.raises(ExportError, match="--overwrite"):
        export_predictor(folder, out, "mlflow")
    with pytest.raises(ConfigError, match="mlflow, onnx"):
        export_predictor(folder, tmp_path / "x", "pmml")


def test_probe_rows_cover_every_column_with_missing_and_unseen_values(saved_predictor):
    from assay.serve._export import probe_rows

    _, predictor = saved_predictor
    rows = probe_rows(predictor, n_rows=300)
    assert list(rows.columns) == list(predictor.schema.features)
    assert rows["income"].isna().any() and rows["city"].isna().any()
    assert (rows["city"] == "__unseen__").any()
    assert pd.to_datetime(rows["joined"]).notna().all()
    assert len(predictor.predict(rows)) == 300


def test_onnx_export_from_the_command_line_runs_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    from sklearn.datasets import load_breast_cancer

    from assay import AutoML
    from assay.serve._onnx import onnx_feed

    frame = load_breast_cancer(as_frame=True).frame
    automl = AutoML(n_trials=2, models=["lightgbm", "linear"], stack="off", store=False)
    automl.fit(frame, target="target")
    folder = automl.predictor_.save(tmp_path / "predictor")
    proc = _export(folder, "onnx", tmp_path / "model.onnx")
    assert proc.returncode == 0, proc.stderr[-2000:]
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    rows = frame.drop(columns="target").tail(60)
    (probabilities,) = session.run(["probabilities"], onnx_feed(automl.predictor_, rows))
    np.testing.assert_allclose(probabilities, automl.predictor_.predict_proba(rows), atol=1e-4)


def test_onnx_export_of_a_date_column_is_refused_naming_it(saved_predictor, tmp_path):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    proc = _export(saved_predictor[0], "onnx", tmp_path / "model.onnx")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "joined" in proc.stderr and "--format mlflow" in proc.stderr
    assert not (tmp_path / "model.onnx").exists()
