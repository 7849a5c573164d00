"""SHAP values of a predictor's tree members with the boosters' own TreeSHAP (exact, fast,
no extra package): LightGBM `pred_contrib`, XGBoost `pred_contribs`, CatBoost `ShapValues`.

Contributions are on each booster's margin scale (log-odds for classification), averaged
over a member's fold models and weighted by the ensemble weights of the tree members.
Columns a model sees that come from one raw column (date parts, one-hot levels, derived
text and pair features) are summed back into that column, so SHAP speaks of the user's
columns. Members that are not trees (linear, kNN, forests, MLP) are left out and named."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assay.errors import ConfigError
from assay.evaluate._explain import _sample, read_rows, used_columns


@dataclass(frozen=True)
class ShapResult:
    values: np.ndarray  # (n_rows, n_outputs, n_features): per-row contributions
    expected: np.ndarray  # (n_outputs,): the mean margin the contributions start from
    features: list[str]
    outputs: list[str]  # binary: the positive class; multiclass: each class; else "prediction"
    rows: pd.DataFrame  # the raw rows explained (for colouring a summary plot)
    members: list[tuple[str, float]] = field(default_factory=list)  # (model, share) used
    left_out: list[str] = field(default_factory=list)  # members without TreeSHAP
    scale: str = "margin"

    def importance(self) -> pd.DataFrame:
        """Mean |SHAP| per feature (and per output when there are several), largest first."""
        mean_abs = np.abs(self.values).mean(axis=0)  # (outputs, features)
        table = pd.DataFrame({"feature": self.features, "mean_abs_shap": mean_abs.sum(axis=0)})
        if len(self.outputs) > 1:
            for k, name in enumerate(self.outputs):
                table[f"mean_abs_shap[{name}]"] = mean_abs[k]
        return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)


def source_column(name: str, sources: list[str]) -> str | None:
    """The raw column (or text pair 'a~b') a model input comes from: itself, or the longest
    source followed by '__' (date parts, derived features) or '==' (one-hot levels)."""
    best = None
    for source in sources:
        if name == source:
            return source
        if name.startswith((f"{source}__", f"{source}==")) and (
            best is None or len(source) > len(best)
        ):
            best = source
    return best


def _contributions(model, X, backend: str) -> np.ndarray:
    """(n, outputs, inputs + 1) from the booster's own TreeSHAP, or the shap package's."""
    if backend == "booster":
        return model.contributions(X)
    import shap

    explainer = shap.TreeExplainer(model.model_)
    values = np.asarray(explainer.shap_values(model.native_input(X)))
    n = X.shape[0]
    if values.ndim == 3:  # shap >= 0.45: (n, inputs, outputs); before: (outputs, n, inputs)
        values = values.transpose(0, 2, 1) if values.shape[0] == n else values.transpose(1, 0, 2)
    values = values.reshape(n, -1, X.shape[1])
    expected = np.broadcast_to(np.atleast_1d(explainer.expected_value), (n, values.shape[1]))[
        :, :, None
    ]
    return np.concatenate([values, expected], axis=2)


def tree_shap(
    predictor,
    data,
    *,
    max_rows: int = 1000,
    random_state: int = 0,
    backend: str = "booster",
) -> ShapResult:
    """`backend="booster"`: each booster's own TreeSHAP (no extra package); `"shap"`: the
    shap package's TreeExplainer (the `explain` extra), the same values by another route."""
    if backend not in ("booster", "shap"):
        raise ConfigError(f"backend={backend!r}: choose 'booster' or 'shap'.")
    if backend == "shap":
        try:
            import shap  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                "backend='shap' needs the shap package: pip install 'assay[explain]', or use "
                "backend='booster' (the boosters' own TreeSHAP, same values)."
            ) from exc
    X, _ = read_rows(predictor, data, need_target=False)
    X, _ = _sample(X, None, max_rows, random_state)
    trees = [
        (i, m)
        for i, m in enumerate(predictor.members)
        if m.weight > 0 and m.level == 1 and all(hasattr(f, "contributions") for f in m.models)
    ]
    left_out = [
        m.model for m in predictor.members if m.weight > 0 and all(m is not t for _, t in trees)
    ]
    if not trees:
        raise ConfigError(
            f"SHAP needs a LightGBM, XGBoost or CatBoost member; this ensemble has "
            f"{sorted(set(left_out))}. Use permutation importance (assay explain), or refit "
            "with --models lightgbm,xgboost,catboost."
        )
    X_in = (
        X if predictor.derived is None else pd.concat([X, predictor.derived.transform(X)], axis=1)
    )
    sources = used_columns(predictor) + [f"{a}~{b}" for a, b in _pairs(predictor)]
    n_outputs = (
        1 if predictor.classes is None or len(predictor.classes) == 2 else len(predictor.classes)
    )
    total = np.zeros((len(X), n_outputs, len(sources)))
    expected = np.zeros(n_outputs)
    weight_sum = 0.0
    used = []
    for _, member in trees:
        per_fold = []
        for encoder, model in zip(member.encoders, member.models, strict=True):
            contrib = _contributions(model, encoder.transform(X_in), backend)
            if contrib.shape[1] != n_outputs:  # a fold that never saw some class
                continue
            per_fold.append(_by_source(contrib, encoder.feature_names_out(), sources))
        if not per_fold:
            continue
        values = np.mean([v for v, _ in per_fold], axis=0)
        base = np.mean([b for _, b in per_fold], axis=0)
        total += member.weight * values
        expected += member.weight * base
        weight_sum += member.weight
        used.append((member.model, member.weight))
    if weight_sum == 0:
        raise ConfigError("No tree member's fold models saw every class: SHAP is not available.")
    outputs = (
        ["prediction"]
        if predictor.classes is None
        else [str(predictor.classes[1])]
        if n_outputs == 1
        else [str(c) for c in predictor.classes]
    )
    keep = [
        j for j, s in enumerate(sources) if s in used_columns(predictor) or np.any(total[:, :, j])
    ]
    return ShapResult(
        values=total[:, :, keep] / weight_sum,
        expected=expected / weight_sum,
        features=[sources[j] for j in keep],
        outputs=outputs,
        rows=X,
        members=[(m, w / weight_sum) for m, w in used],
        left_out=sorted(set(left_out)),
        scale="log-odds" if predictor.classes is not None else "prediction",
    )


def _pairs(predictor) -> list[tuple[str, str]]:
    return list(predictor.derived.pairs) if predictor.derived is not None else []


def _by_source(contrib: np.ndarray, names: list[str], sources: list[str]):
    """Sum a model's (n, outputs, inputs + 1) contributions into the source columns."""
    out = np.zeros((contrib.shape[0], contrib.shape[1], len(sources)))
    index = {s: j for j, s in enumerate(sources)}
    for k, name in enumerate(names):
        source = source_column(name, sources)
        if source is not None:
            out[:, :, index[source]] += contrib[:, :, k]
    return out, contrib[:, :, -1].mean(axis=0)
