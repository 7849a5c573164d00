"""The candidate: the one file the research loop changes.

Reads inputs/train.csv (features and the target) and inputs/valid.csv (features and a
`__row__` id, no target), trains within the seconds given in inputs/run.json, and writes
outputs/predictions.csv: `__row__`, then `prediction` (regression) or one `proba_<class>`
column per class of run.json's `classes`. The harness scores that file; prints are logs.
run.json's `folds` gives every training row its fold, the same in every experiment.
outputs/oof.csv, when written, holds out-of-fold predictions of the training rows in the
same layout (`__row__` i is line i of train.csv): the loop ensembles experiments on them.
outputs/trials.json lists the finished trials ({model, config, loss}); with
CONFIG["continue_search"], inputs/trials.json (the best experiment's, when it wrote one)
starts AutoML's search from them instead of from its portfolio's head.
When run.json's `export` is true (`assay research export`), the pipeline also saves the
predictor it trained in outputs/predictor/, to predict raw rows of the original columns.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

START = time.monotonic()

# --- assay:config ---
CONFIG = {
    "automl": {"models": None, "n_folds": None, "stack": "auto", "portfolio": "default"},
    "features": [],
    "discovered": [],
    "continue_search": False,
    "single_model": None,
}
# --- end config ---

RUN = json.loads(Path("inputs/run.json").read_text())
ROW = "__row__"
CLASSIFICATION = RUN["task"] != "regression"


# -- feature steps: each learns from the training rows only, then changes both tables ----
def _numerics(frame: pd.DataFrame) -> list[str]:
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    return [c for c in numeric if frame[c].nunique() > 2]


def log1p_skewed(train, valid, y):
    """Signed log1p of long-tailed numerics (|skew| > 1): fewer extreme values to fit."""
    for col in [c for c in _numerics(train) if abs(train[c].skew()) > 1]:
        for frame in (train, valid):
            frame[col] = np.sign(frame[col]) * np.log1p(frame[col].abs())
    return train, valid


def frequency_encoding(train, valid, y):
    """How common each category is in the training rows, as a new numeric column."""
    for col in [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]:
        share = train[col].value_counts(normalize=True)
        for frame in (train, valid):
            frame[f"{col}__freq"] = frame[col].map(share).astype(float).fillna(0.0)
    return train, valid


def ratios_top_numeric(train, valid, y, k=4):
    """Ratios of the k numerics most correlated with the target, pair by pair."""
    target = pd.Series(pd.factorize(y)[0] if CLASSIFICATION else y, index=train.index)
    strength = {c: abs(train[c].corr(target, method="spearman")) for c in _numerics(train)}
    top = sorted((c for c in strength if np.isfinite(strength[c])), key=strength.get)[-k:]
    for i, a in enumerate(top):
        for b in top[i + 1 :]:
            for frame in (train, valid):
                frame[f"{a}__per__{b}"] = frame[a] / frame[b].where(frame[b] != 0)
    return train, valid


def missing_count(train, valid, y):
    """How many values each row lacks: missingness often carries signal."""
    columns = list(train.columns)
    for frame in (train, valid):
        frame["__n_missing"] = frame[columns].isna().sum(axis=1)
    return train, valid


def row_stats(train, valid, y):
    """Mean and spread of each row's standardized numerics."""
    columns = _numerics(train)
    if columns:
        center, scale = train[columns].mean(), train[columns].std().replace(0, 1)
        for frame in (train, valid):
            z = (frame[columns] - center) / scale
            frame["__row_mean"], frame["__row_std"] = z.mean(axis=1), z.std(axis=1)
    return train, valid


STEPS = {
    "log1p_skewed": log1p_skewed,
    "frequency_encoding": frequency_encoding,
    "ratios_top_numeric": ratios_top_numeric,
    "missing_count": missing_count,
    "row_stats": row_stats,
}


def discovered_features(train, valid, y):
    """Features that `assay research` discovery found (CONFIG["discovered"], e.g.
    ["ratio", "income", "debt"] is income / debt): learned from the training rows, target
    means out of fold over the harness's folds (run.json), then added to both tables.
    (The AutoML path computes them inside its predictor instead: `features=`.)"""
    from assay.features import GeneratedFeatures

    ids = np.asarray(RUN["folds"])
    folds = [(np.flatnonzero(ids != k), np.flatnonzero(ids == k)) for k in np.unique(ids)]
    features = GeneratedFeatures(CONFIG["discovered"], RUN["task"])
    new_train = features.fit_transform(train, y.to_numpy(), folds)
    print("discovered features:", "; ".join(spec.text for spec in features.specs))
    return train.join(new_train), valid.join(features.transform(valid))


