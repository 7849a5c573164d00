"""Shared base for families backed by one scikit-learn estimator, saved with skops.

skops instead of pickle: loading a pickle runs whatever code the file names, while skops
only builds the types it is told to trust. We trust scikit-learn, numpy and scipy types and
refuse a file that asks for anything else.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from assay._types import Task
from assay.errors import ArtifactError
from assay.models._base import Model

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.")


def save_skops(estimator: Any, path: Path) -> None:
    import skops.io as sio

    sio.dump(estimator, path)


def load_skops(path: Path, expected: tuple[type, ...]) -> Any:
    """Load a skops file, refusing any type outside scikit-learn, numpy and scipy."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a corrupt zip or schema: report it as a bad artifact
        raise ArtifactError(f"{path} is not a readable skops file: {exc}") from exc
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        raise ArtifactError(
            f"{path} asks to load untrusted types {refused}: it was not written by assay or was"
            " tampered with; refit the model instead of loading it"
        )
    estimator = sio.load(path, trusted=untrusted)
    if not isinstance(estimator, expected):
        names = [cls.__name__ for cls in expected]
        raise ArtifactError(f"{path} holds a {type(estimator).__name__}, expected one of {names}")
    return estimator


class SklearnModel(Model):
    """A Model whose `model_` is a scikit-learn estimator fitted on encoded labels."""

    artifact_file = "model.skops"

    @abstractmethod
    def _estimator(self) -> Any:
        """A fresh, unfitted scikit-learn estimator for this task and these params."""

    @classmethod
    @abstractmethod
    def _estimator_types(cls) -> tuple[type, ...]:
        """The estimator classes a saved file may hold (checked after loading)."""

    def _fit(self, X: Any, y: np.ndarray, X_val: Any, y_val: Any, deadline: float | None) -> None:
        self.model_ = self._estimator().fit(X, y)

    def _predict_raw(self, X: Any) -> np.ndarray:
        if Task(self.task).is_classification:
            return self.model_.predict_proba(X)
        return self.model_.predict(X)

    def _save_native(self, path: Path) -> None:
        save_skops(self.model_, path)

    def _load_native(self, path: Path) -> Any:
        return load_skops(path, self._estimator_types())
