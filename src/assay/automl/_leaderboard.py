"""The leaderboard: every ensemble candidate's score, its spread across folds, and whether
the top entry is really better than the others (the corrected resampled t-test on the same
folds; for the top two also a paired bootstrap on the out-of-fold predictions)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from assay.evaluate._stats import compare_predictions, corrected_ttest, fold_scores

# The ensemble's weights are chosen on the same out-of-fold predictions it is scored on, so
# its edge over a single model is optimistic; the report says so next to the test.
ENSEMBLE_CAVEAT = (
    "The ensemble's weights were chosen on these out-of-fold predictions, so its advantage "
    "over a single model is optimistic; test it on held-out data with `assay compare`."
)


def build_leaderboard(
    entries: list[dict[str, Any]],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    metric,
    *,
    random_state: int = 0,
    w: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict | None]:
    """`entries`: dicts with model, level, weight, fit_time_s, predict_time_s, config and
    `oof` (out-of-fold predictions on `folds`), best first; `w` the row weights of the
    scores. Returns the table and the test of the top entry against the runner-up (None
    with a single entry; the paired bootstrap there does not weigh rows)."""
    per_fold = [fold_scores(metric, y, e["oof"], folds, w) for e in entries]
    n_test = float(np.mean([len(v) for _, v in folds]))
    n_train = float(np.mean([len(t) for t, _ in folds]))
    rows = []
    for i, (entry, scores) in enumerate(zip(entries, per_fold, strict=True)):
        p = np.nan
        if i > 0 and _n_scored(per_fold[0] - scores) >= 2:
            p = corrected_ttest(per_fold[0] - scores, n_train, n_test).p_value
        rows.append(
            {
                "rank": i,
                "model": entry["model"],
                "level": entry["level"],
                "score": entry["score"],
                "fold_mean": float(np.nanmean(scores)),
                "fold_std": float(np.nanstd(scores, ddof=1)) if _n_scored(scores) > 1 else np.nan,
                "p_vs_top": p,
                "weight": entry["weight"],
                "fit_time_s": entry["fit_time_s"],
                "predict_time_s": entry["predict_time_s"],
                "config": entry["config"],
            }
        )
    board = pd.DataFrame(rows)
    if len(entries) < 2 or _n_scored(per_fold[0] - per_fold[1]) < 2:
        return board, None  # e.g. a class too rare to be in every fold: no fold score
    top, second = entries[0], entries[1]
    comparison = compare_predictions(
        (_label(top), _label(second)),
        y,
        top["oof"],
        second["oof"],
        folds,
        metric,
        random_state=random_state,
    )
    significance = comparison.to_dict()
    if top["model"] == "ensemble":
        significance["caveat"] = ENSEMBLE_CAVEAT
    return board, significance


def _n_scored(diffs: np.ndarray) -> int:
    """Folds where both scores exist (the metric is undefined on a fold that lacks a class)."""
    return int(np.isfinite(diffs).sum())


def _label(entry: dict) -> str:
    return (
        entry["model"]
        if entry["level"] == 1 or entry["model"] == "ensemble"
        else (f"{entry['model']}@L2")
    )
