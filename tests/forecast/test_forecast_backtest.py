"""Rolling-origin backtests never let a value after an origin reach a model or a feature."""

import numpy as np

from assay.forecast import (
    Backtest,
    GlobalLightGBM,
    SeriesSet,
    read_long,
    rolling_origins,
)

HUGE = 1e12


def _poison_after(data: SeriesSet, cut_from_end: int) -> SeriesSet:
    """Every value after `len - cut_from_end` (the origin) replaced by a huge number."""
    values = []
    for y in data.values:
        y = y.copy()
        y[len(y) - cut_from_end :] = HUGE
        values.append(y)
    return SeriesSet(data.ids, values, data.starts, data.freq)


def test_origins_step_back_from_the_end_without_overlap():
    origins = rolling_origins(horizon=6, n_origins=3)
    assert [o.holdout for o in origins] == [6, 12, 18]
    assert all(o.horizon == 6 for o in origins)


def test_each_origin_sees_only_the_history_before_it(seasonal):
    origins = rolling_origins(horizon=12, n_origins=3)
    seen = []

    def spy(history: SeriesSet):
        seen.append([y.copy() for y in history.values])
        return [np.full(12, y[-1]) for y in history.values]

    backtest = Backtest.prepare(seasonal, origins, season=12)
    backtest.run(seasonal, spy)
    for origin, histories in zip(origins, seen, strict=True):
        for full, history in zip(seasonal.values, histories, strict=True):
            assert len(history) == len(full) - origin.holdout  # training window ends before
            assert np.array_equal(history, full[: len(history)])  # a prefix: never shuffled
    start = sum(len(s) for s in seen[:1])
    expected = [y[len(y) - 24 : len(y) - 12] for y in seasonal.values]  # second origin's truth
    assert np.array_equal(backtest.actual[start : start + len(expected)], np.array(expected))


def test_features_at_or_before_an_origin_ignore_the_future(hourly_long):
    data = read_long(hourly_long, "ts", "sales", "store")  # timestamps: calendar features too
    holdout = 48
    origin = int(data.lengths[0]) - holdout - 1  # index of the last value a model may see
    poisoned = _poison_after(data, holdout)
    for strategy in ("recursive", "direct"):
        model = GlobalLightGBM(horizon=24, season=24, strategy=strategy, n_rounds=5, n_jobs=1)
        model.fit(data.head(holdout))
        cutoffs = np.arange(origin - 30, origin + 1)
        clean = model.design(data, 0, cutoffs)
        dirty = model.design(poisoned, 0, cutoffs)
        assert clean.tobytes() == dirty.tobytes()  # bit-identical
        later = model.design(poisoned, 0, np.array([origin + 1]))  # the check can fail:
        assert not np.array_equal(later, model.design(data, 0, np.array([origin + 1])))


def test_backtest_forecasts_at_an_origin_ignore_later_values(seasonal):
    origins = rolling_origins(horizon=12, n_origins=2)
    earliest = origins[-1].holdout
    poisoned = _poison_after(seasonal, earliest)

    def global_model(history: SeriesSet):
        model = GlobalLightGBM(horizon=12, season=12, n_rounds=20, n_jobs=1, random_state=3)
        return model.fit(history).predict(history)

    clean = Backtest.prepare(seasonal, origins, 12).run(seasonal, global_model)
    dirty = Backtest.prepare(poisoned, origins, 12).run(poisoned, global_model)
    n = len(seasonal.values)
    assert np.array_equal(clean[n:], dirty[n:])  # the earliest origin: bit-identical
    assert not np.array_equal(clean[:n], dirty[:n])  # the latest origin saw the poison
