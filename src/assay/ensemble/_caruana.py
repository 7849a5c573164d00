"""Caruana et al. (2004) ensemble selection: greedily add, with replacement, the model whose
inclusion most improves the metric of the averaged out-of-fold predictions."""

from __future__ import annotations

import time

import numpy as np

from assay.evaluate._cv import safe_score
from assay.evaluate._metrics import Metric


class CaruanaEnsemble:
    """`weights_[i]` is the share of steps that picked model i (weights sum to 1)."""

    def __init__(self, metric: Metric, n_iterations: int = 25):
        self.metric = metric
        self.n_iterations = n_iterations

    def fit(
        self,
        predictions: list[np.ndarray],
        y: np.ndarray,
        deadline: float | None = None,
        w: np.ndarray | None = None,
    ) -> CaruanaEnsemble:
        """`deadline` (a time.monotonic() value) ends selection early; at least one step
        runs. `w`: row weights of the metric (None: every row alike)."""
        if not predictions:
            raise ValueError("CaruanaEnsemble needs at least one model's predictions.")
        n_models = len(predictions)
        counts = np.zeros(n_models, dtype=int)
        total = np.zeros_like(predictions[0], dtype=float)
        self.trajectory_: list[float] = []
        for step in range(1, self.n_iterations + 1):
            if step > 1 and deadline is not None and time.monotonic() > deadline:
                break
            losses = [self._loss(y, (total + pred) / step, w) for pred in predictions]
            best = int(np.argmin(losses))  # ties go to the earlier (better-ranked) model
            counts[best] += 1
            total += predictions[best]
            self.trajectory_.append(self.metric.loss(losses[best]))  # loss() is its own inverse
        self.weights_ = counts / counts.sum()
        self.score_ = safe_score(self.metric, y, self.predict(predictions), w)
        return self

    def _loss(self, y: np.ndarray, pred: np.ndarray, w: np.ndarray | None) -> float:
        value = self.metric.loss(safe_score(self.metric, y, pred, w))
        return np.inf if np.isnan(value) else value

    def predict(self, predictions: list[np.ndarray]) -> np.ndarray:
        return sum(w * p for w, p in zip(self.weights_, predictions, strict=True) if w > 0)
