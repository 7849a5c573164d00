"""fit_glm: the numbers agree with statsmodels' formula API and with hand computations,
p-values are calibrated under the null, and broken designs are reported, not hidden."""

import gc

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.outliers_influence import variance_inflation_factor

from assay.errors import ConfigError, DataError, TargetError
from assay.evaluate import GLMResult, fit_glm

COLUMNS = ["term", "coef", "std_err", "statistic", "p_value", "ci_low", "ci_high"]


def make_frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(50, 10, n),
            "dose": rng.gamma(2.0, 2.0, n),
            "color": rng.choice(["red", "blue", "green"], n, p=[0.3, 0.5, 0.2]),
            "smoker": rng.choice(["yes", "no"], n),
        }
    )
    eta = -2.5 + 0.04 * frame["age"] + 0.15 * frame["dose"] + 0.8 * (frame["color"] == "red")
    frame["sick"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    frame["bp"] = 90 + 0.5 * frame["age"] + 3 * (frame["smoker"] == "yes") + rng.normal(0, 8, n)
    frame["visits"] = rng.poisson(np.exp(0.2 + 0.08 * frame["dose"]))
    frame.loc[[3, 17], "age"] = np.nan
    frame.loc[[5], "color"] = np.nan
    return frame


FORMULA_FITS = {
    "logistic": ("sick", smf.logit, {"disp": 0}),
    "linear": ("bp", smf.ols, {}),
    "poisson": ("visits", smf.poisson, {"disp": 0}),
}


def formula_name(term: str) -> str:
    if term.startswith("color[T."):
        return "C(color, Treatment(reference='green'))" + term[len("color") :]
    if term == "smoker":
        return "C(smoker, Treatment(reference='no'))[T.yes]"
    return term


@pytest.mark.parametrize("family", ["logistic", "linear", "poisson"])
def test_agrees_with_statsmodels_formula_api(family):
    frame = make_frame()
    target, fitter, options = FORMULA_FITS[family]
    data = frame[["age", "dose", "color", "smoker", target]]
    result = fit_glm(data, target, family=family, reference={"color": "green"}, alpha=0.1)
    formula = (
        f"{target} ~ age + dose + C(color, Treatment(reference='green'))"
        " + C(smoker, Treatment(reference='no'))"
    )
    expected = fitter(formula, data).fit(**options)

    assert isinstance(result, GLMResult) and result.warnings == []
    table = result.coefficients.set_index("term")
    assert list(table.index) == [
        "Intercept",
        "age",
        "dose",
        "color[T.blue]",
        "color[T.red]",
        "smoker",
    ]
    names = [formula_name(t) for t in table.index]
    ci = expected.conf_int(0.1).loc[names].to_numpy()
    for column, values in [
        ("coef", expected.params),
        ("std_err", expected.bse),
        ("statistic", expected.tvalues),
        ("p_value", expected.pvalues),
    ]:
        np.testing.assert_allclose(table[column], values.loc[names], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(table[["ci_low", "ci_high"]], ci, rtol=1e-6, atol=1e-9)
    if family != "linear":
        ratio = "odds_ratio" if family == "logistic" else "rate_ratio"
        np.testing.assert_allclose(table[ratio], np.exp(expected.params.loc[names]), rtol=1e-6)
        np.testing.assert_allclose(table.iloc[:, -4:-2], np.exp(ci), rtol=1e-6)

    assert result.references == {"color": "green"}
    summary = result.summary
    assert summary["family"] == family and summary["n_rows"] == expected.nobs == 397
    assert summary["n_dropped"] == 3 and summary["n_params"] == 6
    assert summary["log_likelihood"] == pytest.approx(expected.llf, rel=1e-8)
    assert summary["aic"] == pytest.approx(expected.aic, rel=1e-8)
    assert summary["bic"] == pytest.approx(expected.bic, rel=1e-8)
    if family == "linear":
        assert summary["r2"] == pytest.approx(expected.rsquared, rel=1e-8)
        assert summary["adj_r2"] == pytest.approx(expected.rsquared_adj, rel=1e-8)
    else:
        assert summary["pseudo_r2"] == pytest.approx(expected.prsquared, rel=1e-6)

    joint = expected.wald_test_terms(scalar=True).table
    terms = result.terms.set_index("variable")
    assert list(terms.index) == ["age", "dose", "color", "smoker"]
    joint_names = {
        "age": "age",
        "dose": "dose",
        "color": "C(color, Treatment(reference='green'))",
        "smoker": "C(smoker, Treatment(reference='no'))",
    }
    for variable in terms.index:
        row = joint.loc[joint_names[variable]]
        assert terms.loc[variable, "df"] == row["df_constraint"]
        assert terms.loc[variable, "statistic"] == pytest.approx(row["statistic"], rel=1e-6)
        assert terms.loc[variable, "p_value"] == pytest.approx(row["pvalue"], rel=1e-6)


def test_default_reference_is_the_most_frequent_level_and_notes_say_so():
    result = fit_glm(make_frame()[["age", "color", "bp"]], "bp")
    assert result.references == {"color": "blue"}
    assert "color[T.green]" in set(result.coefficients["term"])
    assert any("'color'" in n and "'blue'" in n and "most frequent" in n for n in result.notes)
    assert any("3 of 400 rows dropped" in n for n in result.notes)


def test_ols_matches_the_normal_equations():
    x = np.array([1.0, 2.0, 3.5, 4.0, 5.5, 6.0, 7.5, 9.0])
    group = np.array(["a", "b", "a", "b", "b", "a", "a", "b"])  # tie: 'a' first in sort order
    y = np.array([2.1, 4.9, 5.2, 8.8, 11.0, 8.1, 10.9, 15.2])
    result = fit_glm(pd.DataFrame({"x": x, "group": group, "y": y}), "y")

    X = np.column_stack([np.ones(8), x, (group == "b").astype(float)])
    xtx_inv = np.linalg.inv(X.T @ X)
    coef = xtx_inv @ X.T @ y
    n, p = X.shape
    s2 = np.sum((y - X @ coef) ** 2) / (n - p)
    se = np.sqrt(np.diag(s2 * xtx_inv))
    t = coef / se
    half = stats.t.ppf(0.975, n - p) * se

    table = result.coefficients
    assert list(table["term"]) == ["Intercept", "x", "group[T.b]"]
    assert result.summary["family"] == "linear"
    np.testing.assert_allclose(table["coef"], coef, rtol=1e-9)
    np.testing.assert_allclose(table["std_err"], se, rtol=1e-9)
    np.testing.assert_allclose(table["statistic"], t, rtol=1e-9)
    np.testing.assert_allclose(table["p_value"], 2 * stats.t.sf(np.abs(t), n - p), rtol=1e-8)
    np.testing.assert_allclose(table["ci_low"], coef - half, rtol=1e-9)
    np.testing.assert_allclose(table["ci_high"], coef + half, rtol=1e-9)


def test_logistic_matches_newton_raphson_by_hand():
    rng = np.random.default_rng(7)
    x = rng.normal(size=40)
    y = (rng.random(40) < 1 / (1 + np.exp(-(0.3 + 1.2 * x)))).astype(float)
    result = fit_glm(pd.DataFrame({"x": x, "y": y}), "y")

    X = np.column_stack([np.ones(40), x])
    beta = np.zeros(2)
    for _ in range(50):
        prob = 1 / (1 + np.exp(-X @ beta))
        fisher = X.T @ (X * (prob * (1 - prob))[:, None])
        step = np.linalg.solve(fisher, X.T @ (y - prob))
        beta += step
        if np.abs(step).max() < 1e-12:
            break
    prob = 1 / (1 + np.exp(-X @ beta))
    se = np.sqrt(np.diag(np.linalg.inv(X.T @ (X * (prob * (1 - prob))[:, None]))))
    z = beta / se
    half = stats.norm.ppf(0.975) * se

    table = result.coefficients
    assert result.summary["family"] == "logistic" and result.summary["positive_class"] == "1.0"
    np.testing.assert_allclose(table["coef"], beta, rtol=1e-6)
    np.testing.assert_allclose(table["std_err"], se, rtol=1e-6)
    np.testing.assert_allclose(table["p_value"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-6)
    np.testing.assert_allclose(table["odds_ratio"], np.exp(beta), rtol=1e-6)
    np.testing.assert_allclose(table["or_ci_low"], np.exp(beta - half), rtol=1e-6)
    np.testing.assert_allclose(table["or_ci_high"], np.exp(beta + half), rtol=1e-6)


def test_holm_and_bh_match_a_hand_computation():
    rng = np.random.default_rng(3)
    n = 120
    effects = [0.0, 0.05, 0.1, 0.2, 0.25, 0.3, 0.5, 0.0]
    X = rng.normal(size=(n, len(effects)))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(len(effects))])
    frame["y"] = X @ np.array(effects) + rng.normal(size=n)
    table = fit_glm(frame, "y").coefficients

    assert np.isnan(table.loc[0, "p_holm"]) and np.isnan(table.loc[0, "p_bh"])
    raw = table["p_value"].to_numpy()[1:]
    m = len(raw)
    order = np.argsort(raw)
    holm, bh = np.empty(m), np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):  # step down: (m - rank) * p, never decreasing
        running = max(running, min(1.0, (m - rank) * raw[i]))
        holm[i] = running
    running = 1.0
    for rank in range(m - 1, -1, -1):  # step up: p * m / (rank + 1), never increasing
        i = order[rank]
        running = min(running, raw[i] * m / (rank + 1))
        bh[i] = running
    np.testing.assert_allclose(table["p_holm"].to_numpy()[1:], holm, rtol=1e-12)
    np.testing.assert_allclose(table["p_bh"].to_numpy()[1:], bh, rtol=1e-12)
    assert (holm >= bh).all() and (holm > bh).any() and (holm > raw).any()


