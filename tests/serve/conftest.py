"""One small fitted predictor for the service, fuzzing and export tests: numbers with
missing values, a category, a flag and a date, so every kind of column is requested."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def churn_frame(n_rows: int = 300, random_state: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(random_state)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n_rows).round(1),
            "income": rng.lognormal(10, 1, n_rows).round(2),
            "city": rng.choice(["paris", "lyon", "nice"], n_rows),
            "vip": rng.choice([True, False], n_rows),
            "joined": pd.date_range("2020-01-01", periods=n_rows, freq="D").astype(str),
        }
    )
    frame.loc[rng.random(n_rows) < 0.1, "income"] = np.nan
    logit = (frame["age"] - 40) / 10 + (frame["city"] == "paris") + frame["vip"]
    frame["churn"] = np.where(rng.random(n_rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame


@pytest.fixture(scope="session")
def churn() -> pd.DataFrame:
    return churn_frame()


@pytest.fixture(scope="session")
def saved_predictor(churn, tmp_path_factory):
    """(folder, Predictor): two trials (LightGBM and linear), no store."""
    from assay import AutoML

    automl = AutoML(n_trials=2, models=["lightgbm", "linear"], stack="off", store=False,
                    random_state=0)  # fmt: skip
    automl.fit(churn, target="churn")
    folder = tmp_path_factory.mktemp("served") / "predictor"
    automl.predictor_.save(folder)
    return folder, automl.predictor_
