"""Small synthetic series for the forecasting tests."""

import numpy as np
import pandas as pd
import pytest

from assay.forecast import SeriesSet


def seasonal_series(n_series=12, length=240, season=12, seed=0) -> list[np.ndarray]:
    """Trend x season x noise at different scales: the shapes M4 is full of."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    out = []
    for i in range(n_series):
        level = 10 ** rng.uniform(1, 4)
        pattern = 1 + 0.3 * np.sin(2 * np.pi * (t + i) / season)
        trend = 1 + rng.uniform(-0.001, 0.003) * t
        out.append(level * pattern * trend * (1 + 0.03 * rng.normal(size=length)))
    return out


@pytest.fixture
def make_seasonal():
    return seasonal_series


@pytest.fixture
def seasonal() -> SeriesSet:
    values = seasonal_series()
    return SeriesSet([f"s{i}" for i in range(len(values))], values)


@pytest.fixture
def hourly_long() -> pd.DataFrame:
    """Three hourly series in long layout, rows shuffled (the reader must sort them)."""
    values = seasonal_series(n_series=3, length=24 * 14, season=24, seed=1)
    frames = [
        pd.DataFrame(
            {
                "store": f"store-{i}",
                "ts": pd.date_range("2024-03-01", periods=len(y), freq="h"),
                "sales": y,
            }
        )
        for i, y in enumerate(values)
    ]
    return pd.concat(frames).sample(frac=1.0, random_state=0).reset_index(drop=True)
