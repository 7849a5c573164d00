import json

import numpy as np
import pandas as pd

from assay import FeatureType
from assay.features import Encoding, TabularEncoder

TYPES = {
    "num": FeatureType.NUMERIC,
    "cat": FeatureType.CATEGORICAL,
    "flag": FeatureType.BOOLEAN,
    "when": FeatureType.DATETIME,
}


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "num": [1.0, np.nan, 3.0, 4.0],
            "cat": ["a", "b", None, "a"],
            "flag": ["yes", "no", "yes", None],
            "when": ["2024-01-01", "2024-02-03 10:00", None, "2025-12-31"],
        }
    )


def test_native_keeps_categories_and_missing():
    out = TabularEncoder(Encoding.NATIVE, TYPES).fit_transform(frame())
    assert isinstance(out["cat"].dtype, pd.CategoricalDtype)
    assert list(out["cat"].cat.categories) == ["a", "b"]
    assert out["cat"].isna().tolist() == [False, False, True, False]
    assert np.isnan(out["num"].iloc[1])
    assert out["flag"].tolist()[:3] == [1.0, 0.0, 1.0]
    assert out["when__year"].tolist()[0] == 2024


def test_unseen_category_at_predict_time_becomes_missing():
    encoder = TabularEncoder(Encoding.ORDINAL, TYPES).fit(frame())
    new = frame().assign(cat=["zzz", "a", "b", "never"])
    codes = encoder.transform(new)[:, encoder.feature_names_out().index("cat")]
    assert codes.tolist() == [-1.0, 0.0, 1.0, -1.0]


def test_onehot_has_no_missing_and_is_standardized():
    encoder = TabularEncoder(Encoding.ONEHOT, TYPES).fit(frame())
    out = encoder.transform(frame())
    names = encoder.feature_names_out()
    assert not np.isnan(out).any()
    assert out.shape[1] == len(names)
    assert "num__missing" in names and "cat==a" in names
    assert abs(out[:, names.index("num")].mean()) < 1e-9


def test_state_round_trips_through_json_bit_identically():
    for encoding in Encoding:
        encoder = TabularEncoder(encoding, TYPES).fit(frame())
        again = TabularEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
        a, b = encoder.transform(frame()), again.transform(frame())
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        else:
            assert np.array_equal(a, b, equal_nan=True)