@pytest.fixture
def frozen_gc():
    """statsmodels' Holm correction calls gc.collect(); freezing the heap keeps 200 fits fast."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def test_random_labels_give_calibrated_p_values(frozen_gc):
    rng = np.random.default_rng(2024)
    names = [f"x{i}" for i in range(10)]
    raw, any_raw, any_holm = [], [], []
    for _ in range(200):
        frame = pd.DataFrame(rng.normal(size=(300, 10)), columns=names)
        frame["y"] = rng.integers(0, 2, 300)
        table = fit_glm(frame, "y").coefficients.iloc[1:]
        assert len(table) == 10
        raw.extend(table["p_value"])
        any_raw.append((table["p_value"] < 0.05).any())
        any_holm.append((table["p_holm"] < 0.05).any())
    assert len(raw) == 2000
    assert 0.03 <= np.mean(np.array(raw) < 0.05) <= 0.07
    assert np.mean(any_holm) <= 0.08
    assert np.mean(any_raw) >= 0.25  # unadjusted, ten tests find "something" far more often


def test_perfect_separation_is_reported_and_the_rest_is_fitted():
    rng = np.random.default_rng(11)
    n = 150
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "noise": rng.normal(size=n),
            "leak": np.where(y == 1, 1.0, -1.0) * rng.uniform(0.5, 2.0, n),
            "y": y,
        }
    )
    result = fit_glm(frame, "y")
    [warning] = [w for w in result.warnings if "separation" in w]
    assert "'leak'" in warning and "Perfect separation" in warning
    assert list(result.coefficients["term"]) == ["Intercept", "noise"]
    assert np.isfinite(result.coefficients[["coef", "std_err", "p_value"]].to_numpy()).all()


def test_a_level_with_one_outcome_is_quasi_separation():
    rng = np.random.default_rng(12)
    n = 200
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "site": rng.choice(["north", "south"], n),
            "y": rng.integers(0, 2, n),
        }
    )
    frame.loc[:9, "site"] = "east"
    frame.loc[:9, "y"] = 1
    result = fit_glm(frame, "y")
    [warning] = result.warnings
    assert "Quasi-perfect separation by 'site'" in warning and "'east'" in warning
    assert "site[T.east]" in set(result.coefficients["term"])


def test_separation_by_a_combination_is_caught_after_the_fit():
    rng = np.random.default_rng(13)
    a, b, c = rng.normal(size=(3, 200))
    frame = pd.DataFrame({"a": a, "b": b, "c": c, "y": (a + b > 0).astype(int)})
    result = fit_glm(frame, "y")
    [warning] = result.warnings
    assert "perfectly predicted" in warning and "'a'" in warning and "'b'" in warning


def test_exact_and_near_collinearity_are_named():
    rng = np.random.default_rng(14)
    n = 200
    x1, x3, z = rng.normal(size=(3, n))
    frame = pd.DataFrame(
        {"x1": x1, "x2": 2 * x1, "x3": x3, "x4": x3 + rng.normal(0, 0.1, n), "z": z}
    )
    frame["y"] = x1 + z + rng.normal(size=n)
    result = fit_glm(frame, "y")
    exact = next(w for w in result.warnings if "Exact collinearity" in w)
    assert "'x2' = a combination of 'x1'" in exact
    assert "x2" not in set(result.coefficients["term"])
    inflated = next(w for w in result.warnings if "variance inflation" in w)
    design = np.column_stack([np.ones(n), x1, x3, frame["x4"], z])
    for j, name in [(2, "x3"), (3, "x4")]:
        assert f"'{name}' ({variance_inflation_factor(design, j):.1f})" in inflated
    assert "'x1'" not in inflated and "'z'" not in inflated


def test_few_events_per_variable_warns():
    rng = np.random.default_rng(15)
    frame = pd.DataFrame(rng.normal(size=(80, 4)), columns=["a", "b", "c", "d"])
    frame["y"] = ["yes"] * 12 + ["no"] * 68
    result = fit_glm(frame, "y")
    assert result.summary["n_events"] == 12 and result.summary["events_per_variable"] == 3.0
    assert result.summary["positive_class"] == "yes"
    [warning] = [w for w in result.warnings if "events per variable" in w]
    assert "'a', 'b', 'c', 'd'" in warning


def test_skipped_columns_are_noted_with_their_reason():
    rng = np.random.default_rng(16)
    n = 60
    frame = pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "site": ["A"] * n,
            "visit": pd.date_range("2024-01-01", periods=n).astype(str),
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
        }
    )
    result = fit_glm(frame, "y")
    assert list(result.coefficients["term"]) == ["Intercept", "x"]
    skipped = " ".join(n for n in result.notes if "skipped" in n)
    assert "'patient_id'" in skipped and "identifier" in skipped
    assert "'site'" in skipped and "single distinct value" in skipped
    assert "'visit'" in skipped and "dates" in skipped


def test_one_vs_rest_with_positive_matches_a_binary_fit():
    rng = np.random.default_rng(17)
    frame = pd.DataFrame({"x": rng.normal(size=300), "y": rng.choice(["u", "v", "w"], 300)})
    with pytest.raises(ConfigError, match="positive"):
        fit_glm(frame, "y")
    result = fit_glm(frame, "y", positive="w")
    expected = smf.logit("w ~ x", frame.assign(w=(frame["y"] == "w").astype(int))).fit(disp=0)
    np.testing.assert_allclose(result.coefficients["coef"], expected.params, rtol=1e-6)
    assert any("P(y = 'w')" in n for n in result.notes)


def test_count_target_suggests_poisson():
    frame = make_frame()[["dose", "visits"]]
    result = fit_glm(frame, "visits")
    assert result.summary["family"] == "linear"
    assert any("poisson" in n for n in result.notes)


def test_clear_errors():
    frame = make_frame()
    with pytest.raises(TargetError, match="'sicknes'"):
        fit_glm(frame, "sicknes")
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]
    texts = [" ".join(rng.choice(words, 6)) for _ in range(50)]
    with pytest.raises(DataError, match=r"'notes'.*free text"):
        fit_glm(pd.DataFrame({"notes": texts, "y": rng.integers(0, 2, 50)}), "y")
    with pytest.raises(ConfigError, match=r"'purple'.*'color'"):
        fit_glm(frame, "sick", reference={"color": "purple"})
    with pytest.raises(ConfigError, match=r"'age'.*numeric"):
        fit_glm(frame, "sick", reference={"age": "50"})
    with pytest.raises(ConfigError, match="family 'gamma'"):
        fit_glm(frame, "sick", family="gamma")
    with pytest.raises(TargetError, match="poisson"):
        fit_glm(frame, "bp", family="poisson")
    with pytest.raises(DataError, match="more rows than parameters"):
        tiny = {"x": [1.0, 2.0, 4.0, 3.0], "g": ["a", "b", "c", "a"], "y": [1.0, 3.0, 2.0, 5.0]}
        fit_glm(pd.DataFrame(tiny), "y")


def test_reads_a_file(tmp_path):
    path = tmp_path / "data.csv"
    make_frame().to_csv(path, index=False)
    result = fit_glm(path, "bp", family="linear")
    assert result.summary["n_rows"] == 397
    assert result.to_frame().equals(result.coefficients)
