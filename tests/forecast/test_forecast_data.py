"""Reading long and wide (M4) data, and the errors a user sees for bad input."""

import numpy as np
import pandas as pd
import pytest

from assay.errors import DataError, TargetError
from assay.forecast import Forecaster, from_long, read_wide


def test_long_data_is_sorted_into_series(hourly_long):
    data = from_long(hourly_long, "ts", "sales", "store")
    assert data.ids == ["store-0", "store-1", "store-2"] and data.freq == "h"
    first = hourly_long[hourly_long["store"] == "store-0"].sort_values("ts")["sales"]
    assert np.array_equal(data.values[0], first.to_numpy())


def test_integer_time_counts_steps(hourly_long):
    stepped = hourly_long.assign(t=hourly_long.groupby("store")["ts"].rank().astype(int))
    data = from_long(stepped, "t", "sales", "store")
    assert data.starts is None and data.freq is None
    assert np.array_equal(data.values[1], from_long(hourly_long, "ts", "sales", "store").values[1])
    with pytest.raises(DataError, match="gap after 4"):
        from_long(stepped[stepped["t"] != 5], "t", "sales", "store")


def test_missing_time_column_is_named(hourly_long):
    with pytest.raises(DataError, match=r"Time column 'date' is not in .*'ts'"):
        from_long(hourly_long, "date", "sales", "store")


def test_missing_target_column_is_named(hourly_long):
    with pytest.raises(TargetError, match="Target column 'revenue'"):
        from_long(hourly_long, "ts", "revenue", "store")


def test_unparseable_times_are_reported(hourly_long):
    bad = hourly_long.astype({"ts": str})
    bad.loc[5, "ts"] = "next tuesday"
    with pytest.raises(DataError, match=r"'ts'.*'next tuesday'"):
        from_long(bad, "ts", "sales", "store")


def test_duplicated_id_time_pairs_are_reported(hourly_long):
    doubled = pd.concat([hourly_long, hourly_long.head(1)])
    with pytest.raises(DataError, match=r"repeated \(id, time\)"):
        from_long(doubled, "ts", "sales", "store")


def test_non_numeric_target_is_reported(hourly_long):
    bad = hourly_long.astype({"sales": object})
    bad.loc[3, "sales"] = "n/a today"
    with pytest.raises(TargetError, match=r"'sales'.*not numeric.*'n/a today'"):
        from_long(bad, "ts", "sales", "store")


def test_gaps_in_time_are_reported(hourly_long):
    gappy = hourly_long.drop(index=hourly_long[hourly_long["store"] == "store-1"].index[10])
    with pytest.raises(DataError, match=r"store-1.*gap"):
        from_long(gappy, "ts", "sales", "store")


def test_too_short_series_for_the_horizon(hourly_long):
    short = hourly_long[hourly_long["ts"] < "2024-03-01 05:00"]
    with pytest.raises(DataError, match=r"too short for horizon 12.*store-0"):
        Forecaster(horizon=12).fit(short, time="ts", target="sales", id="store")


def test_wide_m4_layout_is_ragged(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('"V1","V2","V3","V4","V5"\n"W1","1","2","3","4"\n"W2","5","6","",""\n')
    data = read_wide(path)
    assert data.ids == ["W1", "W2"]
    assert [list(v) for v in data.values] == [[1, 2, 3, 4], [5, 6]]
    path.write_text('"V1","V2","V3","V4"\n"W1","1","x","3"\n')
    with pytest.raises(DataError, match="'W1', column 'V3' is not a number"):
        read_wide(path)
    path.write_text('"V1","V2","V3","V4"\n"W1","1","","3"\n')
    with pytest.raises(DataError, match="'W1' is empty or has an empty cell"):
        read_wide(path)
