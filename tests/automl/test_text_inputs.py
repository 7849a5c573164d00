"""Text, text-pair and date columns through AutoML, the saved predictor and the CLI."""

import os
import subprocess
import sys

import numpy as np
import pytest

from assay import load
from assay.automl import AutoML
from assay.errors import ConfigError
from assay.testing import toy_paraphrases, toy_reviews


def fit(frame, target, **kwargs):
    # linear and knn only: boosters on a perfectly separating text score run many rounds
    automl = AutoML(
        n_trials=2, models=["linear", "knn"], store=False, embed=False, stack="off", **kwargs
    )
    return automl.fit(frame, target).predictor_


def test_text_column_learned_from_words(tmp_path):
    train, test = toy_reviews(400), toy_reviews(200, seed=1)
    predictor = fit(train, "stars")
    assert predictor.derived is not None and predictor.derived.text_columns == ["review"]
    accuracy = (predictor.predict(test) == test["stars"]).mean()
    assert accuracy > 0.9  # chars/words counts alone cannot tell the classes apart
    loaded = load(predictor.save(tmp_path / "p"))
    np.testing.assert_allclose(
        loaded.predict_proba(test).to_numpy(), predictor.predict_proba(test).to_numpy()
    )


def test_detected_pair_gets_pair_features():
    train, test = toy_paraphrases(300), toy_paraphrases(100, seed=1)
    predictor = fit(train, "label")
    assert predictor.derived.pairs == [("sentence1", "sentence2")]
    assert (predictor.predict(test) == test["label"]).mean() > 0.9


def test_embed_on_without_the_extra_or_bad_value_is_a_clear_error():
    with pytest.raises(ConfigError, match="embed"):
        AutoML(embed="yes", store=False).fit(toy_reviews(40), "stars")


def test_cli_fit_with_a_declared_pair(tmp_path):
    data = tmp_path / "pairs.csv"
    toy_paraphrases(200).rename(columns={"sentence1": "left", "sentence2": "right"}).to_csv(
        data, index=False
    )
    args = ["fit", str(data), "--target", "label", "--trials", "2", "--models", "linear"]
    args += [
        "--embed",
        "off",
        "--stack",
        "off",
        "--out",
        str(tmp_path / "p"),
        "--pair",
        "left",
        "right",
    ]
    env = {**os.environ, "ASSAY_HOME": str(tmp_path / "home")}
    run = subprocess.run(
        [sys.executable, "-m", "assay", *args], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    assert load(tmp_path / "p").derived.pairs == [("left", "right")]
    bad = subprocess.run(
        [sys.executable, "-m", "assay", *args[:-2], "lefft", "right"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 3
    assert "'lefft'" in bad.stderr and "did you mean 'left'" in bad.stderr
