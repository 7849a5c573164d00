"""Shared base for families backed by one scikit-learn estimator, saved as their fitted
arrays (_estimator_file.py; forests as their trees' arrays: _forest_file.py).

Models saved before that are skops files, still read here. skops rather than pickle:
loading a pickle runs whatever code the file names, while skops only builds the types it is
told to trust. We trust scikit-learn, numpy and scipy types and refuse a file that asks for
anything else, unless the caller passes trust=True. (Text features still save their
vectorizers with skops: features/_text.py.)
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from assay._trust import Trust
from assay._types import Task
from assay.errors import ArtifactError
from assay.models._base import Model
from assay.models._estimator_file import load_estimator, save_estimator

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.")


def save_skops(estimator: Any, path: Path) -> None:
    import skops.io as sio

    sio.dump(estimator, path)


def load_skops(path: Path, expected: tuple[type, ...], trust: bool | Trust = False) -> Any:
    """Load a skops file. Types outside scikit-learn, numpy and scipy are refused, or
    with trust built as the file asks."""
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a corrupt zip or schema: report it as a bad artifact
        raise ArtifactError(f"{path} is not a readable skops file: {exc}") from exc
    refused = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if refused:
        with Trust.scope(trust, path.parent) as scoped:
            scoped.require(
                path,
                f"asks to load untrusted types {refused} (assay writes only scikit-learn, "
                "numpy and scipy types: it was written elsewhere or tampered with)",
            )
    try:
        estimator = sio.load(path, trusted=untrusted)
    except Exception as exc:  # skops raises many kinds on a malformed file
        raise ArtifactError(f"{path} is not a readable skops file: {exc}") from exc
    if not isinstance(estimator, expected):
        names = [cls.__name__ for cls in expected]
        raise ArtifactError(f"{path} holds a {type(estimator).__name__}, expected one of {names}")
    return estimator


class SklearnModel(Model):
    """A Model whose `model_` is a scikit-learn estimator fitted on encoded labels (and the
    row weights, as its `fit(..., sample_weight=)`)."""

    artifact_file = "model.arrays"  # the fitted arrays (_estimator_file.py)
    legacy_artifact_files: ClassVar[tuple[str, ...]] = ("model.skops",)  # saved before
    blas_thread_limit = 1  # solvers on small matrices: a second BLAS thread only waits

    @abstractmethod
    def _estimator(self) -> Any:
        """A fresh, unfitted scikit-learn estimator for this task and these params."""

    @classmethod
    @abstractmethod
    def _estimator_types(cls) -> tuple[type, ...]:
        """The estimator classes a saved file may hold (checked after loading)."""

    def _fit(
        self,
        X: Any,
        y: np.ndarray,
        X_val: Any,
        y_val: Any,
        deadline: float | None,
        w: np.ndarray | None,
        w_val: np.ndarray | None,
    ) -> None:
        self.model_ = self._estimator().fit(X, y, sample_weight=w)

    def _predict_raw(self, X: Any) -> np.ndarray:
        if Task(self.task).is_classification:
            return self.model_.predict_proba(X)
        return self.model_.predict(X)

    def _save_native(self, path: Path) -> None:
        save_estimator(self.model_, path)

    def _load_native(self, path: Path) -> Any:
        if path.suffix == ".skops":
            return load_skops(path, self._estimator_types(), self._trust)
        return self._load_arrays(path)

    def _load_arrays(self, path: Path) -> Any:
        """The estimator `_save_native` wrote to `path` (not a skops file)."""
        return load_estimator(path, self._estimator_types())[0]
