"""learn_defaults.py: replaying the fold rule and the stacking comparison on run rows."""

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import learn_defaults
from report import normalized

# per-fold seconds of the first six configs, the fold cap and the training rows: at 60 s
# (56.4 s of trials) "cheap" takes 8 folds from a share of 0.43 on, "dear" stays at 3
# below a share of 2.66 (5 folds by its rows)
N_TRAIN = {"cheap": 1_000, "dear": 5_000}
HEADS = {"cheap": ([0.5] * 6, 8, N_TRAIN["cheap"]), "dear": ([5.0] * 6, 8, N_TRAIN["dear"])}


def rows(losses: dict[str, dict[str, float]], notes: dict[tuple[str, str], str]) -> pd.DataFrame:
    return normalized(
        pd.DataFrame(
            [
                {
                    "dataset": dataset,
                    "framework": framework,
                    "fold": 0,
                    "budget_s": 60,
                    "metric": "rmse",
                    "score": loss,
                    "n_train": N_TRAIN[dataset],
                    "notes": notes.get((dataset, framework), ""),
                }
                for dataset, by_framework in losses.items()
                for framework, loss in {"constant": 1.0, **by_framework}.items()
            ]
        )
    )


def test_each_fold_rule_is_scored_by_the_runs_at_the_folds_it_picks():
    table = rows(
        {
            "cheap": {"assay-folds3": 0.3, "assay-folds5": 0.2, "assay-folds8": 0.1},
            "dear": {"assay-folds3": 0.1, "assay-folds5": 0.2, "assay-folds8": 0.3},
        },
        {},
    )
    lines = learn_defaults.learn_folds(table, HEADS)
    # the default picks 8 folds for "cheap" (its rows), 3 for "dear" (its head cost)
    rows_rule = "rows (8 under 2,000, 5 under 10,000)"
    assert f"| {rows_rule}, share 2 (default) | 1.0000 | 1 / 0 / 1 | 0 / 0 |" in lines
    # both at 3: (0.7/0.9 + 1) / 2, worse than the default on "cheap"
    assert f"| {rows_rule}, share 0.1 | 0.8889 | 2 / 0 / 0 | 0 / 1 |" in lines
    # "dear" at 5 by its rows: (0.8/0.9 + 1) / 2
    assert f"| {rows_rule}, share 3 | 0.9444 | 0 / 1 / 1 | 0 / 1 |" in lines
    assert "| head cost alone, share 0.5 | 1.0000 | 1 / 0 / 1 | 0 / 0 |" in lines
    assert "| always 3 folds | 0.8889 |  | 0 / 1 |" in lines
    assert "| best of the three per dataset | 1.0000 |  | 0 / 0 |" in lines
    assert lines[-1].startswith("Highest mean: **")


def test_the_stacking_check_is_replayed_as_a_rows_limit_against_no_stacking():
    table = rows(
        {
            "cheap": {"assay": 0.05, "assay-nostack": 0.15},
            "dear": {"assay": 0.25, "assay-nostack": 0.2},
        },
        {
            ("cheap", "assay"): "trials 30; stack used: better on held-out rows",
            ("dear", "assay"): "trials 9; stack not used: the check and the stack need ~40s, 3s",
        },
    )
    lines = learn_defaults.learn_stacking(table, HEADS)
    assert lines[0] == "## Stacking check (auto) against no stacking (2 dataset-splits)"
    # normalized: cheap 1 against 0.85/0.95; dear 0.75/0.8 against 1
    assert "| used | 1 | +0.1053 | 1 | 0 |" in lines
    assert "| skipped: no time for the check | 1 | -0.0625 | 0 | 1 |" in lines
    assert "| never (stack='off') | 0.9474 | 0 | 1 / 1 |" in lines
    assert "| 1,000 rows | 0.9474 | 0 | 1 / 1 |" in lines  # "cheap" has 1,000: not under
    assert "| 2,000 rows | 1.0000 | 1 | 1 / 0 |" in lines
    assert "| always (stack='auto', the default) | 0.9688 | 2 | 0 / 0 |" in lines


def test_without_an_assay_run_the_auto_run_is_the_one_at_the_folds_the_rule_picks():
    table = rows(
        {
            # the default rule picks 8 folds for "cheap" (its rows), 3 for "dear" (its head)
            "cheap": {"assay-folds3": 0.05, "assay-folds8": 0.1, "assay-nostack": 0.15},
            "dear": {"assay-folds3": 0.2, "assay-folds8": 0.01, "assay-nostack": 0.2},
        },
        {
            ("cheap", "assay-folds8"): "trials 30; stack used: better on held-out rows",
            ("dear", "assay-folds3"): "trials 9; stack not used: level 2 did not score better",
        },
    )
    pairs = learn_defaults.stack_pairs(table, HEADS).set_index("dataset")
    assert pairs.loc["cheap", "reason"] == "used"
    assert pairs.loc["cheap", "auto"] == pytest.approx((1.0 - 0.1) / 0.95)
    assert pairs.loc["dear", "reason"] == "checked: level 2 rejected"
    assert pairs.loc["dear", "auto"] == pairs.loc["dear", "off"]


def test_family_time_is_set_against_the_weight_it_earns():
    def trial(model: str, fit_s: float, weight: float | None) -> dict:
        return {"model": model, "fit_s": fit_s, "weight": weight}

    logs = [
        {"trials": [trial("mlp", 30.0, None), trial("lightgbm", 10.0, 1.0)]},
        {"trials": [trial("mlp", 10.0, 0.5), trial("lightgbm", 10.0, 0.5), trial("knn", 0, None)]},
        {"trials": [{"model": "mlp", "fit_s": 1.0}]},  # a log from before weights: left out
    ]
    lines = learn_defaults.family_time_and_weight(logs)
    assert lines[0] == "## Time and ensemble weight by family (2 fit logs)"
    assert lines[4:] == [  # by time share, largest first
        "| mlp | 0.625 | 0.250 | 1 of 2 |",
        "| lightgbm | 0.375 | 0.750 | 2 of 2 |",
        "| knn | 0.000 | 0.000 | 0 of 2 |",
    ]


def test_the_deployment_is_replayed_by_training_rows():
    """Refitting pays on the larger dataset only: refit from a row count between the two is
    best, and each grid row counts its refits and its wins over always bagging."""
    table = rows(
        {
            "cheap": {"assay-bagged": 0.1, "assay-fast": 0.2},  # 1,000 rows: bagged wins
            "dear": {"assay-bagged": 0.2, "assay-fast": 0.1},  # 5,000 rows: fast wins
        },
        {},
    ).assign(peak_memory_mb=500.0)
    lines = learn_defaults.learn_deploy(table)
    assert "| cheap | 0 | 1,000 | 1.0000 | 0.8889 | no | 500 / 500 |" in lines
    assert "| dear | 0 | 5,000 | 0.8889 | 1.0000 | yes | 500 / 500 |" in lines
    assert "| always (fast) | 0.9444 | 2 | 1 / 1 |" in lines
    assert "| 2,000 rows | 1.0000 | 1 | 1 / 0 |" in lines
    assert "| never (bagged) | 0.9444 | 0 | 0 / 0 |" in lines
    missing = learn_defaults.learn_deploy(table[table.framework != "assay-fast"])
    assert missing == ["No assay-bagged and assay-fast rows side by side: run them first."]
