"""The offline planner: plain-English requests to the standard tool plan. Each row is a
phrasing, what the session knows, the exact sequence of tools, and the arguments that matter."""

from __future__ import annotations

import json

import pytest

from assay.agent import TOOL_NAMES, Plan, PlannedCall, plan_request
from assay.agent._phrases import (
    CLASSIFICATION_METRICS,
    MODEL_NAMES,
    OPTIONAL_MODELS,
    REGRESSION_METRICS,
)

CHURN = ["customerID", "tenure", "MonthlyCharges", "Contract", "Churn"]
HOUSE = ["Id", "LotArea", "YearBuilt", "SalePrice"]
LOADED = {"data": "customers.csv", "fitted": False}  # described, no target yet
FITTED = {"data": "customers.csv", "target": "Churn", "metric": "auc", "fitted": True}
HOUSES = {"data": "houses.csv", "fitted": False}
ON_CHURN = {"columns": CHURN, "state": LOADED}
ON_HOUSES = {"columns": HOUSE, "state": HOUSES}
AFTER_FIT = {"columns": CHURN, "state": FITTED}
NO_MLP = [n for n in MODEL_NAMES if n not in OPTIONAL_MODELS]
D, S, F, L, E = "describe_data", "set_target", "fit", "leaderboard", "explain"
ST, C, R, P, CODE = "stats", "compare", "report", "predict", "run_code"
STANDARD = f"{S} {F} {L}"

