"""Columns derived from the whole training table before the search: text features,
sentence embeddings, text-pair features, differences between date columns, image and sound
features of media file columns, and generated
features (`FeatureSpec`s: ratios, group statistics, target means... found by discovery or
given by the user).

These need more than one column at a time, or a vocabulary, or a pretrained encoder, so
they are computed once per fit (fold-safe where labels are involved, see `_text`) and
added to the table as numeric columns; every model family then sees them through its
usual per-fold encoder. The predictor applies the same fitted transform before its
members, so a saved predictor takes the raw columns it was trained on.

They count against the fit's time limit: the fit gives a deadline, the cheap features
(TF-IDF, lexical pair features, date gaps) come first and always, and sentence embeddings
only where the encoder's measured speed says they end in time. What is left out is
recorded with the reason (`report_`), and prediction does not compute it."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from assay._types import FeatureType, Task
from assay.config import settings
from assay.errors import ArtifactError, BudgetError, ConfigError
from assay.features._embed import embed_texts, embeddings_available, pace_measured
from assay.features._encoder import as_timestamps
from assay.features._operators import FeatureSpec, GeneratedFeatures
from assay.features._pair_score import PairLinearScore
from assay.features._text import TextColumnFeatures, as_texts
from assay.log import get_logger

logger = get_logger(__name__)

FORMAT = 1
_SIAMESE_SCALARS = ("_cos", "_dot", "_euclidean", "_manhattan")
_MEDIA_CHECK = 16  # files read between two checks of a media column's time
EmbedProgress = Callable[[str, int, int], None]  # (what, done, total)


def _epoch_days(stamps: pd.Series) -> np.ndarray:
    days = (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400
    return days.to_numpy(dtype=float, na_value=np.nan)


def _days_between(X: pd.DataFrame, a: str, b: str) -> np.ndarray:
    # in days since 1970 first: two timestamps 300 years apart, or of different
    # resolutions, overflow int64 nanoseconds when subtracted directly
    return _epoch_days(as_timestamps(X[a])) - _epoch_days(as_timestamps(X[b]))


class DerivedFeatures:
    """Fitted once on the training table; `transform` gives the same columns for new rows.

    `embed`: True, False, or None for "when the `text` extra is installed".
    `generated`: feature specs (or their list form, ["ratio", "a", "b"]) computed from the
    raw columns; target means among them are out of fold on the folds of `fit_transform`."""

    def __init__(
        self,
        types: dict[str, FeatureType],
        task: Task,
        *,
        pairs: list[tuple[str, str]] | None = None,
        embed: bool | None = None,
        random_state: int = 0,
        generated: list | None = None,
    ):
        self.types = dict(types)
        self.task = Task(task)
        self.pairs = [tuple(p) for p in pairs or []]
        self.embed = embeddings_available() if embed is None else bool(embed)
        self.random_state = random_state
        self.ordered_pairs = True  # False: a predictor saved before pairs kept their order
        self.generated = [FeatureSpec.of(s) for s in generated or []]
        unknown = sorted({c for s in self.generated for c in s.columns} - set(self.types))
        if unknown:
            raise ConfigError(
                f"generated features read columns the data does not have (or does not use): "
                f"{unknown}; name columns of the training table."
            )

    @property
    def text_columns(self) -> list[str]:
        """Text columns featurized on their own (a pair's sides are featurized as a pair)."""
        in_pairs = {c for pair in self.pairs for c in pair}
        return [c for c, t in self.types.items() if t is FeatureType.TEXT and c not in in_pairs]

    @property
    def _score_orders(self) -> tuple[bool, ...]:
        """The pair scores fitted per pair: the symmetric one, then the ordered one (not in
        predictors saved before it)."""
        return (False, True) if self.ordered_pairs else (False,)

    @property
    def date_pairs(self) -> list[tuple[str, str]]:
        dates = [c for c, t in self.types.items() if t is FeatureType.DATETIME]
        return list(combinations(dates, 2))

    @property
    def media_columns(self) -> dict[str, FeatureType]:
        """Columns of image or sound file paths, by kind."""
        return {c: t for c, t in self.types.items() if t.is_media}

    @property
    def is_empty(self) -> bool:
        return not (
            self.text_columns
            or self.pairs
            or self.date_pairs
            or self.generated
            or self.media_columns
        )

    # fitting and transforming --------------------------------------------------------
    def fit_transform(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        folds,
        progress: EmbedProgress | None = None,
        deadline: float = math.inf,
    ) -> pd.DataFrame:
        """Derived columns of the training rows (linear scores out-of-fold on `folds`).

        `deadline` (a time.monotonic() value): when derived features should be done. The
        cheap ones are computed first and always; an embedding that would not end by
        then is left out (`report_` and `warnings_` say which and why)."""
        from threadpoolctl import threadpool_limits

        started = time.monotonic()
        self.text_, self.pair_scores_ = {}, []
        self.embedded_: list[str] = []  # text columns (and pair sides) embedded
        self.report_: dict = {"skipped": {}}
        self.warnings_: list[str] = []
        text_blocks, pair_blocks, embedding_blocks = [], [], []
        for column in self.text_columns:
            features = TextColumnFeatures(column, self.task, self.random_state)
            if progress is not None:
                progress(f"TF-IDF of {column}", 0, len(X))
            # one thread: on a busy machine the solvers' thread pools spin 10x slower
            with threadpool_limits(1):
                text_blocks.append(features.fit_transform(X, y, folds))
            self.text_[column] = features
        for a, b in self.pairs:
            u, v = self._embed_in_time(X, [a, b], progress, deadline) or (None, None)
            scores = [
                PairLinearScore(f"{a}~{b}", self.task, self.random_state, ordered)
                for ordered in self._score_orders
            ]
            with threadpool_limits(1):
                pair_blocks += [s.fit_transform(X[a], X[b], y, folds, u, v) for s in scores]
            pair_blocks.append(self._pair_block(X, a, b, u, v, self.ordered_pairs))
            self.pair_scores_.append(scores)
        for column in self.text_columns:
            embedded = self._embed_in_time(X, [column], progress, deadline)
            if embedded is not None:
                embedding_blocks.append(self._embedding_block(X, column, embedded[0]))
        blocks = text_blocks + pair_blocks + embedding_blocks + self._date_gaps(X)
        blocks += self._media_blocks(X, progress, deadline)
        self.generated_columns_: list[str] = []
        if self.generated:
            self.generated_ = GeneratedFeatures(self.generated, self.task)
            blocks.append(self.generated_.fit_transform(X, y, folds))
            self.generated_columns_ = list(blocks[-1].columns)
        out = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=X.index)
        self.columns_ = list(out.columns)
        self.report_.update(
            time_s=round(time.monotonic() - started, 2),
            budget_s=round(deadline - started, 2) if math.isfinite(deadline) else None,
            embedded=list(self.embedded_),
        )
        return out

    def _embed_in_time(
        self, X: pd.DataFrame, columns: list[str], progress, deadline: float
    ) -> list[np.ndarray] | None:
        """The embeddings of `columns` when all of them end by `deadline`; else None, with
        the reason recorded. None too when embeddings are off."""
        if not self.embed:
            return None
        try:
            vectors = [self._embed(X, column, progress, deadline) for column in columns]
        except BudgetError as exc:
            what = "embeddings of " + " and ".join(f"'{c}'" for c in columns)
            self.report_["skipped"][what] = str(exc)
            self.warnings_.append(f"{what} skipped: {exc}")
            logger.warning("Derived features: %s skipped: %s", what, exc)
            return None
        self.embedded_ += [c for c in columns if c not in self.embedded_]
        return vectors

    def fold_columns(self, X: pd.DataFrame, y: np.ndarray, folds) -> list[pd.DataFrame] | None:
        """After `fit_transform` on the same rows and folds: for each fold, the columns
        built from the targets as that fold's model must see them, so no training row
        carries the validated fold's targets (see GeneratedFeatures.fold_columns). None
        when no derived column needs it."""
        if not self.generated:
            return None
        return self.generated_.fold_columns(X, y, folds)

    def transform(self, X: pd.DataFrame, progress: EmbedProgress | None = None) -> pd.DataFrame:
        blocks = [self.text_[c].transform(X) for c in self.text_columns]
        for (a, b), scores in zip(self.pairs, self.pair_scores_, strict=True):
            u, v = self._embed_pair(X, a, b, progress)
            blocks += [score.transform(X[a], X[b], u, v) for score in scores]
            blocks.append(self._pair_block(X, a, b, u, v, self.ordered_pairs))
        blocks += self._unfitted(X, progress)
        if self.generated:
            blocks.append(self.generated_.transform(X))
        out = pd.concat(blocks, axis=1) if blocks else pd.DataFrame(index=X.index)
        return out[self.columns_]

    def _embed(
        self,
        X: pd.DataFrame,
        column: str,
        progress: EmbedProgress | None,
        deadline: float = math.inf,
    ) -> np.ndarray:
        texts = as_texts(X[column])
        report = (lambda d, n: progress(f"embedding {column}", d, n)) if progress else None
        cache = settings().home / "cache" / "embeddings"
        return embed_texts(texts, cache_dir=cache, progress=report, deadline=deadline)

    def _embed_pair(self, X, a, b, progress):
        if not (a in self.embedded_ and b in self.embedded_):
            return None, None
        return self._embed(X, a, progress), self._embed(X, b, progress)

    @staticmethod
    def _pair_block(X: pd.DataFrame, a: str, b: str, u, v, ordered: bool) -> pd.DataFrame:
        """Lexical features (with `ordered`, those that keep which side is which too) and
        the scalar siamese ones (the element-wise |u-v| and u*v go into the pair's linear
        score instead of hundreds of columns for the trees)."""
        from assay.features._text_pair import (
            lexical_pair_features,
            ordered_pair_features,
            siamese_pair_features,
        )

        prefix = f"{a}~{b}"
        lexical = lexical_pair_features(X[a], X[b])
        if ordered:
            lexical = pd.concat([lexical, ordered_pair_features(X[a], X[b])], axis=1)
        lexical.columns = [f"{prefix}__{c}" for c in lexical.columns]
        if u is None:
            return lexical
        siamese = siamese_pair_features(u, v, prefix=f"{prefix}__emb", index=X.index)
        scalars = [c for c in siamese.columns if c.endswith(_SIAMESE_SCALARS)]
        return pd.concat([lexical, siamese[scalars]], axis=1)

    def _unfitted(self, X: pd.DataFrame, progress: EmbedProgress | None) -> list[pd.DataFrame]:
        """Blocks that learn nothing from the training rows: embeddings, date gaps."""
        blocks = [
            self._embedding_block(X, column, self._embed(X, column, progress))
            for column in self.text_columns
            if column in self.embedded_
        ]
        return blocks + self._date_gaps(X) + self._media_blocks(X, progress)

    def _media_blocks(
        self, X: pd.DataFrame, progress: EmbedProgress | None, deadline: float | None = None
    ) -> list[pd.DataFrame]:
        """Image and sound features of each media column, then a sound's speech embedding
        (a file that cannot be read raises a MediaError naming it: a fit has left such rows
        out before). Fitting (`deadline` given), a block whose files would not all be read
        by then is left out, the report and the warnings saying so (the cheap summary
        features first, so a slow embedding cannot cost them); an image column left out so
        gets the light image features instead, if those are ready in time. Transforming,
        the blocks the fit kept."""
        from assay.features._speech import speech_available

        fitting = deadline is not None
        if fitting:
            self.featured_media_: list[str] = []
            self.speech_media_: list[str] = []
            self.light_media_: list[str] = []
        kept = {
            "features": getattr(self, "featured_media_", list(self.media_columns)),
            "speech": getattr(self, "speech_media_", []),
            "light": getattr(self, "light_media_", []),  # none before the light set
        }
        blocks = []
        for column, kind in self.media_columns.items():
            views = ("features", "speech") if kind is FeatureType.AUDIO else ("features", "light")
            for view in views:
                if fitting and view == "speech" and not speech_available():
                    continue
                if fitting and view == "light" and column in self.featured_media_:
                    continue
                if not fitting and column not in kept[view]:
                    continue
                what = self._media_what(column, kind, view)
                try:
                    blocks.append(self._media_block(X, column, kind, view, progress, deadline))
                except BudgetError as exc:
                    self.report_["skipped"][what] = str(exc)
                    self.warnings_.append(f"{what} skipped: {exc}")
                    logger.warning("Derived features: %s skipped: %s", what, exc)
                    continue
                if fitting:
                    kept[view].append(column)
                    if view == "light":
                        logger.info("Derived features: %s computed instead", what)
                        self.warnings_.append(f"{what} computed instead")
        return blocks

    @staticmethod
    def _media_what(column: str, kind: FeatureType, view: str) -> str:
        if view == "speech":
            return f"speech embedding of {column}"
        if view == "light":
            return f"light image features of {column} (colour and a 16x16 grey thumbnail)"
        return f"{'image' if kind is FeatureType.IMAGE else 'sound'} features of {column}"

    @classmethod
    def _media_block(
        cls,
        X: pd.DataFrame,
        column: str,
        kind: FeatureType,
        view: str,
        progress: EmbedProgress | None,
        deadline: float | None,
    ) -> pd.DataFrame:
        """One media column's summary features (`view` "features") or speech embedding
        ("speech"); BudgetError as soon as the files read so far say the rest would not be
        read by `deadline` (checked every `_MEDIA_CHECK` files, once `pace_measured`)."""
        from assay.data._decode import decode_wave, decoded
        from assay.features import _image
        from assay.features._audio import sound_feature_names, sound_features
        from assay.features._speech import speech_feature_names, speech_features

        summary, naming = {
            "speech": (speech_features, speech_feature_names),
            "light": (_image.light_image_features, _image.light_image_feature_names),
            "features": (_image.image_features, _image.image_feature_names)
            if kind is FeatureType.IMAGE
            else (sound_features, sound_feature_names),
        }[view]
        read = decode_wave if view == "speech" else (lambda path: decoded(path, kind))

        def compute(path: str | None) -> np.ndarray:
            return summary(None if path is None else read(path))

        names = naming(column)
        what = cls._media_what(column, kind, view)
        limit = math.inf if deadline is None else deadline
        values, rows, started = X[column].tolist(), [], time.monotonic()
        for i, value in enumerate(values):
            if progress is not None and i % 200 == 0:
                progress(what, i, len(X))
            if i and i % _MEDIA_CHECK == 0 and pace_measured(started, limit):
                needed_s = (time.monotonic() - started) / i * (len(values) - i)
                left_s = limit - time.monotonic()
                if needed_s > left_s:
                    raise BudgetError(
                        f"the {len(values):,} files need about {needed_s:.0f}s more (measured "
                        f"on the first {i:,}), {max(left_s, 0.0):.0f}s of the time for "
                        "derived features left. A longer time limit makes room for them; "
                        "the networks still read the files."
                    )
            present = isinstance(value, str) and bool(value.strip())
            rows.append(compute(value if present else None))
        matrix = np.vstack(rows) if rows else np.empty((0, len(names)))
        return pd.DataFrame(matrix, columns=names, index=X.index)

    @staticmethod
    def _embedding_block(X: pd.DataFrame, column: str, vectors: np.ndarray) -> pd.DataFrame:
        names = [f"{column}__emb{i}" for i in range(vectors.shape[1])]
        return pd.DataFrame(vectors, columns=names, index=X.index)

    def _date_gaps(self, X: pd.DataFrame) -> list[pd.DataFrame]:
        return [
            pd.DataFrame({f"{a}__minus__{b}__days": _days_between(X, a, b)}, index=X.index)
            for a, b in self.date_pairs
        ]

    def feature_types(self) -> dict[str, FeatureType]:
        """Numeric, but for crosses of categories (categorical)."""
        types = dict.fromkeys(self.columns_, FeatureType.NUMERIC)
        for spec in self.generated:
            if spec.categorical:
                types[spec.name] = FeatureType.CATEGORICAL
        return types

    # persistence ---------------------------------------------------------------------
    def save(self, folder: Path) -> list[Path]:
        """Write the spec and each text column's fitted parts; returns the files written."""
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "format": FORMAT,
            "types": {c: t.value for c, t in self.types.items()},
            "task": self.task.value,
            "pairs": [list(p) for p in self.pairs],
            "ordered_pairs": self.ordered_pairs,
            "embed": self.embed,
            "random_state": self.random_state,
            "columns": self.columns_,
            "embedded": self.embedded_,
            "report": self.report_,
            "generated": [s.to_list() for s in self.generated],
            "generated_state": self.generated_.state_ if self.generated else {},
            "generated_columns": self.generated_columns_,
            "featured_media": getattr(self, "featured_media_", list(self.media_columns)),
            "speech_media": getattr(self, "speech_media_", []),
            "light_media": getattr(self, "light_media_", []),
        }
        files = [folder / "derived.json"]
        files[0].write_text(json.dumps(spec))
        for i, column in enumerate(self.text_columns):
            files.append(folder / f"text_{i}.skops")
            self.text_[column].save(files[-1])
        for i, scores in enumerate(self.pair_scores_):
            for score in scores:
                files.append(folder / f"pair_{i}{'_ordered' if score.ordered else ''}.skops")
                score.save(files[-1])
        return files

    @classmethod
    def load(cls, folder: Path, trust=False) -> DerivedFeatures:
        """`trust` (a bool or an `assay._trust.Trust`): see `load_skops`."""
        try:
            spec = json.loads((folder / "derived.json").read_text())
            out = cls(
                {c: FeatureType(t) for c, t in spec["types"].items()},
                Task(spec["task"]),
                pairs=[tuple(p) for p in spec["pairs"]],
                embed=spec["embed"],
                random_state=spec["random_state"],
                generated=spec.get("generated", []),
            )
            if out.generated:
                out.generated_ = GeneratedFeatures(out.generated, out.task)
                out.generated_.state_ = dict(spec["generated_state"])
            out.generated_columns_ = list(spec.get("generated_columns", []))
            out.ordered_pairs = bool(spec.get("ordered_pairs", False))
            out.columns_ = list(spec["columns"])
            # before the budget, every text column and pair side was embedded when embed was on
            every = out.text_columns + [c for pair in out.pairs for c in pair]
            out.embedded_ = list(spec.get("embedded", every if out.embed else []))
            out.report_ = dict(spec.get("report", {"skipped": {}}))
            out.featured_media_ = list(spec.get("featured_media", out.media_columns))
            out.speech_media_ = list(spec.get("speech_media", []))  # none before speech
            out.light_media_ = list(spec.get("light_media", []))  # none before the light set
            out.warnings_ = []
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(
                f"{folder}/derived.json is missing or malformed ({exc}); re-fit the predictor."
            ) from exc
        out.text_ = {
            column: TextColumnFeatures.load(folder / f"text_{i}.skops", column, out.task, trust)
            for i, column in enumerate(out.text_columns)
        }
        out.pair_scores_ = [
            [
                PairLinearScore.load(
                    folder / f"pair_{i}{'_ordered' if ordered else ''}.skops",
                    f"{a}~{b}",
                    out.task,
                    trust,
                    ordered,
                )
                for ordered in out._score_orders
            ]
            for i, (a, b) in enumerate(out.pairs)
        ]
        return out
