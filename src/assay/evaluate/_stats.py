"""Is one model really better than another? Two tests on the same data:

- the corrected resampled t-test of Nadeau and Bengio (2003) on per-fold scores: k-fold
  training sets overlap, so the plain paired t-test's variance is too small; the correction
  inflates it by the test/train size ratio: var = (1/J + n_test/n_train) * s^2, df = J - 1;
- a paired bootstrap on held-out predictions: resample rows, score both models on the same
  resample, and read the distribution of the difference.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as sps

from assay.errors import ConfigError
from assay.evaluate._cv import safe_score
from assay.evaluate._metrics import Metric
from assay.evaluate._weighted import weighted_scorer

BOOTSTRAP_MAX_ROWS = 100_000  # larger held-out sets are subsampled: the test stays conservative


@dataclass(frozen=True)
class TTest:
    mean_diff: float
    t_stat: float
    df: int
    p_value: float


def corrected_ttest(diffs, n_train: float, n_test: float) -> TTest:
    """Nadeau-Bengio corrected resampled t-test of per-fold score differences (two-sided).
    With n_test/n_train = 0 it is the ordinary paired t-test."""
    d = np.asarray(diffs, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    if n < 2:
        raise ConfigError(
            f"The corrected t-test needs scores on 2 or more folds, got {n}: use more folds."
        )
    if not n_train > 0 or n_test < 0:
        raise ConfigError(f"n_train={n_train}, n_test={n_test}: give the fold sizes in rows.")
    mean, var = float(d.mean()), float(d.var(ddof=1))
    # identical differences on every fold: either no difference or a sure one
    if np.ptp(d) <= 1e-12 * max(1.0, abs(mean)):
        t = 0.0 if mean == 0.0 else float(np.sign(mean) * np.inf)
        return TTest(mean, t, n - 1, 1.0 if mean == 0.0 else 0.0)
    t = mean / np.sqrt((1.0 / n + n_test / n_train) * var)
    return TTest(mean, float(t), n - 1, float(2 * sps.t.sf(abs(t), n - 1)))


@dataclass(frozen=True)
class Bootstrap:
    diff: float  # metric(a) - metric(b) on all rows
    ci_low: float
    ci_high: float
    p_value: float
    n_boot: int
    n_rows: int


def paired_bootstrap(
    y: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    metric: Metric,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: int = 0,
) -> Bootstrap:
    """Percentile CI of metric(a) - metric(b) over row resamples; the two-sided p-value is
    twice the share of resamples on the far side of zero (the sign-flip bootstrap test)."""
    y, pred_a, pred_b = np.asarray(y), np.asarray(pred_a), np.asarray(pred_b)
    if not len(y) == len(pred_a) == len(pred_b):
        raise ConfigError(
            f"paired_bootstrap: y has {len(y)} rows, the predictions {len(pred_a)} and "
            f"{len(pred_b)}: give predictions of the same rows."
        )
    rng = np.random.default_rng(random_state)
    if len(y) > BOOTSTRAP_MAX_ROWS:
        keep = rng.choice(len(y), BOOTSTRAP_MAX_ROWS, replace=False)
        y, pred_a, pred_b = y[keep], pred_a[keep], pred_b[keep]
    score_a, score_b = weighted_scorer(metric, y, pred_a), weighted_scorer(metric, y, pred_b)
    ones = np.ones(len(y))
    diff = score_a(ones) - score_b(ones)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        weights = np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)).astype(float)
        diffs[i] = score_a(weights) - score_b(weights)
    diffs = diffs[np.isfinite(diffs)]
    if len(diffs) == 0:
        nan = float("nan")
        return Bootstrap(float(diff), nan, nan, nan, 0, len(y))
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    p = min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))
    return Bootstrap(float(diff), float(low), float(high), float(p), len(diffs), len(y))


def fold_scores(
    metric: Metric,
    y: np.ndarray,
    oof: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    w: np.ndarray | None = None,
) -> np.ndarray:
    """The metric on each fold's held-out rows of an out-of-fold prediction (under row
    weights `w`, None: alike)."""
    return np.array(
        [
            safe_score(metric, y[valid], oof[valid], None if w is None else w[valid])
            for _, valid in folds
        ]
    )


@dataclass(frozen=True)
class Comparison:
    """Model `a` against model `b` on the same folds and the same held-out rows."""

    a: str
    b: str
    metric: str
    greater_is_better: bool
    n_folds: int
    ttest: TTest
    bootstrap: Bootstrap | None
    alpha: float = 0.05

    @property
    def significant(self) -> bool:
        """Both tests (or the t-test alone, without a bootstrap) reject equality."""
        ok = self.ttest.p_value < self.alpha
        if self.bootstrap is not None and np.isfinite(self.bootstrap.p_value):
            ok = ok and self.bootstrap.p_value < self.alpha
        return bool(ok)

    @property
    def a_is_better(self) -> bool:
        diff = self.ttest.mean_diff
        return diff > 0 if self.greater_is_better else diff < 0

    def sentence(self) -> str:
        t, b = self.ttest, self.bootstrap
        better, worse = (self.a, self.b) if self.a_is_better else (self.b, self.a)
        text = (
            f"{self.a} vs {self.b}: {self.metric} difference {_signed(t.mean_diff)} per fold "
            f"(corrected t-test over {self.n_folds} folds: t={t.t_stat:.2f}, p={t.p_value:.3g}"
        )
        if b is not None:
            text += (
                f"; paired bootstrap on {b.n_rows} rows: {_signed(b.diff)}, "
                f"{100 * (1 - self.alpha):.0f}% CI [{_signed(b.ci_low)}, {_signed(b.ci_high)}], "
                f"p={b.p_value:.3g}"
            )
        verdict = (
            f"{better} is significantly better than {worse}"
            if self.significant and t.mean_diff != 0
            else "no significant difference"
        )
        return f"{text}): {verdict} at {self.alpha:g}."

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(significant=self.significant, sentence=self.sentence())
        return out


def _signed(x: float) -> str:
    """A difference to four decimals, or to three significant digits when it is smaller
    than that shows (a calibrated model against itself uncalibrated: -0.0000 would hide
    the sign and size that a p of 0 is about)."""
    return f"{x:+.4f}" if x == 0 or not np.isfinite(x) or abs(x) >= 5e-5 else f"{x:+.2e}"


def compare_predictions(
    names: tuple[str, str],
    y: np.ndarray,
    oof_a: np.ndarray,
    oof_b: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    metric: Metric,
    *,
    bootstrap: bool = True,
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: int = 0,
    n_test_over_train: float | None = None,
) -> Comparison:
    """Compare two models' out-of-fold predictions on the same folds. The correction uses
    the folds' mean test/train size ratio unless `n_test_over_train` is given (0 for
    models that were not retrained per fold, i.e. fixed models scored on disjoint folds)."""
    diffs = fold_scores(metric, y, oof_a, folds) - fold_scores(metric, y, oof_b, folds)
    if n_test_over_train is None:
        n_test = float(np.mean([len(v) for _, v in folds]))
        n_train = float(np.mean([len(t) for t, _ in folds]))
    else:
        n_test, n_train = n_test_over_train, 1.0
    ttest = corrected_ttest(diffs, n_train, n_test)
    boot = (
        paired_bootstrap(
            y, oof_a, oof_b, metric, n_boot=n_boot, alpha=alpha, random_state=random_state
        )
        if bootstrap
        else None
    )
    return Comparison(
        names[0], names[1], metric.name, metric.greater_is_better, len(folds), ttest, boot, alpha
    )