# (request, plan_request keywords, the tools in order, {tool: the arguments that matter})
CASES = [
    # -- from scratch: the data file in the request ----------------------------------------
    (
        "predict churn in customers.csv, optimise F1, ten minutes, and tell me what drives it",
        {"columns": CHURN},
        f"{D} {S} {F} {L} {E}",
        {D: {"path": "customers.csv"}, S: {"target": "Churn", "metric": "f1"},
         F: {"time_limit_s": 600}},
    ),
    (
        "predict churn in customers.csv",
        {"columns": CHURN},
        f"{D} {S} {F} {L}",
        {S: {"target": "Churn", "metric": None, "task": None},
         F: {"time_limit_s": 60, "models": None}},
    ),
    (
        "Please predict Churn in data/customers.csv.gz within 10 seconds using only linear, "
        "and explain it",
        {},
        f"{D} {S} {F} {L} {E}",
        {D: {"path": "data/customers.csv.gz"}, S: {"target": "Churn"},
         F: {"time_limit_s": 10, "models": ["linear"]}, E: {"top": 10}},
    ),
    (
        "Can you build me a model to predict churn using customers.csv? I have about 20 minutes.",
        {"columns": CHURN},
        f"{D} {S} {F} {L}",
        {S: {"target": "Churn"}, F: {"time_limit_s": 1200}},
    ),
    (
        "use builtin:iris, the target is species, multiclass, 2 minutes",
        {},
        f"{D} {S} {F} {L}",
        {D: {"path": "builtin:iris"}, S: {"target": "species", "task": "multiclass"}},
    ),
    (
        "forecast SalePrice from '/data/my houses.parquet' with RMSE in an hour",
        {"columns": HOUSE},
        f"{D} {S} {F} {L}",
        {D: {"path": "/data/my houses.parquet"}, S: {"target": "SalePrice", "metric": "rmse"},
         F: {"time_limit_s": 3600}},
    ),
    (
        "train on train.csv and predict test.csv into preds.csv",
        {"columns": HOUSE, "state": {"target": "SalePrice"}},
        f"{D} {S} {F} {L} {P}",
        {D: {"path": "train.csv"}, S: {"target": "SalePrice"},
         P: {"path": "test.csv", "out": "preds.csv"}},
    ),
    (
        "train on houses.arff to predict the sale price, then score new.tsv and save to out.csv",
        {"columns": HOUSE},
        f"{D} {S} {F} {L} {P}",
        {D: {"path": "houses.arff"}, S: {"target": "SalePrice"},
         P: {"path": "new.tsv", "out": "out.csv"}},
    ),
    (
        "predict churn in customers.csv, then predict on new.csv",
        {"columns": CHURN},
        f"{D} {S} {F} {L} {P}",
        {P: {"path": "new.csv", "out": None}},
    ),
    (
        "please predict the Churn column in customers.csv for 15 mins, optimizing for balanced "
        "accuracy, and produce a summary report at report.html",
        {"columns": CHURN},
        f"{D} {S} {F} {L} {R}",
        {S: {"metric": "balanced_accuracy"}, F: {"time_limit_s": 900},
         R: {"path": "report.html"}},
    ),
    (
        "predict churn and give me an HTML report, p-values and compare models",
        ON_CHURN,
        f"{S} {F} {L} {ST} {C} {R}",
        {R: {"path": None}},
    ),
    (
        "predict churn in other.csv",
        AFTER_FIT,
        f"{D} {S} {F} {L}",
        {D: {"path": "other.csv"}, S: {"target": "Churn"}},
    ),
    # -- how the target is named, and resolved against the columns --------------------------
    *[
        (said, kwargs, STANDARD, {S: {"target": target}})
        for said, kwargs, target in [
            ("the target is Churn", ON_CHURN, "Churn"),
            ("Churn as the target", ON_CHURN, "Churn"),
            ("Run AutoML with target Churn", ON_CHURN, "Churn"),
            ("target = Churn", ON_CHURN, "Churn"),
            ("classify churn", ON_CHURN, "Churn"),
            ("model churn", ON_CHURN, "Churn"),
            ("predict whether a customer will churn", ON_CHURN, "Churn"),
            ("predict churn", {"columns": ["tenure", "Churned"], "state": LOADED}, "Churned"),
            ("predict churn", {"columns": ["tenure", "churn_flag"], "state": LOADED}, "churn_flag"),
            ("predict churn", {"columns": ["Churn", "churn_flag"], "state": LOADED}, "Churn"),
            ("predict price", ON_HOUSES, "SalePrice"),
            ("predict the sale price", {"columns": ["SalePrice", "price_usd"], "state": HOUSES},
             "SalePrice"),
            ("predict house prices", {"columns": ["Id", "price_usd"], "state": HOUSES},
             "price_usd"),
            ("use 'Sale Price' as the target", {"columns": ["Sale Price", "Id"], "state": HOUSES},
             "Sale Price"),
            ("now predict MonthlyCharges", AFTER_FIT, "MonthlyCharges"),
        ]
    ],
    ("what drives churn?", ON_CHURN, f"{STANDARD} {E}", {S: {"target": "Churn"}}),
    ("why do customers churn?", ON_CHURN, f"{STANDARD} {E}", {S: {"target": "Churn"}}),
    ("How does tenure affect churn?", ON_CHURN, f"{STANDARD} {E}", {S: {"target": "Churn"}}),
    ("explain churn", ON_CHURN, f"{STANDARD} {E}", {S: {"target": "Churn"}}),
    ("SalePrice, rmse, 5 minutes", ON_HOUSES, STANDARD, {S: {"metric": "rmse"}}),
    # -- time budgets ----------------------------------------------------------------------
    *[
        (f"predict Churn {said}", ON_CHURN, STANDARD, {F: {"time_limit_s": seconds}})
        for said, seconds in [
            ("in ten minutes", 600),
            ("10 min", 600),
            ("5m", 300),
            ("within 90 seconds", 90),
            ("for 1.5 hours", 5400),
            ("in an hour", 3600),
            ("in half an hour", 1800),
            ("in 2 minutes", 120),
            ("with a budget of 300s", 300),
            ("twenty-five minutes", 1500),
            ("in sixty seconds", 60),
            ("an hour and a half", 5400),
            ("1h30m", 5400),
            ("a quarter of an hour", 900),
            ("forty five seconds", 45),
            ("for 3 hrs", 10800),
            ("two and a half minutes", 150),
            ("take 1 hour 15 minutes", 4500),
            ("spend a couple of minutes", 120),
            ("a ten-minute budget", 600),
            ("in one minute", 60),
        ]
    ],
    # -- metrics and tasks -----------------------------------------------------------------
    *[
        (f"predict Churn, {said}", ON_CHURN, STANDARD, {S: {"metric": metric}})
        for said, metric in [
            ("optimise F1", "f1"),
            ("maximize AUC", "auc"),
            ("ROC AUC", "auc"),
            ("area under the ROC curve", "auc"),
            ("log loss", "logloss"),
            ("minimise cross-entropy", "logloss"),
            ("judged by accuracy", "accuracy"),
            ("balanced accuracy", "balanced_accuracy"),
            ("use the f1-score", "f1"),
            ("metric: logloss", "logloss"),
        ]
    ],
    *[
        (f"predict SalePrice, {said}", ON_HOUSES, STANDARD, {S: {"metric": metric}})
        for said, metric in [
            ("by RMSE", "rmse"),
            ("minimize mean absolute error", "mae"),
            ("R squared", "r2"),
            ("optimise R2", "r2"),
            ("root mean squared error", "rmse"),
            ("MSE", "rmse"),
        ]
    ],
    ("predict SalePrice as a regression problem", ON_HOUSES, STANDARD, {S: {"task": "regression"}}),
    ("binary classification of Churn", ON_CHURN, STANDARD, {S: {"task": "binary"}}),
    # -- model families --------------------------------------------------------------------
    *[
        (f"predict Churn, {said}", ON_CHURN, STANDARD, {F: {"models": models}})
        for said, models in [
            ("only lightgbm and xgboost", ["lightgbm", "xgboost"]),
            ("use catboost", ["catboost"]),
            ("random forest and extra trees only", ["random_forest", "extra_trees"]),
            ("with k-nearest neighbours", ["knn"]),
            ("try a neural network", ["mlp"]),
            ("gradient boosting only", ["lightgbm", "xgboost", "catboost"]),
            ("use LightGBM, XGBoost or CatBoost", ["lightgbm", "xgboost", "catboost"]),
            ("without knn or mlp", [n for n in NO_MLP if n != "knn"]),
            ("no catboost", [n for n in NO_MLP if n != "catboost"]),
        ]
    ],
    # -- follow-ups in a session with a fitted model ---------------------------------------
    *[
        (said, AFTER_FIT, tools, args)
        for said, tools, args in [
            ("now explain it", E, {E: {"top": 10}}),
            ("which features matter?", E, {}),
            ("feature importance please", E, {}),
            ("what are the most important features", E, {}),
            ("show SHAP values for the top 5 features", E, {E: {"top": 5}}),
            ("give me the top three drivers", E, {E: {"top": 3}}),
            ("why?", E, {}),
            ("what drives churn?", E, {}),
            ("write a report to out.html", R, {R: {"path": "out.html"}}),
            ("make an HTML report", R, {R: {"path": None}}),
            ("a dashboard", R, {}),
            ("summary page", R, {}),
            ("is tenure significant?", ST, {}),
            ("run a hypothesis test", ST, {}),
            ("show me the p-values", ST, {}),
            ("fit a GLM", ST, {}),
            ("logistic regression coefficients", ST, {}),
            ("is the best model really better?", C, {}),
            ("is it significantly better than the runner-up", C, {}),
            ("compare models", C, {}),
            ("show the leaderboard", L, {}),
            ("which model won?", L, {}),
            ("score test.csv and save to out.csv", P, {P: {"path": "test.csv", "out": "out.csv"}}),
            ("predict on new.csv", P, {P: {"path": "new.csv", "out": None}}),
            ("save predictions for new.csv to out.csv", P, {P: {"out": "out.csv"}}),
            ("predict for the rows in new.parquet into scored.csv", P,
             {P: {"path": "new.parquet", "out": "scored.csv"}}),
            ("retrain with 5 minutes", f"{F} {L}", {F: {"time_limit_s": 300}}),
            ("try xgboost for five minutes", f"{F} {L}", {F: {"models": ["xgboost"]}}),
            ("optimise logloss instead", STANDARD, {S: {"target": "Churn", "metric": "logloss"}}),
            ("describe the data", D, {D: {"path": "customers.csv"}}),
            ("explain, compare, report and predict new.csv", f"{E} {C} {R} {P}", {}),
            ("predict churn", L, {}),  # nothing changed: show what was fitted
            ("write code to plot tenure against churn", CODE,
             {CODE: {"task": "write code to plot tenure against churn"}}),
        ]
    ],
]  # fmt: skip


