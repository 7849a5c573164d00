"""A fit logged to MLflow, against a local MLflow file store: inside an active run (or with
mlflow=True) the settings, scores, leaderboard and a loadable model are logged; with no
active run, or mlflow=False, nothing is."""

from __future__ import annotations

import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")

from assay import AutoML  # noqa: E402
from assay.data import read_table  # noqa: E402


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    uri = (tmp_path / "mlruns").resolve().as_uri()
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 prefers a database
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.set_experiment("assay-tests")
    yield experiment.experiment_id
    while mlflow.active_run() is not None:
        mlflow.end_run()


def _fit(**options):
    frame = read_table("builtin:iris")
    automl = AutoML(n_trials=2, models=["linear"], store=False, verbosity=0, **options)
    return automl.fit(frame, "target"), frame


def _runs(experiment_id: str) -> pd.DataFrame:
    return mlflow.search_runs(experiment_ids=[experiment_id])


def test_a_fit_inside_an_active_run_logs_settings_scores_leaderboard_and_model(tracking):
    with mlflow.start_run() as run:
        automl, frame = _fit()
    assert automl.mlflow_run_id_ == run.info.run_id
    logged = mlflow.get_run(run.info.run_id).data
    assert logged.params["assay.models"] == '["linear"]'
    assert logged.params["assay.task"] == "multiclass"
    score = automl.predictor_.info["ensemble_score"]
    assert logged.metrics["ensemble_logloss"] == pytest.approx(score)
    board = pd.read_csv(mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="leaderboard.csv"))  # fmt: skip
    assert board["model"].tolist() == automl.leaderboard()["model"].tolist()
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    rows = frame.drop(columns=["target"]).head(10)
    pd.testing.assert_frame_equal(
        model.predict(rows).reset_index(drop=True),
        automl.predictor_.predictions_frame(rows).reset_index(drop=True),
    )


def test_no_active_run_or_mlflow_false_logs_nothing(tracking):
    automl, _ = _fit()
    assert not hasattr(automl, "mlflow_run_id_") and _runs(tracking).empty
    with mlflow.start_run() as run:
        automl, _ = _fit(mlflow=False)
    assert not hasattr(automl, "mlflow_run_id_")
    assert mlflow.get_run(run.info.run_id).data.params == {}


def test_mlflow_true_starts_and_ends_a_run_of_its_own(tracking):
    automl, _ = _fit(mlflow=True)
    assert mlflow.active_run() is None
    runs = _runs(tracking)
    assert runs["run_id"].tolist() == [automl.mlflow_run_id_]
    assert runs["status"].tolist() == ["FINISHED"]


def test_the_command_line_logs_with_the_mlflow_flag(tracking, tmp_path, assay_home):
    import os
    import subprocess
    import sys

    args = ["fit", "builtin:iris", "--target", "target", "--trials", "2", "--models", "linear"]
    done = subprocess.run(
        [sys.executable, "-m", "assay", *args, "--mlflow", "--out", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MLFLOW_EXPERIMENT_NAME": "assay-tests"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (status,) = _runs(tracking)["status"].tolist()
    assert status == "FINISHED"
