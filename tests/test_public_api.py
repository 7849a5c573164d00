"""The names `from assay import ...` gives users, and that they are the ones assay uses."""

import subprocess
import sys

import pandas as pd

import assay
from assay import FeatureType, Task
from assay.data import infer_schema


def test_all_lists_the_entry_points_and_the_closed_sets():
    assert sorted(assay.__all__) == sorted(
        [
            "AutoML",
            "AutoClassifier",
            "AutoRegressor",
            "Predictor",
            "load",
            "make_metric",
            "Task",
            "FeatureType",
        ]
    )
    for name in assay.__all__:
        assert getattr(assay, name) is not None


def test_public_enums_are_the_ones_a_schema_holds():
    frame = pd.DataFrame({"x": [1.5, 2.5, 3.5] * 10, "c": ["a", "b", "c"] * 10, "y": [0, 1] * 15})
    schema = infer_schema(frame, target="y")
    assert schema["x"].type is FeatureType.NUMERIC
    assert schema["c"].type is FeatureType.CATEGORICAL
    assert Task("binary").is_classification and not Task.REGRESSION.is_classification


def test_importing_the_public_names_stays_light():
    code = "import sys; from assay import FeatureType, NotFittedError, Task; print(*sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "assay._types" in loaded.stdout.split()
    for heavy in ("sklearn", "pandas", "numpy", "assay.automl"):
        assert heavy not in loaded.stdout.split()