@pytest.mark.parametrize(("text", "kwargs", "tools", "args"), CASES, ids=[c[0][:60] for c in CASES])
def test_phrasing_gives_the_standard_plan(text, kwargs, tools, args):
    plan = plan_request(text, **kwargs)
    assert plan.tools == tools.split(), (plan.understood, plan.questions)
    for call in plan.calls:
        for key, value in args.get(call.tool, {}).items():
            assert call.args[key] == value, (call, plan.understood)
    assert plan.questions == [] and plan.not_understood == [], plan


def test_understood_says_what_was_taken_and_the_default_budget():
    plan = plan_request("predict churn in customers.csv, optimise F1", columns=CHURN)
    assert "target: Churn (you wrote 'churn')" in plan.understood
    assert "metric: f1" in plan.understood
    assert "time budget: 60 s (default)" in plan.understood
    plan = plan_request("predict Churn for ten minutes", **ON_CHURN)
    assert "time budget: 600 s" in plan.understood
    plan = plan_request("predict churn in other.csv", **AFTER_FIT)
    assert "target: Churn (kept from before)" not in plan.understood  # it was said again
    plan = plan_request("use other.csv", **AFTER_FIT)
    assert "target: Churn (kept from before)" in plan.understood


@pytest.mark.parametrize(
    ("text", "kwargs", "asked"),
    [
        ("predict price", {"columns": ["SalePrice", "price_usd"], "state": HOUSES},
         "Which column did you mean by 'price': SalePrice or price_usd?"),
        ("predict foo", ON_CHURN, "'foo' is not a column. Which column should be predicted?"),
        ("train a model on customers.csv", {"columns": CHURN},
         "The data has: customerID, tenure, MonthlyCharges, Contract, Churn"),
        ("fit for 5 minutes", {"state": LOADED}, "Say e.g. 'predict <column>'"),
        ("explain it", {}, "Which data file?"),
        ("predict churn", {}, "Which data file?"),
        ("score test.csv", {}, "Which data should the model learn from before scoring test.csv?"),
        ("is it significant", ON_CHURN, "Which column should be predicted?"),
        ("predict SalePrice with f1, regression", ON_HOUSES, "f1 does not fit a regression task"),
        ("predict Churn, optimise auc and f1", ON_CHURN, "auc or f1"),
        ("predict Churn with regression and classification", ON_CHURN, "regression, binary or"),
        ("make predictions", AFTER_FIT, "Which file should I score?"),
    ],
)  # fmt: skip
def test_missing_or_ambiguous_parts_become_questions_and_no_fit(text, kwargs, asked):
    plan = plan_request(text, **kwargs)
    assert F not in plan.tools and P not in plan.tools
    assert any(asked in q for q in plan.questions), plan.questions