# -- models ------------------------------------------------------------------------------
def fit_automl(train, y, valid, seconds):
    """assay's default: searched, bagged and ensembled models. Also returns the ensemble's
    out-of-fold predictions of the training rows (the loop ensembles experiments on them)."""
    from assay import AutoML

    prior = Path("inputs/trials.json")
    warm = None
    if CONFIG.get("continue_search") and prior.is_file():
        warm = json.loads(prior.read_text())
        print(f"continuing the search of {len(warm)} earlier trials")
    automl = AutoML(
        task=RUN["task"],
        metric=RUN["metric"],
        time_limit_s=seconds,
        random_state=RUN["seed"],
        store=False,
        features=CONFIG["discovered"] or None,  # computed inside the predictor
        warm_start=warm,
        **CONFIG["automl"],
    )
    automl.fit(train.assign(**{RUN["target"]: y}), target=RUN["target"])
    predictor = automl.predictor_
    write_trials(automl, warm or [])
    if RUN.get("export"):
        predictor.save("outputs/predictor")
    if CLASSIFICATION:
        oof = pd.DataFrame(automl.oof_, columns=predictor.classes_)
        return predictor.predict_proba(valid), oof
    return predictor.predict(valid), automl.oof_


def write_trials(automl, earlier):
    """outputs/trials.json: this search's finished trials and the earlier ones it
    continued, so a search that continues this one knows all of them."""
    trials = list(automl.trials_)
    seen = {json.dumps([t["model"], t["config"]], sort_keys=True) for t in trials}
    for trial in earlier:
        if json.dumps([trial["model"], trial["config"]], sort_keys=True) not in seen:
            trials.append(trial)
    Path("outputs/trials.json").write_text(json.dumps(trials, default=str))


def fit_single(train, y, valid, seconds):
    """One model family with fixed hyper-parameters, trained once on all training rows
    (no out-of-fold predictions: it joins no ensemble of experiments)."""
    from assay.data import check_predict_frame, prepare
    from assay.features import TabularEncoder
    from assay.models import MODELS

    spec = CONFIG["single_model"]
    family = MODELS[spec["model"]]
    data = prepare(train.assign(**{RUN["target"]: y}), RUN["target"], task=RUN["task"])
    encoder = TabularEncoder(family.encoding, data.schema.types).fit(data.X)
    model = family(task=RUN["task"], random_state=RUN["seed"], **spec.get("params", {}))
    model.fit(encoder.transform(data.X), data.y.to_numpy(), time_limit_s=seconds)
    X_valid = encoder.transform(check_predict_frame(valid, data.schema))
    if CLASSIFICATION:
        return pd.DataFrame(model.predict_proba(X_valid), columns=model.classes_), None
    return model.predict(X_valid), None


def write_predictions(rows, pred, path):
    """`__row__`, then one `proba_<class>` per class of the task (harness order) or
    `prediction`."""
    out = pd.DataFrame({ROW: rows})
    if CLASSIFICATION:
        for label in RUN["classes"]:
            out[f"proba_{label}"] = pred[label].to_numpy() if label in pred else 0.0
    else:
        out["prediction"] = np.asarray(pred, dtype=float)
    out.to_csv(path, index=False)


def main() -> None:
    train = pd.read_csv("inputs/train.csv", dtype={RUN["target"]: str} if CLASSIFICATION else None)
    valid = pd.read_csv("inputs/valid.csv")
    y, rows = train.pop(RUN["target"]), valid.pop(ROW)
    if RUN.get("export") and (CONFIG["features"] or CONFIG["single_model"]):
        raise SystemExit(
            "this pipeline cannot be exported as a predictor: its feature steps "
            f"{CONFIG['features']} or single model run outside AutoML's predictor. Export an "
            "experiment without them, or move what they do into CONFIG['discovered']."
        )
    if CONFIG.get("discovered") and CONFIG["single_model"]:  # on the columns discovery saw
        train, valid = discovered_features(train, valid, y)
    for name in CONFIG["features"]:
        train, valid = STEPS[name](train, valid, y)
    seconds = max(1.0, RUN["time_limit_s"] - (time.monotonic() - START) - 1.0)
    fit = fit_single if CONFIG["single_model"] else fit_automl
    pred, oof = fit(train, y, valid, seconds)
    write_predictions(rows, pred, "outputs/predictions.csv")
    if oof is not None:  # training row i is __row__ i
        write_predictions(np.arange(len(train)), oof, "outputs/oof.csv")
    print(f"wrote {len(rows)} predictions in {time.monotonic() - START:.1f}s")


if __name__ == "__main__":
    main()
