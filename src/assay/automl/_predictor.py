"""The deployable artifact: schema, fitted fold pipelines of the ensemble members and their
weights. Everything needed to predict, nothing needed only for training."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from assay._types import FeatureType, Task
from assay.automl._artifact import read_predictor, save_predictor
from assay.automl._member import Member, stack_features
from assay.errors import ConfigError
from assay.log import get_logger

logger = get_logger(__name__)


class Predictor:
    """Predicts from raw rows (a DataFrame or a data file) with the fitted ensemble."""

    def __init__(
        self,
        *,
        task: Task,
        target: str,
        metric: str,
        schema,
        classes: list | None,
        members: list[Member],
        leaderboard: pd.DataFrame,
        info: dict[str, Any] | None = None,
        derived=None,
        train_rows: np.ndarray | None = None,
        temperatures: list[float] | None = None,
        blend_temperature: float = 1.0,
    ):
        self.task = Task(task)
        self.target = target
        self.metric = metric
        self.schema = schema
        self.classes = None if classes is None else list(classes)
        self.members = members
        self._leaderboard = leaderboard
        self.info = dict(info or {})
        self.derived = derived  # DerivedFeatures applied before the members, or None
        # sorted fingerprints of the training rows' features (None: not kept), to flag
        # rows to predict that were training rows
        self.train_rows = train_rows
        # classification: each part's probabilities (its members' weighted mean) are
        # tempered by its temperature (`assay.ensemble.tempered`; 1: as they are), and a
        # blend of parts by `blend_temperature`
        self.temperatures = [float(t) for t in (temperatures or [1.0])]
        self.blend_temperature = float(blend_temperature)

    @property
    def classes_(self) -> np.ndarray:
        if self.classes is None:
            raise AttributeError("A regression predictor has no classes_.")
        return np.asarray(self.classes)

    def _read(self, data) -> pd.DataFrame:
        """The rows to predict as a frame: a DataFrame, a file, or for a predictor of an
        image or sound column also a folder of such files or a list of their paths."""
        from assay.data import read_table
        from assay.data._media import PATH_COLUMN, files_as_table

        media = [c.name for c in self.schema.columns if c.type.is_media]
        if isinstance(data, list | tuple) and len(media) == 1:
            return files_as_table(list(data), media[0])
        frame = data if isinstance(data, pd.DataFrame) else read_table(data)
        if len(media) == 1 and media[0] not in frame.columns and PATH_COLUMN in frame.columns:
            frame = frame.rename(columns={PATH_COLUMN: media[0]})  # a folder of files
        return frame

    def _raw(self, data) -> np.ndarray:
        from assay.data import check_predict_frame

        X = check_predict_frame(self._read(data), self.schema)
        n_classes = len(self.classes) if self.classes is not None else 0
        if not len(X):  # no rows: no predictions, in the usual shape
            logger.info("No rows to predict; returning empty predictions.")
            return np.empty((0, n_classes)) if n_classes else np.empty(0)
        from assay.features._encoder import shared_conversions

        self._note_training_rows(X)
        if self.derived is not None:  # once per call, shared by every member and fold
            X = pd.concat([X, self.derived.transform(X)], axis=1)
        raws: dict[int, np.ndarray] = {}

        def raw(i: int) -> np.ndarray:
            if i not in raws:
                member = self.members[i]
                X_i = stack_features(X, [raw(j) for j in member.inputs]) if member.inputs else X
                raws[i] = member.predict_raw(X_i, self.task, n_classes)
            return raws[i]

        # each raw column converted once, each distinct encoder output computed and turned
        # into a model's input once: not once per fold model
        with shared_conversions():
            self._note_unknown_categories(X)
            if self.task.is_classification and self.calibrated:
                return self._tempered(raw)
            weighted = (m.weight * raw(i) for i, m in enumerate(self.members) if m.weight > 0)
            return cast(np.ndarray, sum(weighted))  # a fitted predictor has a weighted member

    @property
    def calibrated(self) -> bool:
        """Whether any temperature is not 1 (classification probabilities are tempered)."""
        return self.blend_temperature != 1.0 or any(t != 1.0 for t in self.temperatures)

    @property
    def one_temperature(self) -> float | None:
        """The single temperature that tempers as this predictor does, when its weighted
        members form one part (tempering twice is tempering by the product) or several
        parts of which only the blend is tempered; None when calibrated parts are blended."""
        parts = {m.part for m in self.members if m.weight > 0}
        if len(parts) > 1:
            untempered = all(self.temperatures[p] == 1.0 for p in parts)
            return self.blend_temperature if untempered else None
        part = self.temperatures[parts.pop()] if parts else 1.0
        return part * self.blend_temperature

    def _tempered(self, raw) -> np.ndarray:
        """Each part's weighted mean of its members, tempered by the part's temperature,
        weighed by the part's share of the weights; their sum tempered by the blend's."""
        from assay.ensemble import tempered

        total: Any = 0.0
        for part, temperature in enumerate(self.temperatures):
            chosen = [i for i, m in enumerate(self.members) if m.part == part and m.weight > 0]
            share = sum(self.members[i].weight for i in chosen)
            if share > 0:
                mean = sum(self.members[i].weight * raw(i) for i in chosen) / share
                total = total + share * tempered(mean, temperature)
        return cast(np.ndarray, tempered(total, self.blend_temperature))

    def training_overlap(self, data) -> int:
        """How many rows of `data` have the same features as a row this predictor was
        trained on (0 when the predictor keeps no fingerprints)."""
        from assay.data import check_predict_frame
        from assay.data._leakage import seen_rows

        if self.train_rows is None:
            return 0
        return seen_rows(self.train_rows, check_predict_frame(self._read(data), self.schema))

    def _note_training_rows(self, X: pd.DataFrame) -> None:
        from assay.data._leakage import seen_rows

        n_seen = 0 if self.train_rows is None else seen_rows(self.train_rows, X)
        if n_seen:
            logger.warning(
                "%d of the %d rows to predict have the same features as training rows; "
                "a score computed on them is optimistic. Evaluate on rows kept out of "
                "training.",
                n_seen,
                len(X),
            )

    def _known_categories(self) -> dict[str, set[str]]:
        """Per categorical column, the categories any member learned (built once)."""
        encoders = [member.encoders[0] for member in self.members if member.encoders]
        cached = getattr(self, "_known", None)
        if cached is not None and [id(e) for e in cached[0]] == [id(e) for e in encoders]:
            return cached[1]
        known: dict[str, set[str]] = {}
        for column in self.schema.columns:
            if column.type is FeatureType.CATEGORICAL:
                known[column.name] = set()
                for encoder in encoders:
                    learned = encoder.state_.get(column.name, {}).get("categories", [])
                    known[column.name].update(learned)
        self._known = (encoders, known)
        return known

    def _note_unknown_categories(self, X: pd.DataFrame) -> None:
        """Log the values of categorical columns that no member learned as a category
        (they are encoded like a missing value)."""
        from assay.features._encoder import as_strings, converted_column

        for name, known in self._known_categories().items():
            if name not in X:
                continue
            values = converted_column(X, name, as_strings).to_numpy()
            unknown = [v for v in values if v is not None and v not in known]
            if unknown:
                examples = ", ".join(repr(v) for v in list(dict.fromkeys(unknown))[:3])
                logger.info(
                    "Column '%s': %d values of the data to predict (%s) are not categories "
                    "the models learned; they are encoded like a missing value.",
                    name,
                    len(unknown),
                    examples,
                )

    def predict_proba(self, data) -> pd.DataFrame:
        """Class probabilities of each row: the ensemble's weighted mean over its members.

        Args:
            data: a DataFrame or the path of a data file, with the feature columns seen at
                fit time (others are ignored; the target may be there or not).

        Returns a DataFrame with one column per class in the order of `classes_` and `data`'s
        index. Raises TypeError for a regression predictor, SchemaMismatchError when a
        feature column is missing, DataError when a file cannot be read."""
        if not self.task.is_classification:
            raise TypeError("predict_proba is for classification; this predictor does regression.")
        proba = self._raw(data)
        index = data.index if isinstance(data, pd.DataFrame) else None
        return pd.DataFrame(proba, columns=self.classes, index=index)

    def predict(self, data) -> np.ndarray:
        """The predicted class (the most probable) or value of each row, in `data`'s order.

        Args:
            data: a DataFrame or the path of a data file, with the feature columns seen at
                fit time (others are ignored; the target may be there or not).

        Returns a 1-D array: labels of `classes_` for classification, floats for
        regression. Raises SchemaMismatchError when a feature column is missing, DataError
        when a file cannot be read."""
        raw = self._raw(data)
        if self.task.is_classification:
            return self.classes_[np.argmax(raw, axis=1)]
        return raw

    def predictions_frame(self, data) -> pd.DataFrame:
        """The predictions-file layout: id columns (and the files of image or sound
        columns, which say what each row is), `prediction`, then `proba_<class>`."""
        frame = self._read(data)
        out = pd.DataFrame(index=frame.index)
        for column in self.schema.columns:
            named = column.type is FeatureType.ID or column.type.is_media
            if named and column.name in frame.columns:
                out[column.name] = frame[column.name]
        raw = self._raw(frame)
        if self.task.is_classification:
            out["prediction"] = self.classes_[np.argmax(raw, axis=1)]
            for i, label in enumerate(self.classes or []):
                out[f"proba_{label}"] = raw[:, i]
        else:
            out["prediction"] = raw
        return out

    def leaderboard(self) -> pd.DataFrame:
        return self._leaderboard.copy()

    def evaluate(self, data, metrics: list[str] | None = None) -> dict[str, float]:
        """Scores on labelled rows: every metric of the task, or those named in `metrics`.

        Args:
            data: a DataFrame or the path of a data file with the feature columns and the
                target (rows without a target are left out).
            metrics: metric names (see `assay.evaluate.METRICS`, or scikit-learn scorer
                names) or metrics (`assay.make_metric`); default all of the task's
                built-ins, and the fit's own metric when it was a custom one made in this
                process.

        Returns {metric name: score}. Raises DataError when the target column is absent,
        ConfigError for a metric that does not exist or does not fit the task."""
        from assay.evaluate import METRICS, get_metric
        from assay.evaluate._explain import read_rows

        chosen = [get_metric(name, self.task) for name in metrics or []] or [
            m for m in METRICS.values() if self.task in m.tasks
        ]
        if not metrics and self.metric not in METRICS:  # the fit's own custom metric
            with contextlib.suppress(ConfigError):  # unknown in this process: left out
                chosen.insert(0, get_metric(self.metric, self.task))
        X, y = read_rows(self, data, need_target=True, purpose="evaluating")
        raw = self._raw(X)
        return {m.name: m.for_classes(self.classes)(y, raw) for m in chosen}

    def feature_importance(
        self,
        data,
        *,
        metric: str | None = None,
        n_repeats: int = 5,
        max_rows: int = 5000,
        alpha: float = 0.05,
        random_state: int = 0,
    ) -> pd.DataFrame:
        """Permutation importance on labelled rows, with bootstrap confidence intervals:
        how much `metric` (default the predictor's) worsens when one column is shuffled.
        Columns `feature`, `importance`, `ci_low`, `ci_high`, `p_value`, most important
        first. See `assay.evaluate.permutation_importance`."""
        from assay.evaluate import permutation_importance

        return permutation_importance(
            self,
            data,
            metric=metric,
            n_repeats=n_repeats,
            max_rows=max_rows,
            alpha=alpha,
            random_state=random_state,
        )

    def save(self, path: str | Path, overwrite: bool = True) -> Path:
        """Write the predictor to the folder `path` (a manifest with every file's SHA-256)."""
        return save_predictor(self, Path(path), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | Path, trust: bool = False) -> Predictor:
        """Load a saved predictor; see `assay.load` for what `trust` allows."""
        return cls(**read_predictor(Path(path), trust=trust))

    def __repr__(self) -> str:
        names = ", ".join(
            f"{m.model}{'@L2' if m.level == 2 else ''}:{m.weight:.2f}" for m in self.members
        )
        return f"Predictor(task={self.task.value}, target={self.target!r}, members=[{names}])"