def test_a_new_file_is_still_profiled_when_the_target_is_missing():
    plan = plan_request("train a model on customers.csv", columns=CHURN)
    assert plan.tools == [D] and plan.calls[0].args == {"path": "customers.csv"}
    plan = plan_request("predict test.csv")  # no other data: the file to learn from
    assert plan.tools == [D] and plan.calls[0].args == {"path": "test.csv"}


@pytest.mark.parametrize(
    ("text", "kwargs", "fragment"),
    [
        ("blorf zzk", {"data": "customers.csv", "state": LOADED}, "blorf zzk"),
        ("qwerty uiop asdf", {}, "qwerty uiop asdf"),
        ("frobnicate the wibble", AFTER_FIT, "frobnicate the wibble"),
    ],
)
def test_gibberish_is_reported_and_nothing_is_planned(text, kwargs, fragment):
    plan = plan_request(text, **kwargs)
    assert plan.not_understood == [fragment]
    assert plan.calls == [] and plan.questions


def test_unmapped_words_are_quoted_next_to_a_normal_plan():
    plan = plan_request("predict Churn in 5 minutes and also defenestrate the intern", **ON_CHURN)
    assert plan.tools == STANDARD.split()
    assert plan.not_understood == ["defenestrate the intern"]
    plan = plan_request(
        "I want to know which customers will leave; the column is Churn", **ON_CHURN
    )
    assert plan.tools == STANDARD.split() and plan.calls[0].args["target"] == "Churn"
    assert plan.not_understood == ["customers will leave"]
    plan = plan_request("train on a.csv, b.csv, target Churn", columns=CHURN)
    assert plan.calls[0].args == {"path": "a.csv"} and plan.not_understood == ["b.csv"]


def test_run_code_only_when_asked_for_code():
    plan = plan_request("predict Churn, then write some python code to plot tenure", **ON_CHURN)
    assert plan.tools == [S, F, L, CODE]
    assert plan.calls[-1].args == {"task": "write some python code to plot tenure"}
    for text in ("add a feature tenure squared", "plot tenure against churn"):
        assert CODE not in plan_request(text, **AFTER_FIT).tools


def test_the_session_passes_empty_columns_before_any_data_is_read():
    path = "/tmp/pytest-of-x/test_offline0/customers.csv"
    text = f"predict Churn in {path} within 10 seconds using only linear, and explain it"
    first = plan_request(text, data=None, columns=[], state={"data": None, "fitted": False})
    assert first.tools == [D, S, F, L, E] and first.calls[0].args == {"path": path}
    columns = ["tenure", "monthly", "contract", "Churn"]
    again = plan_request(text, data=path, columns=columns, state={"data": path, "fitted": False})
    assert again.tools == [S, F, L, E] and again.calls[1].args["models"] == ["linear"]


def test_plans_follow_the_standard_order_and_are_json():
    order = {name: i for i, name in enumerate(TOOL_NAMES)}
    for text, kwargs, _, _ in CASES:
        plan = plan_request(text, **kwargs)
        assert isinstance(plan, Plan) and all(isinstance(c, PlannedCall) for c in plan.calls)
        assert [order[t] for t in plan.tools] == sorted(order[t] for t in plan.tools)
        assert len(set(plan.tools)) == len(plan.tools)
        json.dumps([c.args for c in plan.calls])
        assert all(c.why for c in plan.calls)
        assert plan_request(text, **kwargs) == plan  # deterministic


def test_vocabulary_matches_the_model_and_metric_registries():
    from assay.evaluate._metrics import METRICS
    from assay.models import MODELS

    assert set(MODELS) <= set(MODEL_NAMES)
    assert set(MODEL_NAMES) - set(OPTIONAL_MODELS) <= set(MODELS)
    assert set(CLASSIFICATION_METRICS + REGRESSION_METRICS) == set(METRICS)
