"""A fit for log loss calibrates its ensemble: one temperature, fitted on the ensemble's
out-of-fold predictions, applied to every prediction, kept through save and load, through
a blend of predictors (each part its own), and in the ONNX export."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

import assay
from assay import AutoML
from assay.automl._blend import blend_predictors
from assay.ensemble import fit_temperature, tempered
from assay.evaluate import get_metric


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["y"] = np.array(["a", "b", "c"])[y]
    return frame


@pytest.fixture(scope="module")
def fitted(data):
    automl = AutoML(
        metric="logloss", models=["lightgbm", "linear"], n_trials=4, n_folds=3, stack="off",
        store=False, random_state=0,
    )  # fmt: skip
    return automl.fit(data.iloc[:450], "y")


def _with(predictor, temperatures):
    clone = copy.copy(predictor)
    clone.temperatures = list(temperatures)
    return clone


def test_the_fit_calibrates_its_out_of_fold_ensemble_for_log_loss(fitted, data):
    predictor = fitted.predictor_
    assert len(predictor.temperatures) == 1 and predictor.temperatures[0] > 0
    classes = [str(c) for c in predictor.classes_]
    y = np.array([classes.index(str(v)) for v in data["y"].iloc[:450]])
    oof = np.asarray(fitted.oof_)
    # the out-of-fold predictions are the calibrated ones, and score as the fit says:
    # calibrating them again finds nothing to change
    assert fit_temperature(oof, y) == pytest.approx(1.0, abs=0.02)
    metric = get_metric("logloss", predictor.task)
    assert predictor.info["ensemble_score"] == pytest.approx(metric(y, oof))


def test_other_metrics_leave_the_probabilities_as_they_are(data):
    automl = AutoML(
        metric="accuracy", models=["linear"], n_trials=1, n_folds=3, stack="off", store=False
    ).fit(data.iloc[:450], "y")
    assert automl.predictor_.temperatures == [1.0]


def test_predictions_are_tempered_and_the_temperature_is_saved(fitted, data, tmp_path):
    rows = data.iloc[450:].drop(columns="y")
    plain = _with(fitted.predictor_, [1.0]).predict_proba(rows).to_numpy()
    sharp = _with(fitted.predictor_, [0.5])
    np.testing.assert_allclose(sharp.predict_proba(rows).to_numpy(), tempered(plain, 0.5))
    assert (sharp.predict(rows) == fitted.predictor_.predict(rows)).all()  # same classes
    loaded = assay.load(sharp.save(tmp_path / "model"))
    assert loaded.temperatures == [0.5]
    np.testing.assert_allclose(
        loaded.predict_proba(rows).to_numpy(), sharp.predict_proba(rows).to_numpy()
    )


def test_a_blend_keeps_each_predictors_calibration(fitted, data, tmp_path):
    rows = data.iloc[450:].drop(columns="y")
    first, second = _with(fitted.predictor_, [0.5]), _with(fitted.predictor_, [2.0])
    blend = blend_predictors([first, second], [0.3, 0.7])
    assert blend.temperatures == [0.5, 2.0]
    want = 0.3 * first.predict_proba(rows).to_numpy() + 0.7 * second.predict_proba(rows).to_numpy()
    np.testing.assert_allclose(blend.predict_proba(rows).to_numpy(), want, atol=1e-12)
    loaded = assay.load(blend.save(tmp_path / "blend"))
    np.testing.assert_allclose(loaded.predict_proba(rows).to_numpy(), want, atol=1e-12)


def test_onnx_export_tempers_as_assay_does_and_refuses_a_blend_of_calibrations(
    fitted, data, tmp_path
):
    pytest.importorskip("onnxruntime")
    from assay.errors import ExportError
    from assay.serve._onnx import export_onnx

    rows = data.iloc[450:].drop(columns="y")
    sharp = _with(fitted.predictor_, [0.4])
    report = export_onnx(sharp, tmp_path / "model.onnx", check_rows=rows)
    assert report.max_abs_diff <= 1e-4
    blend = blend_predictors([sharp, _with(fitted.predictor_, [2.0])], [0.5, 0.5])
    with pytest.raises(ExportError, match="calibrations of their own"):
        export_onnx(blend, tmp_path / "blend.onnx", check_rows=rows)


def test_a_blend_has_a_temperature_of_its_own_and_cannot_be_blended_again(fitted, data, tmp_path):
    from assay.errors import ConfigError

    rows = data.iloc[450:].drop(columns="y")
    first, second = _with(fitted.predictor_, [0.5]), _with(fitted.predictor_, [2.0])
    blend = blend_predictors([first, second], [0.3, 0.7], temperature=0.8)
    mean = 0.3 * first.predict_proba(rows).to_numpy() + 0.7 * second.predict_proba(rows).to_numpy()
    want = tempered(mean, 0.8)
    np.testing.assert_allclose(blend.predict_proba(rows).to_numpy(), want, atol=1e-12)
    loaded = assay.load(blend.save(tmp_path / "blend"))
    assert loaded.blend_temperature == 0.8 and loaded.calibrated
    np.testing.assert_allclose(loaded.predict_proba(rows).to_numpy(), want, atol=1e-12)
    with pytest.raises(ConfigError, match="cannot be blended again"):
        blend_predictors([blend, first], [0.5, 0.5])


def test_a_blend_tempered_only_as_a_whole_exports_to_onnx(fitted, data, tmp_path):
    """Parts without temperatures of their own, blended and tempered once: one temperature
    tempers as the blend does, so the ONNX export takes it."""
    pytest.importorskip("onnxruntime")
    from assay.serve._onnx import export_onnx

    rows = data.iloc[450:].drop(columns="y")
    plain = _with(fitted.predictor_, [1.0])
    blend = blend_predictors([plain, _with(fitted.predictor_, [1.0])], [0.4, 0.6], temperature=0.7)
    assert blend.one_temperature == 0.7
    assert _with(blend, [1.0, 2.0]).one_temperature is None  # a part tempered of its own
    want = tempered(plain.predict_proba(rows).to_numpy(), 0.7)
    np.testing.assert_allclose(blend.predict_proba(rows).to_numpy(), want, atol=1e-12)
    report = export_onnx(blend, tmp_path / "blend.onnx", check_rows=rows)
    assert report.max_abs_diff <= 1e-4
