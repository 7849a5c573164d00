"""Each figure shows what it claims: order, legends, colours, and honest empty states."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.errors import ConfigError
from assay.report import (
    confusion_matrix,
    ensemble_weights,
    fold_scores,
    format_value,
    importance_bars,
    missing_values,
    partial_dependence,
    pr_curves,
    residual_plots,
    roc_curves,
    search_progress,
    shap_summary,
    target_distribution,
)


def _is_note(fig) -> bool:
    return len(fig.data) == 0 and len(fig.layout.annotations) == 1


def test_every_figure_has_title_axes_and_compact_height():
    rng = np.random.default_rng(0)
    figs = [
        target_distribution(rng.normal(size=50), False),
        fold_scores(["a", "b"], [0.8, 0.7], [0.01, 0.02]),
        residual_plots(rng.normal(size=50), rng.normal(size=50)),
        roc_curves(rng.integers(0, 2, 50), rng.random(50), [0, 1]),
    ]
    for fig in figs:
        assert fig.layout.title.text
        assert fig.layout.xaxis.title.text
        assert 150 <= fig.layout.height <= 900


def test_target_distribution_counts_classes_and_handles_empty():
    fig = target_distribution(["b", "a", "b", None, "b"], True)
    assert list(fig.data[0].x) == ["a", "b"] and list(fig.data[0].y) == [1, 3]
    assert _is_note(target_distribution([], True))
    assert _is_note(target_distribution([np.nan, np.nan], False))


def test_missing_values_sorted_worst_first_or_none():
    frame = pd.DataFrame({"a": [1, None, None, None], "b": [1, 2, None, 4], "c": [1, 2, 3, 4]})
    fig = missing_values(frame)
    # Horizontal bars are drawn bottom-up, so the worst column is the last entry.
    assert list(fig.data[0].y) == ["b", "a"]
    assert list(fig.data[0].x) == [0.25, 0.75]
    assert missing_values(frame[["c"]]) is None
    assert missing_values(pd.DataFrame()) is None


def test_search_progress_running_best_follows_direction():
    t, s, m = [3.0, 1.0, 2.0, 4.0], [0.5, 0.7, np.nan, 0.6], ["x", "y", "x", "y"]
    up = search_progress(t, s, m, greater_is_better=True)
    best = up.data[-1]
    assert list(best.x) == [1.0, 3.0, 4.0] and list(best.y) == [0.7, 0.7, 0.7]
    down = search_progress(t, s, m, greater_is_better=False).data[-1]
    assert list(down.y) == [0.7, 0.5, 0.5]
    assert {trace.name for trace in up.data[:-1]} == {"x", "y"}
    assert _is_note(search_progress([1.0], [np.nan], ["x"], True))
    with pytest.raises(ConfigError, match="`models` has 1"):
        search_progress([1.0, 2.0], [0.1, 0.2], ["x"], True)


def test_fold_scores_keep_rank_order_and_repeated_names():
    fig = fold_scores(["lgbm", "lgbm", "knn"], [0.9, 0.8, 0.7], [0.01, np.nan, 0.02])
    assert list(fig.data[0].y) == ["#1 lgbm", "#2 lgbm (2)", "#3 knn"]
    assert list(fig.data[0].error_x.array) == [0.01, 0.0, 0.02]


def test_ensemble_weights_largest_on_top():
    fig = ensemble_weights(["a", "b", "c"], [0.2, 0.5, 0.3])
    assert list(fig.data[0].y) == ["a", "c", "b"]  # bottom-up: "b" is drawn on top
    assert _is_note(ensemble_weights([], []))


def test_roc_and_pr_binary_draw_the_positive_class_with_scores_in_legend():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    roc = roc_curves(y, p, ["neg", "pos"])
    assert roc.data[0].name == "pos (AUC 0.889)"
    assert roc.data[-1].name == "chance"
    pr = pr_curves(y, np.column_stack([1 - p, p]), ["neg", "pos"])
    assert pr.data[0].name.startswith("pos (AP ")
    assert list(pr.data[-1].y) == [0.5, 0.5]  # the base rate


def test_roc_multiclass_one_vs_rest_skips_absent_classes():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 60)
    proba = rng.dirichlet(np.ones(4), 60)
    fig = roc_curves(y, proba, ["a", "b", "c", "never"])
    curves = [trace.name for trace in fig.data if trace.name != "chance"]
    assert [name.split(" (")[0] for name in curves] == ["a", "b", "c"]
    assert "no curve for never" in fig.layout.title.text
    with pytest.raises(ConfigError, match="`proba`"):
        roc_curves(y, proba[:, :3], ["a", "b", "c", "d"])
    with pytest.raises(ConfigError, match="`y` must hold class indices"):
        pr_curves(np.array(["a", "b"]), [[0.5, 0.5], [0.5, 0.5]], ["a", "b"])


def test_confusion_matrix_counts_and_row_shares():
    fig = confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["<no>", "yes"])
    heat = fig.data[0]
    assert np.array_equal(heat.z, [[1, 1], [1, 2]])
    assert np.allclose(heat.customdata, [[0.5, 0.5], [1 / 3, 2 / 3]])
    assert list(heat.x) == ["&lt;no&gt;", "yes"]  # plotly renders entities, not tags


def test_residual_plots_draw_identity_and_zero_lines():
    fig = residual_plots([1.0, 2.0, 3.0, np.nan], [1.5, 2.0, 2.0, 1.0])
    points, identity, residuals = fig.data
    assert list(points.x) == [1.0, 2.0, 3.0]  # the row with a missing target is left out
    assert list(identity.x) == [1.0, 3.0] and list(identity.y) == [1.0, 3.0]
    assert list(residuals.y) == [-0.5, 0.0, 1.0]
    assert fig.layout.shapes[0].y0 == 0 and fig.layout.shapes[0].y1 == 0
    assert _is_note(residual_plots([np.nan], [1.0]))


def test_importance_bars_sorted_with_asymmetric_intervals():
    fig = importance_bars(["a", "b", "c"], [0.1, 0.3, 0.2], [0.0, 0.25, 0.1], [0.3, 0.4, 0.2], "T")
    bar = fig.data[0]
    assert list(bar.y) == ["b", "c", "a"] and fig.layout.yaxis.autorange == "reversed"
    assert np.allclose(bar.error_x.array, [0.1, 0.0, 0.2])
    assert np.allclose(bar.error_x.arrayminus, [0.05, 0.1, 0.1])


def test_shap_summary_orders_features_and_colours_by_rank():
    rng = np.random.default_rng(0)
    n = 200
    values = rng.normal(size=(n, 3)) * np.array([0.1, 5.0, 1.0])
    frame = pd.DataFrame(
        {"x": rng.normal(size=n), "y": np.arange(n) * 1e6, "kind": rng.choice(["u", "v"], n)}
    )
    fig = shap_summary(values, frame, ["x", "y", "kind"], max_features=2)
    assert list(fig.layout.yaxis.ticktext) == ["y", "kind"]
    coloured, grey = fig.data[0], fig.data[1]
    assert np.allclose(sorted(coloured.marker.color), np.linspace(0, 1, n))  # ranks, 0..1
    assert grey.marker.color == "#9e9e9e" and len(grey.x) == n  # categories have no order
    assert "top 2 of 3" in fig.layout.title.text
    with pytest.raises(ConfigError, match="one class"):
        shap_summary(np.zeros((5, 3, 2)), frame.iloc[:5], ["x", "y", "kind"])


def test_partial_dependence_numeric_categorical_and_ice():
    grid = np.linspace(0, 1, 5)
    ice = np.tile(grid, (3, 1))
    fig = partial_dependence("age", grid, grid, ice)
    lines, average = fig.data
    assert sum(v is None for v in lines.x) == 3  # three ICE rows in one trace
    assert average.mode == "lines+markers"
    cat = partial_dependence("city", ["Oslo", "Lima"], [0.2, 0.5])
    assert cat.layout.xaxis.type == "category" and list(cat.data[0].x) == ["Oslo", "Lima"]
    with pytest.raises(ConfigError, match="`ice`"):
        partial_dependence("age", grid, grid, np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.123456, "0.1235"),
        (1234567.8, "1,234,568"),
        (12345, "12345"),
        (float("nan"), "–"),
        (None, "–"),
        (True, "True"),
        (1.5e-7, "1.5e-07"),
        ("<b>", "<b>"),  # escaping happens when the cell is written, once
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text
